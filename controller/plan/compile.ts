/**
 * Compiles a validated commit (its Catalog) and the current hosts into desired state: the
 * whole-revision `DesiredState` and one `HostDesiredState` per host. Deterministic: the same
 * catalog, hosts, previous state and time give the same objects, hence (through canonical
 * JSON) the same bytes; the order of files and documents in the repository does not matter.
 *
 * What the previous state (the last compiled DesiredState) is used for:
 * - placements stay where they were (scheduler stickiness), detached volumes stay on their host
 *   and an instance that attaches a volume is placed where the volume's data lives;
 * - generated MACs stay the same even when a new NIC would hash to the same address;
 * - `revision` of an unchanged resource (same content hash) and of an unchanged host is kept,
 *   so an agent's desired.json keeps its bytes (and ETag) when nothing changed for it;
 * - the lastTransitionTime of an Unschedulable condition is kept while it stays unschedulable.
 *
 * With a CompileCache (a long-running controller), resources and host states whose inputs are
 * the same objects as last time are reused with their canonical text instead of being built and
 * hashed again (compile-cache.ts); the result is the same as without it. When the previous
 * state is that cache's last result and only a few instances changed in ways that cannot move
 * anything, the last result is patched instead (compile-patch.ts), with the same bytes again.
 */
import { canonicalJson } from '../../agents/contract/canonical-json.js';
import { REASON_NO_VALID_HOST } from '../../agents/contract/conditions.js';
import {
  STATE_FORMAT_VERSION, type DesiredImage, type DesiredInstance, type DesiredNetwork, type DesiredResources,
  type DesiredState, type DesiredVolume, type HostDesiredState, type ProjectUsage,
} from '../../agents/contract/desired.js';
import { formatIPv4, parseCidr, type Cidr } from '../manifests/net.js';
import { projectUsage } from '../manifests/quotas.js';
import { manifestId, type Catalog, type ImageManifest, type ResolvedInstance } from '../manifests/types.js';
import { CompileCache, emptyBuilt, sameInputs, type BuiltKind } from './compile-cache.js';
import { patchCompile } from './compile-patch.js';
import {
  bootContent, bootInputs, hostInputs, instanceContent, instanceInputs, own, sealHost, setTexts, sortedRecord, stamp, textsOf,
  type CompileResult,
} from './desired-builders.js';
import { derivedBridge, derivedMac, resourceUuid } from './identity.js';
import { schedule, type SchedulerHost, type SchedulerOptions, type SchedulingRequest } from './scheduler.js';

export type { CompileResult } from './desired-builders.js';

export interface CompileInput {
  catalog: Catalog;
  /** Commit id of the manifests. */
  revision: string;
  hosts: SchedulerHost[];
  /** The previously compiled state, if any. */
  previous?: DesiredState;
  /** Hosts no longer listed: host -> last time seen. */
  lastSeen?: Record<string, string | number>;
  now: Date | string | number;
  scheduler?: SchedulerOptions;
  /** Precomputed by validation; computed when absent. */
  usage?: Map<string, ProjectUsage>;
  /** What the last compile built (long-running controllers): unchanged resources are reused. */
  cache?: CompileCache;
}

function iso(t: Date | string | number): string {
  return new Date(t instanceof Date ? t.getTime() : t).toISOString();
}

/** Canonical JSON text of a compile result's documents (fast: reuses what compile computed). */
export function serializeCompiled(result: CompileResult): { desired: string; hosts: Record<string, string> } {
  const hosts: Record<string, string> = {};
  for (const name of Object.keys(result.hosts)) hosts[name] = serializeHost(result, name);
  return { desired: serializeDesired(result), hosts };
}

/** Canonical JSON text of one host's state of a compile result. */
export function serializeHost(result: CompileResult, name: string): string {
  return canonicalJson(result.hosts[name], 0, textsOf(result));
}

