/**
 * Object expiry (X-Delete-At / X-Delete-After), after Swift's object expirer: an expiring
 * write stores `x-delete-at` (seconds since the epoch) with the object and files an index
 * entry under the system account `.expiring_objects`, container = the user's account, named
 * `<delete-at, zero-padded>-<md5 of container/object>` so the names sort by time. GET/HEAD of
 * an object past its time answer 404 and remove it; before account and container listings
 * `sweepExpired` deletes every object whose time has come, so listings and counts hide them.
 * The index lives in the store itself, so every proxy sees the same schedule.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectBackend, ObjectInfo } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';
import { PLAIN_TEXT, SwiftError } from './errors.js';

/** System account holding the expiry index (Swift's expiring_objects_account). */
export const EXPIRING_ACCOUNT = '.expiring_objects';
/** Index entries handled per sweep; more wait for the next listing. */
export const SWEEP_BATCH = 1000;
const DELETE_AT_DIGITS = 12;

/** Reads X-Delete-At / X-Delete-After into an absolute time in seconds (400 when invalid). */
export function deleteAtFromHeaders(deleteAt: string | undefined, deleteAfter: string | undefined, nowMs = Date.now()): number | undefined {
  if (deleteAfter !== undefined) {
    if (!/^\d+$/.test(deleteAfter.trim())) throw new SwiftError(400, 'Non-integer X-Delete-After', PLAIN_TEXT);
    return Math.floor(nowMs / 1000 + Number(deleteAfter));
  }
  if (deleteAt !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(deleteAt.trim())) throw new SwiftError(400, 'Non-integer X-Delete-At', PLAIN_TEXT);
    const at = Math.floor(Number(deleteAt));
    if (at * 1000 <= nowMs) throw new SwiftError(400, 'X-Delete-At in past', PLAIN_TEXT);
    return at;
  }
  return undefined;
}

/** The object's expiry in seconds, if it has one. */
export function deleteAtOf(info: ObjectInfo): number | undefined {
  const v = info.headers['x-delete-at'];
  if (!v) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function isExpired(info: ObjectInfo, nowMs = Date.now()): boolean {
  const at = deleteAtOf(info);
  return at !== undefined && at * 1000 <= nowMs;
}

function indexName(deleteAt: number, container: string, object: string): string {
  const digest = createHash('md5').update(`${container}/${object}`).digest('hex');
  return `${String(deleteAt).padStart(DELETE_AT_DIGITS, '0')}-${digest}`;
}

interface IndexEntry {
  container: string;
  object: string;
  deleteAt: number;
}

/** Files an expiring object in the index (after the object itself was written). */
export async function scheduleExpiry(backend: ObjectBackend, account: string, container: string, object: string, deleteAt: number): Promise<void> {
  await backend.putContainer(EXPIRING_ACCOUNT, account);
  const body = Buffer.from(JSON.stringify({ container, object, deleteAt } satisfies IndexEntry));
  await backend.putObject(EXPIRING_ACCOUNT, account, indexName(deleteAt, container, object), {
    body: Readable.from([body]), contentLength: body.length, contentType: 'application/json',
  });
}

async function readEntry(backend: ObjectBackend, account: string, name: string): Promise<IndexEntry | undefined> {
  const { body } = await backend.getObject(EXPIRING_ACCOUNT, account, name);
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as IndexEntry;
  } catch {
    return undefined;
  }
}

/** Deletes the object if it is still expired (it may have been rewritten since). */
export async function reapIfExpired(backend: ObjectBackend, account: string, container: string, object: string, nowMs = Date.now()): Promise<void> {
  try {
    const info = await backend.headObject(account, container, object);
    if (isExpired(info, nowMs)) await backend.deleteObject(account, container, object);
  } catch (err) {
    if (!(err instanceof NotFound)) throw err;
  }
}

/** Deletes the account's objects whose X-Delete-At has passed and drops their index entries. */
export async function sweepExpired(backend: ObjectBackend, account: string, nowMs = Date.now()): Promise<number> {
  const nowSec = Math.floor(nowMs / 1000);
  let page;
  try {
    page = await backend.listObjects(EXPIRING_ACCOUNT, account, {
      endMarker: String(nowSec + 1).padStart(DELETE_AT_DIGITS, '0'), limit: SWEEP_BATCH,
    });
  } catch (err) {
    if (err instanceof NotFound) return 0;
    throw err;
  }
  let reaped = 0;
  for (const e of page.entries) {
    if (!('name' in e)) continue;
    try {
      const entry = await readEntry(backend, account, e.name);
      if (entry) {
        await reapIfExpired(backend, account, entry.container, entry.object, nowMs);
        reaped++;
      }
      await backend.deleteObject(EXPIRING_ACCOUNT, account, e.name);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
  }
  return reaped;
}

/**
 * Sweeps every account that has expiring objects (the containers of `.expiring_objects`).
 * The plugin runs it periodically so expired objects leave the disks even when nobody lists.
 */
export async function sweepAllAccounts(backend: ObjectBackend, nowMs = Date.now()): Promise<number> {
  let reaped = 0;
  let marker: string | undefined;
  for (;;) {
    const page = await backend.listContainers(EXPIRING_ACCOUNT, { marker, limit: SWEEP_BATCH });
    for (const e of page.entries) {
      if (!('name' in e)) continue;
      marker = e.name;
      reaped += await sweepExpired(backend, e.name, nowMs);
    }
    if (!page.truncated || page.entries.length === 0) return reaped;
  }
}
