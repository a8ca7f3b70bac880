/**
 * The wire protocol between the proxy and the storage nodes, in one place both sides import:
 * URL layout, header names, the X-Timestamp format and name validation.
 *
 * URLs: `/<kind>/<device>/<partition>/<account>[/<container>[/<object>]]` where kind is
 *   - `obj`  object data (PUT/GET/HEAD/POST/DELETE of /a/c/o),
 *   - `cont` container databases (PUT/HEAD/GET(listing)/POST/DELETE of /a/c, and
 *            PUT/DELETE of /a/c/o = a listing row sent by an object node),
 *   - `acct` account databases (PUT/HEAD/GET(listing)/POST of /a, PUT of /a/c = a container
 *            row with its stats sent by a container node).
 * Each name is one path segment, percent-encoded with encodeURIComponent (so '/' inside an
 * object name is %2F), which makes parsing unambiguous.
 */
import { BadRequest, TooLarge } from '../common/errors.js';

export type NodeKind = 'obj' | 'cont' | 'acct';

export const H_TIMESTAMP = 'x-timestamp';
/** Object/row metadata: encodeURIComponent(JSON) of { contentType, meta, headers }. */
export const H_METADATA = 'x-ringstack-metadata';
/** Declared body length of an object PUT (the body itself travels chunked). */
export const H_CONTENT_LENGTH = 'x-ringstack-content-length';
/** The client's MD5 for the body, if it gave one. */
export const H_EXPECTED_ETAG = 'x-ringstack-expected-etag';
/**
 * The MD5 the proxy computed (a header with a small body, a trailer after a streamed one).
 * The node compares its own, except when H_PROXY_HASHES says the proxy hashes for it.
 */
export const T_ETAG = 'x-ringstack-etag';
/**
 * Set ("1") by the proxy on a streamed PUT: it hashes the body once on the way and sends the
 * MD5 in the T_ETAG trailer, which the node stores without hashing the body itself (one MD5
 * pass per object instead of one per replica). Bytes a node stored wrongly are still caught:
 * every whole-object GET and the auditor check them against that MD5.
 */
export const H_PROXY_HASHES = 'x-ringstack-proxy-hashes';
/** Where an object node sends its listing update: `ip:port/device/partition`. */
export const H_CONTAINER_TARGET = 'x-ringstack-container-target';
/** Set on node responses: the timestamp of what the node holds (also on 404 of a tombstone). */
export const H_BACKEND_TIMESTAMP = 'x-backend-timestamp';
export const H_ETAG = 'etag';
/**
 * Set ("1") by the replicator on the PUTs it pushes: the newest-wins check then compares with the
 * newest `.data`/`.ts` only, so a body newer than the node's older body lands even when a
 * `.meta` newer than both is there (a node that missed a PUT but got the POST after it); the
 * `.meta` stays and applies to the new body.
 */
export const H_REPLICATION = 'x-ringstack-replication';
/**
 * The `Upgrade` token of a large replica PUT whose body follows the head unframed (the
 * proxy's raw-put-client.ts, the node's raw-put.ts): the node answers `100 Continue` with
 * H_RAW_BODY, takes exactly H_CONTENT_LENGTH bytes, then a trailer block, answers and closes.
 */
export const RAW_BODY_PROTOCOL = 'ringstack-raw-body/1';
/** On a node's `100 Continue` to a raw-body PUT: it takes the body unframed (older nodes lack it). */
export const H_RAW_BODY = 'x-ringstack-raw-body';
/** Row payload for container/account row updates (encodeURIComponent(JSON)). */
export const H_ROW = 'x-ringstack-row';

/** A node answers this (421 Misdirected Request) for a device it does not have. */
export const UNKNOWN_DEVICE_STATUS = 421;

export const MAX_OBJECT_NAME_BYTES = 1024;
export const MAX_CONTAINER_NAME_BYTES = 256;
export const MAX_ACCOUNT_NAME_BYTES = 256;
/** Largest single object body, like Swift's max_file_size (5 GiB). */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** Largest metadata header (JSON), bytes. */
export const MAX_METADATA_BYTES = 64 * 1024;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const DEVICE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** Swift's `%016.05f` of a time in milliseconds. */
export function formatTimestamp(ms: number): string {
  return (ms / 1000).toFixed(5).padStart(16, '0');
}

