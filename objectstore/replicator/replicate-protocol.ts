/**
 * The REPLICATE exchange between storage nodes: one node asks a peer for the suffix hashes of
 * a partition on one of its devices, and for the object listings of the suffixes it names.
 *
 *   POST /replicate/<device>/<partition>            every suffix's hash, no listings
 *   POST /replicate/<device>/<partition>?list=<suffix>,<suffix>...
 *                                                   those suffixes' hashes and listings only
 *   (HMAC-signed like every node request, empty X-Timestamp)
 *   200 {"hashes": {"<suffix>": "<md5>", ...}, "listings": {"<suffix>": {"<hash>": LiveState}}}
 *   421 unknown device, 400 bad path
 *
 * Node's HTTP parser accepts only the methods it knows, so Swift's REPLICATE verb is a POST to
 * its own path. Hashes are recomputed on every call (suffix-hashes.ts), so every suffix is
 * "recalculated"; `list` names the suffixes whose per-object live files the caller wants.
 */
import type http from 'node:http';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BadRequest } from '../common/errors.js';
import { NodeClient } from '../node/node-client.js';
import { checkDevice, UNKNOWN_DEVICE_STATUS } from '../node/protocol.js';
import { listSuffixes, partitionHashes, type HashOptions, type SuffixListing } from './suffix-hashes.js';

export const REPLICATE_PREFIX = '/replicate/';
/** Time allowed for a peer to hash a partition and answer. */
export const REPLICATE_TIMEOUT_MS = 60_000;
const MAX_PARTITION = 2 ** 32;

export interface ReplicateAnswer {
  hashes: Record<string, string>;
  listings: Record<string, SuffixListing>;
}

/** The partition folder of a device. */
export function partitionDir(devicesDir: string, device: string, part: number): string {
  return join(devicesDir, device, 'objects', String(part));
}

export class PeerError extends Error {
  constructor(message: string, readonly status = 0) {
    super(message);
  }

  /** The peer's device cannot take anything now (down, full, unknown device): stop for this pass. */
  get deviceUnavailable(): boolean {
    return this.status === 0 || this.status === 507 || this.status === UNKNOWN_DEVICE_STATUS;
  }
}

/**
 * Serves REPLICATE requests; returns false for any other URL. The caller has checked the
 * cluster signature. `onReclaimed` hears of tombstones reclaimed while hashing.
 */
export async function handleReplicate(devicesDir: string, method: string, url: string, res: http.ServerResponse,
  opts: HashOptions, onReclaimed: (n: number) => void = () => undefined): Promise<boolean> {
  if (!url.startsWith(REPLICATE_PREFIX)) return false;
  if (method !== 'POST') throw new BadRequest(`method ${method} not allowed on ${REPLICATE_PREFIX}`);
  const u = new URL(url, 'http://node');
  const segs = u.pathname.slice(REPLICATE_PREFIX.length).split('/');
  if (segs.length !== 2) throw new BadRequest('replicate path is /replicate/<device>/<partition>');
  const device = decodeURIComponent(segs[0]!);
  checkDevice(device);
  if (!/^\d{1,10}$/.test(segs[1]!) || Number(segs[1]) >= MAX_PARTITION) throw new BadRequest('bad partition');
  const part = Number(segs[1]);
  // Synchronous like the readdirs that follow (suffix-hashes.ts): a pool trip here cost more than the stat.
  let isDir = false;
  try {
    isDir = statSync(join(devicesDir, device)).isDirectory();
  } catch {
    // missing or unreadable: unknown here
  }
  if (!isDir) {
    res.writeHead(UNKNOWN_DEVICE_STATUS, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(`unknown device ${device}\n`);
    return true;
  }
  const dir = partitionDir(devicesDir, device, part);
  const list = (u.searchParams.get('list') ?? '').split(',').filter((s) => s !== '');
  // With a list, only the listed suffixes are read (their hashes come with their listings).
  const r = list.length ? await listSuffixes(dir, list, opts) : { ...(await partitionHashes(dir, opts)), listings: {} };
  onReclaimed(r.reclaimed);
  const body = Buffer.from(JSON.stringify({ hashes: r.hashes, listings: r.listings } satisfies ReplicateAnswer));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
  return true;
}

/** A device of a peer node. */
export interface PeerDevice {
  ip: string;
  port: number;
  device: string;
}

/** Asks a peer for a partition's suffix hashes, or for the hashes and listings of `list`; throws PeerError. */
export async function askReplicate(client: NodeClient, peer: PeerDevice, part: number, list: string[] = []): Promise<ReplicateAnswer> {
  let path = `${REPLICATE_PREFIX}${encodeURIComponent(peer.device)}/${part}`;
  if (list.length) path += `?list=${list.join(',')}`;
  let r;
  try {
    r = await client.fetchText({ host: peer.ip, port: peer.port, method: 'POST', path, timeoutMs: REPLICATE_TIMEOUT_MS });
  } catch (e) {
    throw new PeerError(`REPLICATE ${peer.ip}:${peer.port}/${peer.device}/${part}: ${(e as Error).message}`);
  }
  if (r.status !== 200) throw new PeerError(`REPLICATE ${peer.ip}:${peer.port}/${peer.device}/${part}: status ${r.status}`, r.status);
  try {
    const a = JSON.parse(r.text) as ReplicateAnswer;
    return { hashes: a.hashes ?? {}, listings: a.listings ?? {} };
  } catch {
    throw new PeerError(`REPLICATE ${peer.ip}:${peer.port}: answer is not JSON`);
  }
}
