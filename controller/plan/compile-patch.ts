/**
 * A compile of the next commit made by patching the last one, for the usual push to a large
 * repository: a few instances changed in ways that cannot move anything (labels, power state,
 * user data, SSH keys, fixed IPs). Such a compile rebuilds those instances, their boot volumes
 * and their hosts' states, and shares everything else with the last result, instead of walking
 * 25,000 resources, sorting their records and rescheduling 10,000 instances.
 *
 * It applies only when its result is, by construction, what a full compile gives (the tests
 * compare the bytes): the previous state is the last result itself, so the scheduler would keep
 * every instance where it is (placement is sticky, nothing was unschedulable, the hosts, their
 * up/down state and the options are the same) and every MAC would stay; the catalog differs
 * from the last one only in instances whose placement inputs (image, flavor, sizes, networks,
 * volumes, placement rules, explicit MACs) are the same. Anything else: undefined, and the
 * caller compiles in full.
 */
import type { DesiredInstance, DesiredResources, DesiredVolume, HostDesiredState } from '../../agents/contract/desired.js';
import { projectUsage } from '../manifests/quotas.js';
import { manifestId, type Catalog, type ResolvedInstance } from '../manifests/types.js';
import { placementOptions, sameInputs, type BuiltEntries } from './compile-cache.js';
import type { CompileInput } from './compile.js';
import {
  bootContent, bootInputs, hostInputs, instanceContent, instanceInputs, sealHost, setPatchOrigin, setTexts, sortedRecord, stamp, textsOf,
  type CompileResult,
} from './desired-builders.js';
import { hostsFingerprint } from './scheduler.js';

/** More changed instances than this: a full compile (which reuses the unchanged ones anyway). */
const MAX_CHANGED = 64;

/** The patched result, or undefined when only a full compile gives the right one. */
export function patchCompile(input: CompileInput): CompileResult | undefined {
  const cache = input.cache;
  const last = cache?.last;
  if (!cache || !last || input.previous === undefined || input.previous !== last.result.desired) return undefined;
  const before = last.result.desired;
  if (Object.keys(before.unschedulable).length > 0) return undefined;
  const hostsPrint = hostsFingerprint(input.hosts, input.now, input.scheduler);
  if (last.options !== placementOptions(input) || last.hosts !== hostsPrint) return undefined;
  const changed = changedInstances(last.catalog, input.catalog);
  if (!changed) return undefined;

  const { revision } = input;
  // The texts map is handed on, not copied (25,000 entries): the replaced objects' texts leave
  // it, so an older result serialised again recomputes those few (same bytes, just slower).
  const texts = textsOf(last.result) ?? new Map<object, string>();
  const entries = cache.entries;
  const volumes = { ...before.volumes };
  const instances = { ...before.instances };
  /** Host -> the ids of its changed instances. */
  const byHost = new Map<string, string[]>();
  for (const [old, i] of changed) {
    const id = manifestId(i.manifest);
    const bootId = `${id}/boot`;
    const host = before.placements.instances[id]!;
    const macs = before.instances[id]!.nics.map((n) => n.mac);
    // Replaced objects leave the map (the next result would otherwise keep them alive).
    texts.delete(volumes[bootId]!);
    texts.delete(instances[id]!);
    volumes[bootId] = rebuild<DesiredVolume>(entries, 'boot', old, i, bootInputs(i), stamp(texts, bootContent(i), before.volumes[bootId], revision), texts);
    instances[id] = rebuild<DesiredInstance>(entries, 'instance', old, i, instanceInputs(i, macs), stamp(texts, instanceContent(i, macs), before.instances[id], revision), texts);
    const ids = byHost.get(host) ?? [];
    ids.push(id);
    byHost.set(host, ids);
  }

  const hosts = { ...last.result.hosts };
  const hostSummaries = { ...before.hosts };
  for (const [name, ids] of byHost) {
    const was = last.result.hosts[name]!;
    const res: DesiredResources = { networks: was.networks, images: was.images, volumes: { ...was.volumes }, instances: { ...was.instances } };
    for (const id of ids) {
      res.volumes[`${id}/boot`] = volumes[`${id}/boot`]!;
      res.instances[id] = instances[id]!;
    }
    const summary = before.hosts[name]!;
    texts.delete(was);
    const state: HostDesiredState = sealHost(name, was.zone, res, summary, revision, texts);
    hosts[name] = state;
    entries.host.set(name, { inputs: hostInputs(was.zone, res), out: state, text: texts.get(state)! });
    hostSummaries[name] = { ...summary, hash: state.hash, revision: state.revision };
  }

  const out: CompileResult = {
    desired: {
      ...before, revision, volumes, instances, hosts: hostSummaries,
      projects: sortedRecord([...(input.usage ?? projectUsage(input.catalog))]),
    },
    hosts,
  };
  setTexts(out, texts);
  const ids = changed.map(([, i]) => manifestId(i.manifest));
  setPatchOrigin(out.desired, { from: before, changed: { instances: ids, volumes: ids.map((id) => `${id}/boot`) } });
  cache.built = changed.length * 2 + byHost.size;
  cache.reused = Object.values(entries).reduce((n, m) => n + m.size, 0) - cache.built;
  cache.remember(input, out, true, hostsPrint);
  return out;
}