/** Canonical JSON text of a compile result's whole state. */
export function serializeDesired(result: CompileResult): string {
  return canonicalJson(result.desired, 0, textsOf(result));
}

export function compile(input: CompileInput): CompileResult {
  const patched = patchCompile(input);
  if (patched) return patched;
  const { catalog, revision, previous } = input;
  const texts = new Map<object, string>();
  const cache = input.cache;
  const lastBuilt = cache?.entries;
  const nextBuilt = cache ? emptyBuilt() : undefined;
  if (cache) { cache.reused = 0; cache.built = 0; }
  /**
   * The object the last compile built for `key` from the same inputs, when the previous state
   * still holds it unchanged (so its revision is still right); else undefined.
   */
  const reuse = <T extends { hash: string; revision: string }>(kind: BuiltKind, key: unknown, inputs: unknown[], prev: { hash: string; revision: string } | undefined): T | undefined => {
    const b = lastBuilt?.[kind].get(key);
    if (!b || !sameInputs(b.inputs, inputs)) return undefined;
    const ok = prev ? prev.hash === b.out.hash && prev.revision === b.out.revision : b.out.revision === revision;
    if (!ok) return undefined;
    texts.set(b.out, b.text);
    nextBuilt![kind].set(key, b);
    cache!.reused++;
    return b.out as T;
  };
  const remember = (kind: BuiltKind, key: unknown, inputs: unknown[], out: { hash: string; revision: string }) => {
    if (!nextBuilt) return;
    nextBuilt[kind].set(key, { inputs, out, text: texts.get(out)! });
    cache!.built++;
  };
  /** stamp(), or the cached object when its inputs are the same. */
  const build = <T extends { revision: string; hash: string }>(kind: BuiltKind, key: object, inputs: unknown[] | undefined, make: () => Omit<T, 'revision' | 'hash'>, prev: T | undefined): T => {
    if (inputs) {
      const hit = reuse<T>(kind, key, inputs, prev);
      if (hit) return hit;
    }
    const out = stamp<T>(texts, make(), prev, revision);
    if (inputs) remember(kind, key, inputs, out);
    return out;
  };
  const prevPlace = previous?.placements;
  const hostNames = new Set(input.hosts.map((h) => h.name));

  // Networks.
  const networks: Record<string, DesiredNetwork> = {};
  const bridges = new Set<string>();
  for (const n of catalog.networks) if (n.spec.mode === 'bridge') bridges.add(n.spec.bridge!);
  for (const n of catalog.networks) {
    const id = manifestId(n);
    let bridge = n.spec.bridge;
    if (n.spec.mode !== 'bridge') {
      const prevBridge = own(previous?.networks, id)?.bridge;
      if (prevBridge !== undefined && own(previous?.networks, id)?.mode !== 'bridge' && !bridges.has(prevBridge)) bridge = prevBridge;
      else for (let a = 0; bridge === undefined || bridges.has(bridge); a++) bridge = derivedBridge(id, a);
      bridges.add(bridge);
    }
    const cidr = n.spec.cidr !== undefined ? (parseCidr(n.spec.cidr) as Cidr) : undefined;
    networks[id] = build<DesiredNetwork>('network', n, cache && [n, bridge], () => ({
      id, name: n.name, ...(n.project !== undefined ? { project: n.project } : {}), labels: n.labels,
      uuid: resourceUuid('network', id), mode: n.spec.mode, bridge: bridge!,
      ...(cidr ? { cidr: n.spec.cidr, prefixLength: cidr.prefix, gateway: n.spec.gateway ?? formatIPv4(cidr.network + 1) } : {}),
      ...(n.spec.dhcp ? { dhcp: { start: n.spec.dhcp.start, end: n.spec.dhcp.end } } : {}),
      ...(n.spec.zones ? { zones: [...n.spec.zones].sort() } : {}),
    }), own(previous?.networks, id));
  }

  // Images.
  const images: Record<string, DesiredImage> = {};
  const imageOf = (m: ImageManifest) => manifestId(m);
  for (const m of catalog.images) {
    const id = imageOf(m);
    images[id] = build<DesiredImage>('image', m, cache && [m], () => ({
      id, name: m.name, ...(m.project !== undefined ? { project: m.project } : {}), labels: m.labels,
      uuid: resourceUuid('image', id), source: { bucket: m.spec.source.bucket, key: m.spec.source.key },
      format: m.spec.format, sha256: m.spec.sha256, minDiskGiB: m.spec.minDiskGiB, minMemoryMiB: m.spec.minMemoryMiB,
    }), own(previous?.images, id));
  }

  // MACs: explicit ones first, then previously assigned ones, then derived ones.
  const macsTaken = new Set<string>();
  for (const i of catalog.instances) for (const nic of i.manifest.spec.networks) if (nic.mac) macsTaken.add(nic.mac.toLowerCase());
  const macs = new Map<string, string[]>();
  const needMac: Array<[ResolvedInstance, number]> = [];
  for (const i of catalog.instances) {
    const id = manifestId(i.manifest);
    const list: string[] = [];
    i.manifest.spec.networks.forEach((nic, k) => {
      if (nic.mac) { list.push(nic.mac.toLowerCase()); return; }
      const prev = own(previous?.instances, id)?.nics[k]?.mac;
      if (prev !== undefined && !macsTaken.has(prev)) { macsTaken.add(prev); list.push(prev); return; }
      list.push('');
      needMac.push([i, k]);
    });
    macs.set(id, list);
  }
  for (const [i, k] of needMac) {
    const id = manifestId(i.manifest);
    let mac = derivedMac(id, k);
    for (let a = 1; macsTaken.has(mac); a++) mac = derivedMac(id, k, a);
    macsTaken.add(mac);
    macs.get(id)![k] = mac;
  }

  // Data volumes (placement filled in below).
  const volumes: Record<string, DesiredVolume> = {};
  const dataVolumes: DesiredVolume[] = [];
  const attachedTo = new Map<string, string>();
  for (const i of catalog.instances) for (const v of i.volumes) attachedTo.set(manifestId(v), manifestId(i.manifest));
  for (const { manifest: v, sourceImage } of catalog.volumes) {
    const id = manifestId(v);
    const owner = attachedTo.get(id);
    volumes[id] = build<DesiredVolume>('volume', v, cache && [v, sourceImage, owner], () => ({
      id, name: v.name, project: v.project!, labels: v.labels, uuid: resourceUuid('volume', id), role: 'data', format: 'qcow2',
      sizeGiB: v.spec.sizeGiB, ...(sourceImage ? { backingImage: imageOf(sourceImage) } : {}),
      retainOnDelete: v.spec.retainOnDelete, ...(owner ? { attachedTo: owner } : {}),
    }), own(previous?.volumes, id));
    dataVolumes.push(volumes[id]!);
  }

  // Instances, their boot disks and scheduling requests.
  const instances: Record<string, DesiredInstance> = {};
  const requests: SchedulingRequest[] = [];
  const unschedulableEarly = new Map<string, string>();
  for (const i of catalog.instances) {
    const m = i.manifest;
    const id = manifestId(m);
    const bootId = `${id}/boot`;
    volumes[bootId] = build<DesiredVolume>('boot', m, cache && bootInputs(i), () => bootContent(i), own(previous?.volumes, bootId));
    const s = m.spec;
    const nicMacs = macs.get(id)!;
    instances[id] = build<DesiredInstance>('instance', m, cache && instanceInputs(i, nicMacs), () => instanceContent(i, nicMacs), own(previous?.instances, id));

    // Where the data of its volumes lives (detached volumes stay on their host).
    let required: { host: string; reason: string } | undefined;
    let requiredBy = '';
    for (const v of i.volumes) {
      const at = own(prevPlace?.volumes, manifestId(v));
      if (at === undefined || !hostNames.has(at)) continue;
      if (required && required.host !== at) {
        unschedulableEarly.set(id, `its volumes live on different hosts (${requiredBy} on ${required.host}, ${v.name} on ${at})`);
        break;
      }
      required = { host: at, reason: `volume ${v.name} lives on host ${at}` };
      requiredBy = v.name;
    }
    let allowedZones: string[] | undefined;
    for (const n of i.networks) {
      if (!n.spec.zones) continue;
      allowedZones = allowedZones ? allowedZones.filter((z) => n.spec.zones!.includes(z)) : [...n.spec.zones];
    }
    if (unschedulableEarly.has(id)) continue;
    requests.push({
      id, vcpus: i.vcpus, memoryMiB: i.memoryMiB, diskGiB: i.diskGiB + i.volumes.reduce((a, v) => a + v.spec.sizeGiB, 0),
      ...(s.placement.zone !== undefined ? { zone: s.placement.zone } : {}),
      ...(s.placement.host !== undefined ? { host: s.placement.host } : {}),
      ...(s.placement.antiAffinityGroup !== undefined ? { antiAffinityGroup: `${m.project}/${s.placement.antiAffinityGroup}` } : {}),
      ...(s.placement.antiAffinityGroup !== undefined && s.placement.antiAffinityPolicy === 'Soft' ? { antiAffinityPolicy: 'Soft' as const } : {}),
      ...(allowedZones ? { allowedZones } : {}),
      ...(required ? { requiredHost: required } : {}),
    });
  }

  const netHosts = new Map<string, Set<string>>();
  const imgHosts = new Map<string, Set<string>>();
  const addTo = (m: Map<string, Set<string>>, id: string, host: string) => {
    let set = m.get(id);
    if (!set) { set = new Set(); m.set(id, set); }
    set.add(host);
  };

  // Detached data volumes stay on the host that holds their data, when it still exists.
  const volumePlace: Array<[string, string]> = [];
  const reservedDiskGiB: Record<string, number> = {};
  /** Data volumes given a host (detached ones here, attached ones with their instance). */
  const placedData = new Set<string>();
  for (const v of dataVolumes) {
    if (v.attachedTo !== undefined) continue;
    const at = own(prevPlace?.volumes, v.id);
    if (at === undefined || !hostNames.has(at)) continue;
    volumePlace.push([v.id, at]);
    placedData.add(v.id);
    if (v.backingImage !== undefined) addTo(imgHosts, v.backingImage, at);
    reservedDiskGiB[at] = (reservedDiskGiB[at] ?? 0) + v.sizeGiB;
  }

  const result = schedule({
    hosts: input.hosts, requests, now: input.now, reservedDiskGiB,
    ...(prevPlace ? { previous: prevPlace.instances } : {}),
    ...(input.lastSeen ? { lastSeen: input.lastSeen } : {}),
    ...(input.scheduler ? { options: input.scheduler } : {}),
  });
  for (const [id, msg] of unschedulableEarly) result.unschedulable[id] = msg;

  // Placements of everything else follow the instances.
  for (const [id, host] of Object.entries(result.placements)) {
    const inst = instances[id]!;
    const disks = inst.disks;
    for (let k = 0; k < disks.length; k++) {
      const vid = disks[k]!.volume;
      volumePlace.push([vid, host]);
      if (k > 0) placedData.add(vid); // disk 0 is the boot disk
      const backing = volumes[vid]!.backingImage;
      if (backing !== undefined) addTo(imgHosts, backing, host);
    }
    for (const nic of inst.nics) addTo(netHosts, nic.network, host);
  }
  // Volumes of unplaced instances keep their data where it is.
  for (const v of dataVolumes) {
    if (placedData.has(v.id)) continue;
    const at = own(prevPlace?.volumes, v.id);
    if (at === undefined || !hostNames.has(at)) continue;
    volumePlace.push([v.id, at]);
    if (v.backingImage !== undefined) addTo(imgHosts, v.backingImage, at);
  }
  const zoneOf = new Map<string, string>();
  for (const h of input.hosts) zoneOf.set(h.name, h.zone);
  for (const n of Object.values(networks)) {
    if (!n.zones) continue;
    for (const h of input.hosts) if (n.zones.includes(h.zone)) addTo(netHosts, n.id, h.name);
  }

  const now = iso(input.now);
  const unschedulable: DesiredState['unschedulable'] = {};
  for (const [id, message] of Object.entries(result.unschedulable)) {
    const prev = own(previous?.unschedulable, id);
    unschedulable[id] = {
      instance: id, message,
      condition: {
        type: 'Unschedulable', status: 'True', reason: REASON_NO_VALID_HOST, message, observedRevision: revision,
        lastTransitionTime: prev ? prev.condition.lastTransitionTime : now,
      },
    };
  }

  const usage = input.usage ?? projectUsage(catalog);
  const desired: DesiredState = {
    formatVersion: STATE_FORMAT_VERSION, kind: 'DesiredState', revision,
    networks, images, volumes: sortedRecord(Object.entries(volumes)), instances,
    hosts: {},
    placements: {
      instances: sortedRecord(Object.entries(result.placements)),
      volumes: sortedRecord(volumePlace),
      networks: sortedRecord([...netHosts].map(([k, v]) => [k, [...v].sort()])),
      images: sortedRecord([...imgHosts].map(([k, v]) => [k, [...v].sort()])),
    },
    unschedulable,
    projects: sortedRecord([...usage]),
  };

  // Per-host states.
  const perHost = new Map<string, DesiredResources>();
  const bucket = (host: string) => {
    let r = perHost.get(host);
    if (!r) { r = { networks: {}, images: {}, volumes: {}, instances: {} }; perHost.set(host, r); }
    return r;
  };
  for (const h of input.hosts) bucket(h.name);
  for (const [id, hosts] of Object.entries(desired.placements.networks)) for (const h of hosts) bucket(h).networks[id] = networks[id]!;
  for (const [id, hosts] of Object.entries(desired.placements.images)) for (const h of hosts) bucket(h).images[id] = images[id]!;
  for (const [id, h] of Object.entries(desired.placements.volumes)) bucket(h).volumes[id] = volumes[id]!;
  for (const [id, h] of Object.entries(desired.placements.instances)) bucket(h).instances[id] = instances[id]!;

  const hosts: Record<string, HostDesiredState> = {};
  const listed = new Map(input.hosts.map((h) => [h.name, h]));
  for (const name of [...perHost.keys()].sort()) {
    const res = perHost.get(name)!;
    const zone = zoneOf.get(name) ?? own(previous?.hosts, name)?.zone ?? '';
    const prev = own(previous?.hosts, name);
    const inputs = cache && hostInputs(zone, res);
    const hit = inputs && reuse<HostDesiredState>('host', name, inputs, prev);
    if (hit) {
      hosts[name] = hit;
    } else {
      hosts[name] = sealHost(name, zone, res, prev, revision, texts);
      if (inputs) remember('host', name, inputs, hosts[name]!);
    }
    const { hash, revision: hostRevision } = hosts[name]!;
    const h = listed.get(name);
    desired.hosts[name] = {
      zone, vcpus: h?.vcpus ?? prev?.vcpus ?? 0, memoryMiB: h?.memoryMiB ?? prev?.memoryMiB ?? 0, diskGiB: h?.diskGiB ?? prev?.diskGiB ?? 0,
      listed: h !== undefined, hash, revision: hostRevision,
    };
  }
  const out: CompileResult = { desired, hosts };
  setTexts(out, texts);
  if (cache) {
    cache.entries = nextBuilt!;
    cache.remember(input, out);
  }
  return out;
}
