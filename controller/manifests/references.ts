/**
 * Checks across documents of one commit: names unique per kind and project; references from
 * instances to their project, image, flavor, networks and volumes and from volumes to their
 * image; fixed IPs inside the network's CIDR, not its gateway and not used twice; MACs
 * unique; a volume attached to at most one instance; image minimums. Builds the Catalog
 * (references resolved) that the scheduler and compiler consume.
 *
 * Lookups are maps (one pass per kind), so a commit of 10,000 instances costs linear time.
 * A reference resolves in the manifest's project first, then among shared resources.
 */
import { cidrContains, formatIPv4, parseCidr, parseIPv4, type Cidr } from './net.js';
import type { BrokenRef } from './parse.js';
import type { Reporter } from './reporter.js';
import {
  manifestId, type Catalog, type FlavorManifest, type ImageManifest, type InstanceManifest, type Kind, type Manifest,
  type NetworkManifest, type ProjectManifest, type ResolvedInstance, type SourceRef, type VolumeManifest,
} from './types.js';

type ByKind = { [K in Kind]: Map<string, Extract<Manifest, { kind: K }>> };
const BROKEN = Symbol('broken');
type Lookup<T> = T | typeof BROKEN | undefined;

function bySource(a: Manifest, b: Manifest): number {
  return a.src.file < b.src.file ? -1 : a.src.file > b.src.file ? 1 : a.src.doc - b.src.doc;
}