/**
 * Pairs [last, next] of the instances that differ between two catalogs, when nothing else
 * differs and no change can touch placement; undefined otherwise.
 */
function changedInstances(a: Catalog, b: Catalog): Array<[ResolvedInstance, ResolvedInstance]> | undefined {
  if (!sameInputs(a.networks, b.networks) || !sameInputs(a.images, b.images) || !sameInputs(a.flavors, b.flavors) || !sameInputs(a.projects, b.projects)) return undefined;
  if (a.volumes.length !== b.volumes.length) return undefined;
  for (let k = 0; k < a.volumes.length; k++) {
    if (a.volumes[k]!.manifest !== b.volumes[k]!.manifest || a.volumes[k]!.sourceImage !== b.volumes[k]!.sourceImage) return undefined;
  }
  if (a.instances.length !== b.instances.length) return undefined;
  const out: Array<[ResolvedInstance, ResolvedInstance]> = [];
  for (let k = 0; k < a.instances.length; k++) {
    const x = a.instances[k]!;
    const y = b.instances[k]!;
    if (x === y) continue;
    if (!placedAlike(x, y)) return undefined;
    // Resolved again (a full validation) but from the same manifest and references: the same instance.
    if (x.manifest === y.manifest) continue;
    if (out.length === MAX_CHANGED) return undefined;
    out.push([x, y]);
  }
  return out;
}

/** Whether two versions of an instance have the same placement inputs and MAC rules. */
function placedAlike(x: ResolvedInstance, y: ResolvedInstance): boolean {
  const p = x.manifest.spec;
  const q = y.manifest.spec;
  if (manifestId(x.manifest) !== manifestId(y.manifest) || x.image !== y.image || x.flavor !== y.flavor) return false;
  if (x.vcpus !== y.vcpus || x.memoryMiB !== y.memoryMiB || x.diskGiB !== y.diskGiB) return false;
  if (!sameInputs(x.networks, y.networks) || !sameInputs(x.volumes, y.volumes) || p.networks.length !== q.networks.length) return false;
  for (let k = 0; k < p.networks.length; k++) if (p.networks[k]!.mac !== q.networks[k]!.mac) return false;
  return p.placement.zone === q.placement.zone && p.placement.host === q.placement.host
    && p.placement.antiAffinityGroup === q.placement.antiAffinityGroup && p.placement.antiAffinityPolicy === q.placement.antiAffinityPolicy;
}

/** Moves a rebuilt object's cache entry from the old manifest to the new one. */
function rebuild<T extends { hash: string; revision: string }>(entries: BuiltEntries, kind: 'boot' | 'instance', old: ResolvedInstance,
  i: ResolvedInstance, inputs: unknown[], out: T, texts: Map<object, string>): T {
  entries[kind].delete(old.manifest);
  entries[kind].set(i.manifest, { inputs, out, text: texts.get(out)! });
  return out;
}
