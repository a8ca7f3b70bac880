/**
 * Listing updates from object nodes to container nodes, and the async_pending queue that
 * keeps them when the container node cannot be reached (Swift's object updater idea).
 *
 * After an object write lands, its node sends the listing row (PUT or DELETE of
 * /cont/<dev>/<part>/a/c/o) to the container node the proxy named. If that fails, the update
 * is written durably to `<device>/async_pending/` before the object write is acknowledged,
 * and the updater loop replays it until a container node accepts it (or reports the
 * container gone), so no update is ever lost.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ObjectRow } from './container-db.js';
import { encodeJsonHeader, H_ROW, H_TIMESTAMP, nodePath } from './protocol.js';
import type { NodeClient } from './node-client.js';

export const ASYNC_DIR = 'async_pending';
/** How long the object write waits for the container node before queueing the update. */
export const CONTAINER_UPDATE_TIMEOUT_MS = 2000;

/** A container node that holds the listing: `ip:port/device/partition`. */
export interface Target {
  host: string;
  port: number;
  device: string;
  part: number;
}

export function formatTarget(t: Target): string {
  return `${t.host}:${t.port}/${encodeURIComponent(t.device)}/${t.part}`;
}

export function parseTarget(s: string): Target | undefined {
  const m = /^([^/]+):(\d+)\/([^/]+)\/(\d+)$/.exec(s);
  if (!m) return undefined;
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(m[2]), device: decodeURIComponent(m[3]!), part: Number(m[4]) };
}

export interface PendingUpdate {
  target: Target;
  account: string;
  container: string;
  object: string;
  row: ObjectRow;
}

/** Sends one row; resolves to the HTTP status, rejects on network failure or timeout. */
export async function sendRow(client: NodeClient, u: PendingUpdate, timeoutMs = CONTAINER_UPDATE_TIMEOUT_MS): Promise<number> {
  const path = nodePath('cont', u.target.device, u.target.part, u.account, u.container, u.object);
  const res = await client.request({
    host: u.target.host, port: u.target.port, method: u.row.deleted ? 'DELETE' : 'PUT', path,
    timestamp: u.row.ts, headers: { [H_ROW]: encodeJsonHeader(u.row) }, timeoutMs,
  });
  res.body.resume();
  return res.status;
}

/** True when the container node took the row or will never want it (container gone). */
export function finalStatus(status: number): boolean {
  return (status >= 200 && status < 300) || status === 404;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Durably queues an update in `<devicePath>/async_pending`. */
export async function savePending(devicePath: string, u: PendingUpdate): Promise<void> {
  const dir = join(devicePath, ASYNC_DIR);
  await mkdir(dir, { recursive: true });
  const name = `${u.row.ts}-${randomBytes(6).toString('hex')}.json`;
  const tmp = join(devicePath, 'tmp', `${name}.tmp`);
  await mkdir(join(devicePath, 'tmp'), { recursive: true });
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(u));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

/** Replays the queued updates of one device; returns how many were delivered. */
export async function replayPending(client: NodeClient, devicePath: string): Promise<number> {
  const dir = join(devicePath, ASYNC_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let done = 0;
  for (const n of names.sort()) {
    if (!n.endsWith('.json')) continue;
    const file = join(dir, n);
    let u: PendingUpdate;
    try {
      u = JSON.parse(await readFile(file, 'utf8')) as PendingUpdate;
    } catch {
      continue;
    }
    try {
      if (finalStatus(await sendRow(client, u))) {
        await unlink(file);
        done++;
      }
    } catch {
      // Container node still unreachable: keep it for the next pass.
    }
  }
  return done;
}
