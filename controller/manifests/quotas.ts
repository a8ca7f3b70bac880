/**
 * Project quotas: the sum over a project's manifests of instances, vcpus, memory, volume GiB
 * (Volume manifests; boot disks are not counted) and networks, against the Project's quotas
 * (Nova's defaults when unset). An excess is reported at the quota's field of the Project.
 */
import type { ProjectUsage } from '../../agents/contract/desired.js';
import type { Reporter } from './reporter.js';
import type { Catalog, Quotas } from './types.js';

const UNITS: Record<keyof Quotas, string> = {
  instances: 'instances', vcpus: 'vcpus', memoryMiB: 'MiB of memory', volumeGiB: 'GiB of volumes', networks: 'networks',
};

/** Usage and quotas per project name. */
export function projectUsage(catalog: Catalog): Map<string, ProjectUsage> {
  const out = new Map<string, ProjectUsage>();
  for (const p of catalog.projects) {
    out.set(p.name, { quotas: { ...p.spec.quotas }, usage: { instances: 0, vcpus: 0, memoryMiB: 0, volumeGiB: 0, networks: 0 } });
  }
  for (const i of catalog.instances) {
    const u = out.get(i.manifest.project!)?.usage;
    if (!u) continue;
    u.instances++;
    u.vcpus += i.vcpus;
    u.memoryMiB += i.memoryMiB;
  }
  for (const { manifest: v } of catalog.volumes) {
    const u = out.get(v.project!)?.usage;
    if (u) u.volumeGiB += v.spec.sizeGiB;
  }
  for (const n of catalog.networks) {
    const u = n.project === undefined ? undefined : out.get(n.project)?.usage;
    if (u) u.networks++;
  }
  return out;
}

/** Reports every quota a project exceeds. */
export function checkQuotas(catalog: Catalog, r: Reporter): Map<string, ProjectUsage> {
  const usage = projectUsage(catalog);
  for (const p of catalog.projects) {
    const { quotas, usage: used } = usage.get(p.name)!;
    for (const key of Object.keys(UNITS) as Array<keyof Quotas>) {
      if (used[key] <= quotas[key]) continue;
      const field = `spec.quotas.${key}`;
      const isDefault = !p.src.pos.has(field);
      r.at(p.src, field, `project "${p.name}" needs ${used[key]} ${UNITS[key]}, over its ${isDefault ? 'default ' : ''}quota of ${quotas[key]}`);
    }
  }
  return usage;
}
