/**
 * The pieces of desired state that both a full compile (compile.ts) and a patched one
 * (compile-patch.ts) build, so that both make the very same objects and bytes: a resource
 * stamped with its hash and revision, an instance and its boot volume, a host's state, and the
 * canonical texts a compile result carries for serialising.
 */
import { canonicalEntries, canonicalJson, quoteKey } from '../../agents/contract/canonical-json.js';
import {
  STATE_FORMAT_VERSION, type DesiredInstance, type DesiredResources, type DesiredState, type DesiredVolume, type HostDesiredState,
} from '../../agents/contract/desired.js';
import { manifestId, type ResolvedInstance } from '../manifests/types.js';
import { resourceUuid } from './identity.js';
import { sealPieces, sealText } from './sealed-text.js';

export interface CompileResult {
  desired: DesiredState;
  /** host name -> its desired state (every listed host, plus unlisted hosts still holding resources). */
  hosts: Record<string, HostDesiredState>;
}

const DEVICE_LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Separates the four resource lists of a host in its cache inputs. */
const RECORD_BREAK = Symbol('record break');

/** `rec[key]` only when it is the record's own member (states may come from JSON.parse). */
export function own<T>(rec: Record<string, T> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/**
 * Canonical text of every resource and host state a compile made, so that serialising the
 * whole state and each host's share reuses it instead of walking the same objects again.
 * One plain Map per result (a WeakMap entry per resource would burden the garbage collector).
 */
const textOfResult = new WeakMap<CompileResult, Map<object, string>>();

export function textsOf(result: CompileResult): Map<object, string> | undefined {
  return textOfResult.get(result);
}

export function setTexts(result: CompileResult, texts: Map<object, string>): void {
  textOfResult.set(result, texts);
}

/**
 * A state made by patching another (compile-patch.ts): the state it was made from and the ids
 * of the records it replaced, per kind; every other record member is the very same object.
 */
export interface PatchOrigin {
  from: DesiredState;
  changed: Partial<Record<'networks' | 'images' | 'volumes' | 'instances', string[]>>;
}

const patchOrigins = new WeakMap<DesiredState, PatchOrigin>();

export function patchOrigin(state: DesiredState): PatchOrigin | undefined {
  return patchOrigins.get(state);
}

export function setPatchOrigin(state: DesiredState, origin: PatchOrigin): void {
  patchOrigins.set(state, origin);
}

/**
 * Adds `hash` (of the canonical content) and `revision` (the previous one when the content is
 * unchanged) to `r` (a fresh object the caller gives up) and remembers its canonical text in `texts`.
 */
export function stamp<T extends { revision: string; hash: string }>(texts: Map<object, string>, r: Omit<T, 'revision' | 'hash'>,
  prev: T | undefined, revision: string): T {
  const sealed = sealText(canonicalEntries(r as Record<string, unknown>, texts), (hash) => (prev && prev.hash === hash ? prev.revision : revision));
  const out = r as T;
  out.hash = sealed.hash;
  out.revision = sealed.revision;
  texts.set(out, sealed.text);
  return out;
}

export function sortedRecord<T>(entries: Array<[string, T]>): Record<string, T> {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, T> = {};
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** What an instance's boot volume is built from (CompileCache inputs). */
export function bootInputs(i: ResolvedInstance): unknown[] {
  return [i.manifest, i.image, i.diskGiB];
}

/** An instance's boot volume, before stamping. */
export function bootContent(i: ResolvedInstance): Omit<DesiredVolume, 'revision' | 'hash'> {
  const m = i.manifest;
  const id = manifestId(m);
  const bootId = `${id}/boot`;
  return {
    id: bootId, name: `${m.name}.boot`, project: m.project!, labels: {}, uuid: resourceUuid('volume', bootId), role: 'boot',
    format: 'qcow2', sizeGiB: i.diskGiB, backingImage: manifestId(i.image), retainOnDelete: false, attachedTo: id,
  };
}

/** What an instance is built from (CompileCache inputs), its MACs included. */
export function instanceInputs(i: ResolvedInstance, macs: string[]): unknown[] {
  const inputs: unknown[] = [i.manifest, i.image, i.flavor, i.vcpus, i.memoryMiB, i.diskGiB];
  for (const n of i.networks) inputs.push(n);
  for (const v of i.volumes) inputs.push(v);
  for (const mac of macs) inputs.push(mac);
  return inputs;
}

/** An instance's desired record, before stamping; `macs` holds one address per NIC. */
export function instanceContent(i: ResolvedInstance, macs: string[]): Omit<DesiredInstance, 'revision' | 'hash'> {
  const m = i.manifest;
  const s = m.spec;
  const id = manifestId(m);
  return {
    id, name: m.name, project: m.project!, labels: m.labels, uuid: resourceUuid('instance', id), hostname: m.name,
    powerState: s.powerState, vcpus: i.vcpus, memoryMiB: i.memoryMiB, diskGiB: i.diskGiB, image: manifestId(i.image),
    ...(i.flavor ? { flavor: manifestId(i.flavor) } : {}),
    disks: [{ volume: `${id}/boot`, device: 'vda', bus: 'virtio' as const },
      ...i.volumes.map((v, k) => ({ volume: manifestId(v), device: `vd${DEVICE_LETTERS[k + 1]}`, bus: 'virtio' as const }))],
    nics: s.networks.map((nic, k) => ({
      network: manifestId(i.networks[k]!), mac: macs[k]!, ...(nic.ip !== undefined ? { ip: nic.ip } : {}), model: 'virtio' as const,
    })),
    ...(s.userData !== undefined ? { userData: s.userData } : {}),
    sshAuthorizedKeys: s.sshAuthorizedKeys,
    ...(s.placement.antiAffinityGroup !== undefined ? { antiAffinityGroup: s.placement.antiAffinityGroup } : {}),
  };
}

/** What a host's state is built from (CompileCache inputs): its zone and its resources, which are the same objects when reused. */
export function hostInputs(zone: string, res: DesiredResources): unknown[] {
  const inputs: unknown[] = [zone];
  for (const rec of [res.networks, res.images, res.volumes, res.instances] as Array<Record<string, object>>) {
    inputs.push(RECORD_BREAK);
    for (const k in rec) inputs.push(rec[k]);
  }
  return inputs;
}

/**
 * A host's state with its hash and revision (the previous one when unchanged), its text
 * remembered in `texts`: hashed piece by piece, so the text stays a rope of its resources' texts.
 */
export function sealHost(name: string, zone: string, res: DesiredResources, prev: { hash: string; revision: string } | undefined,
  revision: string, texts: Map<object, string>): HostDesiredState {
  const content = { formatVersion: STATE_FORMAT_VERSION, kind: 'HostDesiredState' as const, host: name, zone, ...res };
  const sealed = sealPieces(hostPieces(content, texts), (h) => (prev && prev.hash === h ? prev.revision : revision));
  const out: HostDesiredState = { ...content, hash: sealed.hash, revision: sealed.revision };
  texts.set(out, sealed.text);
  return out;
}

/**
 * A host state's members as sorted `[key, pieces]` for sealPieces: its resource records as
 * `{`, `"id":`, the resource's known text, ... `}`, other members as their canonical text.
 */
function hostPieces(content: Record<string, unknown>, texts: Map<object, string>): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  for (const k of Object.keys(content).sort()) {
    const v = content[k];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) { out.push([k, [canonicalJson(v)]]); continue; }
    const rec = v as Record<string, object>;
    const pieces = ['{'];
    let first = true;
    for (const id of Object.keys(rec).sort()) {
      pieces.push(`${first ? '' : ','}${quoteKey(id)}:`, texts.get(rec[id]!) ?? canonicalJson(rec[id], 0, texts));
      first = false;
    }
    pieces.push('}');
    out.push([k, pieces]);
  }
  return out;
}