export function isTimestamp(s: string | undefined): s is string {
  return typeof s === 'string' && /^\d{10}\.\d{5}$/.test(s);
}

/** Milliseconds since the epoch of an X-Timestamp. */
export function timestampMs(ts: string): number {
  return Math.round(Number(ts) * 1000);
}

/**
 * Hands out strictly increasing X-Timestamps (10 µs steps), so two writes through the same
 * proxy never tie even within one millisecond.
 */
export class TimestampClock {
  private last = 0;
  next(): string {
    let t = Math.round(Date.now() * 100); // units of 10 µs
    if (t <= this.last) t = this.last + 1;
    this.last = t;
    return (t / 100000).toFixed(5).padStart(16, '0');
  }
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Throws BadRequest/TooLarge unless the names are valid (see backend.ts conventions). */
export function checkNames(account: string, container?: string, object?: string): void {
  const check = (what: string, v: string, max: number, slashOk: boolean) => {
    if (v.length === 0) throw new BadRequest(`${what} name is empty`);
    if (v.includes('\0')) throw new BadRequest(`${what} name contains a NUL character`);
    if (!slashOk && v.includes('/')) throw new BadRequest(`${what} name contains '/'`);
    if (LONE_SURROGATE.test(v)) throw new BadRequest(`${what} name is not valid UTF-8`);
    if (byteLength(v) > max) throw new TooLarge(`${what} name is longer than ${max} bytes`);
  };
  check('account', account, MAX_ACCOUNT_NAME_BYTES, false);
  if (container !== undefined) check('container', container, MAX_CONTAINER_NAME_BYTES, false);
  if (object !== undefined) check('object', object, MAX_OBJECT_NAME_BYTES, true);
}

export function checkDevice(device: string): void {
  if (!DEVICE_RE.test(device)) throw new BadRequest(`bad device name "${device}"`);
}

export function nodePath(kind: NodeKind, device: string, part: number, account: string,
  container?: string, object?: string): string {
  let p = `/${kind}/${encodeURIComponent(device)}/${part}/${encodeURIComponent(account)}`;
  if (container !== undefined) p += `/${encodeURIComponent(container)}`;
  if (object !== undefined) p += `/${encodeURIComponent(object)}`;
  return p;
}

export interface ParsedNodePath {
  kind: NodeKind;
  device: string;
  part: number;
  account: string;
  container?: string;
  object?: string;
  query: URLSearchParams;
}

/** Parses and validates a node URL; throws BadRequest/TooLarge for anything malformed. */
export function parseNodePath(url: string): ParsedNodePath {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const segs = path.split('/');
  if (segs[0] !== '' || segs.length < 5 || segs.length > 7) throw new BadRequest('bad path');
  const kind = segs[1];
  if (kind !== 'obj' && kind !== 'cont' && kind !== 'acct') throw new BadRequest('bad path');
  let dec: string[];
  try {
    dec = segs.slice(2).map((s) => decodeURIComponent(s));
  } catch {
    throw new BadRequest('bad percent-encoding in path');
  }
  const [device, partS, account, container, object] = dec as [string, string, string, string?, string?];
  checkDevice(device);
  if (device === '.' || device === '..') throw new BadRequest('bad device name');
  if (!/^\d{1,10}$/.test(partS)) throw new BadRequest(`bad partition "${partS}"`);
  checkNames(account, container, object);
  return { kind, device, part: Number(partS), account, container, object, query };
}

export interface WireMetadata {
  contentType: string;
  meta: Record<string, string>;
  headers: Record<string, string>;
}

export function encodeJsonHeader(v: unknown): string {
  return encodeURIComponent(JSON.stringify(v));
}

export function decodeJsonHeader<T>(v: string | string[] | undefined, what: string): T | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) || v.length > MAX_METADATA_BYTES * 3) throw new BadRequest(`bad ${what} header`);
  try {
    return JSON.parse(decodeURIComponent(v)) as T;
  } catch {
    throw new BadRequest(`bad ${what} header`);
  }
}
