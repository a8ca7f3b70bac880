/**
 * Usage records (`state/usage/<project>/<yyyy-mm>/<to>.json`): one interval [from, to) of a
 * project during which its metered resources did not change. What counts: an instance while
 * its host observes it ACTIVE (by flavor, vCPUs, memory), a volume while its host holds it,
 * an image of the project while a host holds its bytes. `meteredOf` derives the resources of
 * every project from the desired and observed state; the sampler turns changes of that into records.
 */
import type { DesiredState } from '../../agents/contract/desired.js';
import type { HostObservedState } from '../../agents/contract/observed.js';

export const USAGE_FORMAT_VERSION = 1;

export interface MeteredInstance { id: string; flavor: string; vcpus: number; memoryMiB: number }
export interface MeteredVolume { id: string; sizeGiB: number }
export interface MeteredImage { id: string; bytes: number }

/** What one project was using during an interval; lists sorted by id. */
export interface MeteredResources {
  instances: MeteredInstance[];
  volumes: MeteredVolume[];
  images: MeteredImage[];
}

export interface UsageRecord {
  formatVersion: number;
  kind: 'UsageRecord';
  project: string;
  /** ISO times, [from, to). */
  from: string;
  to: string;
  resources: MeteredResources;
}

/** Flavor name used for instances sized without a flavor. */
export const NO_FLAVOR = 'custom';

function empty(): MeteredResources {
  return { instances: [], volumes: [], images: [] };
}

export function isEmpty(r: MeteredResources): boolean {
  return r.instances.length === 0 && r.volumes.length === 0 && r.images.length === 0;
}

/** Per project, the resources that count now. Shared resources (no project) are not metered. */
export function meteredOf(desired: DesiredState | undefined, observed: HostObservedState[]): Map<string, MeteredResources> {
  const out = new Map<string, MeteredResources>();
  const of = (p: string) => { let r = out.get(p); if (!r) { r = empty(); out.set(p, r); } return r; };
  for (const ob of observed) {
    for (const [id, oi] of Object.entries(ob.instances)) {
      if (oi.state !== 'ACTIVE') continue;
      const di = desired?.instances[id];
      const project = di?.project ?? (id.includes('/') ? id.slice(0, id.indexOf('/')) : undefined);
      if (!project) continue;
      const flavor = di?.flavor ? di.flavor.slice(di.flavor.lastIndexOf('/') + 1) : NO_FLAVOR;
      of(project).instances.push({ id, flavor, vcpus: di?.vcpus ?? oi.vcpus ?? 0, memoryMiB: di?.memoryMiB ?? oi.memoryMiB ?? 0 });
    }
    for (const [id, ov] of Object.entries(ob.volumes)) {
      if (ov.state === 'DELETED' || ov.state === 'ERROR') continue;
      const dv = desired?.volumes[id];
      const project = dv?.project ?? (id.includes('/') ? id.slice(0, id.indexOf('/')) : undefined);
      if (!project) continue;
      const sizeGiB = dv?.sizeGiB ?? (ov.capacityBytes ? ov.capacityBytes / 2 ** 30 : 0);
      of(project).volumes.push({ id, sizeGiB });
    }
    for (const [id, om] of Object.entries(ob.images)) {
      if (om.state !== 'ACTIVE') continue;
      const project = desired?.images[id]?.project;
      if (!project) continue;
      of(project).images.push({ id: `${id}@${ob.host}`, bytes: om.sizeBytes ?? 0 });
    }
  }
  for (const r of out.values()) {
    r.instances.sort((a, b) => (a.id < b.id ? -1 : 1));
    r.volumes.sort((a, b) => (a.id < b.id ? -1 : 1));
    r.images.sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  return out;
}