function byId(a: { name: string; project?: string }, b: { name: string; project?: string }): number {
  const x = manifestId(a);
  const y = manifestId(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A field that holds a unique value (fixed IP, MAC), for "already used at" messages. */
interface Holder { src: SourceRef; field: string }

/**
 * The commit's manifests by kind and id, and the set-wide uniqueness maps the instance checks
 * fill (fixed IPs, MACs, attached volumes). Kept by a ValidationMemo so that a commit changing
 * a few instances is checked against it without resolving the other 10,000 again.
 */
export interface ReferenceIndex {
  byKind: ByKind;
  brokenIds: Set<string>;
  cidrs: Map<NetworkManifest, Cidr | undefined>;
  /** `<network id>\0<ip>` -> where it is used. */
  ipsUsed: Map<string, Holder>;
  /** Lower-case MAC -> where it is set. */
  macsUsed: Map<string, Holder>;
  /** Volume id -> the instance it is attached to. */
  attached: Map<string, InstanceManifest>;
}

function find<K extends Kind>(x: ReferenceIndex, kind: K, name: string, project: string | undefined, sharedToo: boolean): Lookup<Extract<Manifest, { kind: K }>> {
  const map = x.byKind[kind];
  if (project !== undefined) {
    const own = `${project}/${name}`;
    const hit = map.get(own);
    if (hit) return hit;
    if (x.brokenIds.has(`${kind}\0${own}`)) return BROKEN;
  }
  if (!sharedToo) return undefined;
  return map.get(name) ?? (x.brokenIds.has(`${kind}\0${name}`) ? BROKEN : undefined);
}

/** Resolves a reference, reporting "no X named" when missing; undefined when unusable. */
function ref<K extends Kind>(x: ReferenceIndex, r: Reporter, kind: K, name: string, from: Manifest, field: string, sharedToo = true): Extract<Manifest, { kind: K }> | undefined {
  const hit = find(x, kind, name, from.project, sharedToo);
  if (hit === BROKEN) return undefined;
  if (hit === undefined) {
    const scope = from.project === undefined ? '' : sharedToo ? ` in project "${from.project}" or shared` : ` in project "${from.project}"`;
    r.at(from.src, field, `no ${kind} named ${JSON.stringify(name)}${scope}`);
  }
  return hit;
}

function cidrOf(x: ReferenceIndex, n: NetworkManifest): Cidr | undefined {
  if (!x.cidrs.has(n)) x.cidrs.set(n, n.spec.cidr === undefined ? undefined : (parseCidr(n.spec.cidr) as Cidr));
  return x.cidrs.get(n);
}

function ipKey(net: NetworkManifest, ip: number): string {
  return `${manifestId(net)}\0${formatIPv4(ip)}`;
}

/** Checks the whole set; returns the catalog of the valid part (complete when no error was reported) and its index. */
export function checkReferences(all: Manifest[], broken: BrokenRef[], r: Reporter): { catalog: Catalog; index: ReferenceIndex } {
  const x: ReferenceIndex = {
    byKind: { Instance: new Map(), Network: new Map(), Volume: new Map(), Image: new Map(), Flavor: new Map(), Project: new Map() },
    brokenIds: new Set(broken.map((b) => `${b.kind}\0${manifestId(b)}`)),
    cidrs: new Map(), ipsUsed: new Map(), macsUsed: new Map(), attached: new Map(),
  };
  const index = x.byKind;
  for (const m of [...all].sort(bySource)) {
    const id = manifestId(m);
    const map = index[m.kind] as Map<string, Manifest>;
    const first = map.get(id);
    if (first) {
      r.at(m.src, 'metadata.name', `duplicate ${m.kind} ${JSON.stringify(id)} (first defined at ${r.where(first.src, 'metadata.name')})`);
      continue;
    }
    map.set(id, m);
  }

  // Every manifest's project must exist.
  for (const kind of ['Instance', 'Network', 'Volume', 'Image', 'Flavor'] as const) {
    for (const m of index[kind].values()) {
      if (m.project === undefined) continue;
      if (!index.Project.has(m.project) && !x.brokenIds.has(`Project\0${m.project}`)) {
        r.at(m.src, 'metadata.project', `no Project named ${JSON.stringify(m.project)}`);
      }
    }
  }

  // Volumes: source image and its minimum size.
  const volumes: Catalog['volumes'] = [];
  for (const v of index.Volume.values()) {
    let sourceImage: ImageManifest | undefined;
    if (v.spec.sourceImage !== undefined) {
      sourceImage = ref(x, r, 'Image', v.spec.sourceImage, v, 'spec.sourceImage');
      if (!sourceImage) continue;
      if (v.spec.sizeGiB < sourceImage.spec.minDiskGiB) {
        r.at(v.src, 'spec.sizeGiB', `${v.spec.sizeGiB} GiB is smaller than the ${sourceImage.spec.minDiskGiB} GiB Image ${JSON.stringify(sourceImage.name)} needs`);
      }
    }
    volumes.push(sourceImage ? { manifest: v, sourceImage } : { manifest: v });
  }

  // Instances, in source order (the first holder of an IP, MAC or volume keeps it).
  const instances: ResolvedInstance[] = [];
  for (const m of [...index.Instance.values()].sort(bySource)) {
    const resolved = resolveInstance(x, m, r);
    if (resolved) instances.push(resolved);
  }

  const sorted = <T extends { name: string; project?: string }>(it: Iterable<T>) => [...it].sort(byId);
  const catalog: Catalog = {
    instances: instances.sort((a, b) => byId(a.manifest, b.manifest)),
    networks: sorted(index.Network.values()),
    volumes: volumes.sort((a, b) => byId(a.manifest, b.manifest)),
    images: sorted(index.Image.values()),
    flavors: sorted(index.Flavor.values()),
    projects: sorted(index.Project.values()) as ProjectManifest[],
  };
  return { catalog, index: x };
}

/**
 * Resolves one instance's references and checks what depends on them (image minimums,
 * network zones, fixed IPs, MACs, attachments), recording its IPs, MACs and volumes in the
 * index; undefined when a reference is unusable. Problems go to `r`.
 */
export function resolveInstance(x: ReferenceIndex, m: InstanceManifest, r: Reporter): ResolvedInstance | undefined {
  const s = m.spec;
  let ok = true;
  const image = ref(x, r, 'Image', s.image, m, 'spec.image');
  if (!image) ok = false;
  let flavor: FlavorManifest | undefined;
  if (s.flavor !== undefined) {
    flavor = ref(x, r, 'Flavor', s.flavor, m, 'spec.flavor');
    if (!flavor) ok = false;
  }
  const size = flavor ? flavor.spec : { vcpus: s.vcpus!, memoryMiB: s.memoryMiB!, diskGiB: s.diskGiB! };
  const sizeField = (f: string) => (flavor ? 'spec.flavor' : `spec.${f}`);
  if (image && (flavor || s.flavor === undefined)) {
    if (size.diskGiB < image.spec.minDiskGiB) {
      r.at(m.src, sizeField('diskGiB'), `disk of ${size.diskGiB} GiB is smaller than the ${image.spec.minDiskGiB} GiB Image ${JSON.stringify(image.name)} needs`);
    }
    if (size.memoryMiB < image.spec.minMemoryMiB) {
      r.at(m.src, sizeField('memoryMiB'), `memory of ${size.memoryMiB} MiB is less than the ${image.spec.minMemoryMiB} MiB Image ${JSON.stringify(image.name)} needs`);
    }
  }
  const networks: NetworkManifest[] = [];
  s.networks.forEach((nic, i) => {
    const base = `spec.networks[${i}]`;
    const net = ref(x, r, 'Network', nic.network, m, `${base}.network`);
    if (!net) { ok = false; return; }
    networks.push(net);
    if (s.placement.zone !== undefined && net.spec.zones !== undefined && !net.spec.zones.includes(s.placement.zone)) {
      r.at(m.src, `${base}.network`, `Network ${JSON.stringify(net.name)} does not exist in zone ${JSON.stringify(s.placement.zone)} (its zones: ${net.spec.zones.join(', ')})`);
    }
    if (nic.ip !== undefined) {
      const field = `${base}.ip`;
      const cidr = cidrOf(x, net);
      const ip = parseIPv4(nic.ip)!;
      const gateway = net.spec.gateway !== undefined ? parseIPv4(net.spec.gateway)! : cidr ? cidr.network + 1 : undefined;
      if (!cidr) r.at(m.src, field, `Network ${JSON.stringify(net.name)} has no cidr, so its NICs cannot have fixed IPs`);
      else if (!cidrContains(cidr, ip)) r.at(m.src, field, `${nic.ip} is outside ${net.spec.cidr} of Network ${JSON.stringify(net.name)}`);
      else if (ip === gateway) r.at(m.src, field, `${nic.ip} is the gateway of Network ${JSON.stringify(net.name)}`);
      else if (ip === cidr.network || ip === cidr.broadcast) {
        r.at(m.src, field, `${nic.ip} is the ${ip === cidr.network ? 'network' : 'broadcast'} address of ${net.spec.cidr}`);
      } else {
        const key = ipKey(net, ip);
        const first = x.ipsUsed.get(key);
        if (first) r.at(m.src, field, `${nic.ip} on Network ${JSON.stringify(net.name)} is already used at ${r.where(first.src, first.field)}`);
        else x.ipsUsed.set(key, { src: m.src, field });
      }
    }
    if (nic.mac !== undefined) {
      const field = `${base}.mac`;
      const mac = nic.mac.toLowerCase();
      const first = x.macsUsed.get(mac);
      if (first) r.at(m.src, field, `MAC ${mac} is already used at ${r.where(first.src, first.field)}`);
      else x.macsUsed.set(mac, { src: m.src, field });
    }
  });
  const vols: VolumeManifest[] = [];
  s.volumes.forEach((name, i) => {
    const field = `spec.volumes[${i}]`;
    const v = ref(x, r, 'Volume', name, m, field, false);
    if (!v) { ok = false; return; }
    const id = manifestId(v);
    const owner = x.attached.get(id);
    if (owner) {
      r.at(m.src, field, `Volume ${JSON.stringify(name)} is already attached to Instance ${JSON.stringify(owner.name)} (${r.where(owner.src, 'metadata.name')})`);
      return;
    }
    x.attached.set(id, m);
    vols.push(v);
  });
  if (!ok || !image) return undefined;
  return { manifest: m, image, ...(flavor ? { flavor } : {}), ...size, networks, volumes: vols };
}

/** Takes an instance's fixed IPs, MACs and attached volumes out of the index (before it is resolved again, changed). */
export function releaseInstance(x: ReferenceIndex, i: ResolvedInstance): void {
  const m = i.manifest;
  m.spec.networks.forEach((nic, k) => {
    const net = i.networks[k];
    if (nic.ip !== undefined && net) {
      const ip = parseIPv4(nic.ip);
      const key = ip === undefined ? undefined : ipKey(net, ip);
      if (key !== undefined && x.ipsUsed.get(key)?.src === m.src) x.ipsUsed.delete(key);
    }
    if (nic.mac !== undefined && x.macsUsed.get(nic.mac.toLowerCase())?.src === m.src) x.macsUsed.delete(nic.mac.toLowerCase());
  });
  for (const v of i.volumes) if (x.attached.get(manifestId(v)) === m) x.attached.delete(manifestId(v));
}

