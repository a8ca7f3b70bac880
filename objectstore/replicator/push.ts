/**
 * Sends one object's live files to a peer with the normal node object protocol, keeping the
 * ORIGINAL timestamp and metadata: a `.data` as a PUT (the peer checks the body against the
 * stored ETag, so a corrupt local copy is never spread; marked H_REPLICATION so a newer `.meta`
 * on the peer does not refuse it), a `.ts` as a DELETE, a `.meta` as a POST. No container target is sent, so a replication push never touches container listings.
 * A peer that already has the same or a newer version answers 409, which counts as done.
 */
import { closeSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type http from 'node:http';
import type { NodeClient } from '../node/node-client.js';
import { openStoredFile, readObjectBody, SYNC_IO_BYTES, type DiskMetadata, type OpenObject } from '../node/diskfile.js';
import {
  encodeJsonHeader, H_CONTENT_LENGTH, H_EXPECTED_ETAG, H_METADATA, H_REPLICATION, nodePath, type WireMetadata,
} from '../node/protocol.js';
import { PeerError, type PeerDevice } from './replicate-protocol.js';
import type { LiveState } from './suffix-hashes.js';

/** A push gives up when the peer is silent this long. */
export const PUSH_IDLE_TIMEOUT_MS = 60_000;
/** The status a node answers when a body does not match its declared ETag. */
const CHECKSUM_MISMATCH_STATUS = 422;

/** The local file is damaged (unreadable footer, or its body does not match its ETag). */
export class LocalFileCorrupt extends Error {}

/** Splits a stored name "/account/container/object" (the object may hold '/'). */
export function splitName(name: string): { account: string; container: string; object: string } {
  const i = name.indexOf('/', 1);
  const j = i < 0 ? -1 : name.indexOf('/', i + 1);
  if (!name.startsWith('/') || i < 0 || j < 0 || j === name.length - 1) throw new LocalFileCorrupt(`bad stored name ${JSON.stringify(name)}`);
  return { account: name.slice(1, i), container: name.slice(i + 1, j), object: name.slice(j + 1) };
}

/** Opens a live file (node/diskfile.ts openStoredFile); a footer that cannot be read is LocalFileCorrupt. */
function openWithFooter(path: string): OpenObject {
  let f: OpenObject;
  try {
    f = openStoredFile(path);
  } catch (e) {
    const syscall = (e as NodeJS.ErrnoException).syscall;
    if (syscall === 'open' || syscall === 'fstat') throw e;
    throw new LocalFileCorrupt(`${path}: ${(e as Error).message}`);
  }
  if (typeof f.meta.name !== 'string') {
    closeSync(f.fd);
    throw new LocalFileCorrupt(`${path}: footer has no name`);
  }
  return f;
}

function wireOf(m: DiskMetadata): WireMetadata {
  return { contentType: m.contentType, meta: m.meta ?? {}, headers: m.headers ?? {} };
}

/**
 * Sends one request with an optional body from a file; resolves with the status. A small body
 * (up to SYNC_IO_BYTES) is read at once and sent with the head; a larger one is streamed.
 */
async function send(client: NodeClient, peer: PeerDevice, method: string, path: string, timestamp: string,
  headers: Record<string, string>, body?: { fd: number; size: number }): Promise<number> {
  const whole = body && body.size > 0 && body.size <= SYNC_IO_BYTES ? await readObjectBody(body.fd, body.size) : undefined;
  const req = client.open({
    host: peer.ip, port: peer.port, method, path, timestamp,
    headers: { ...headers, 'content-length': String(body?.size ?? 0) },
  });
  req.setTimeout(PUSH_IDLE_TIMEOUT_MS, () => req.destroy(new Error('peer timed out')));
  const answer = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  answer.catch(() => undefined);
  let sent: Promise<unknown> = Promise.resolve();
  if (body && body.size > SYNC_IO_BYTES) {
    const stream = createReadStream('', { fd: body.fd, start: 0, end: body.size - 1, autoClose: false });
    // A peer may answer (409) before reading the body and close: the answer decides.
    sent = pipeline(stream, req).catch(() => undefined);
  } else {
    req.end(whole);
  }
  try {
    const res = await answer;
    res.resume();
    await sent;
    return res.statusCode ?? 0;
  } catch (e) {
    throw new PeerError(`${method} ${peer.ip}:${peer.port}${path}: ${(e as Error).message}`);
  }
}

function accepted(status: number): boolean {
  return (status >= 200 && status < 300) || status === 409;
}

/**
 * Pushes `what` of the object in `hashDir` (live files `live`) to the peer's device, in order
 * (data or tombstone first, then the metadata update). Returns the number of files sent.
 * Throws LocalFileCorrupt when the local copy is damaged, PeerError when the peer failed.
 */
export async function pushObject(client: NodeClient, peer: PeerDevice, part: number, hashDir: string, live: LiveState,
  what: Array<'data' | 'ts' | 'meta'>): Promise<number> {
  let sent = 0;
  for (const kind of what) {
    const ts = kind === 'data' ? live.data : kind === 'ts' ? live.ts : live.meta;
    if (!ts) continue;
    const f = openWithFooter(join(hashDir, `${ts}.${kind}`));
    let status: number;
    let path = '';
    try {
      const { account, container, object } = splitName(f.meta.name);
      path = nodePath('obj', peer.device, part, account, container, object);
      if (kind === 'data') {
        status = await send(client, peer, 'PUT', path, ts, {
          [H_METADATA]: encodeJsonHeader(wireOf(f.meta)),
          [H_CONTENT_LENGTH]: String(f.bodySize),
          [H_EXPECTED_ETAG]: f.meta.etag,
          [H_REPLICATION]: '1',
        }, { fd: f.fd, size: f.bodySize });
        if (status === CHECKSUM_MISMATCH_STATUS) throw new LocalFileCorrupt(`${hashDir}/${ts}.data: body does not match its ETag`);
      } else if (kind === 'ts') {
        status = await send(client, peer, 'DELETE', path, ts, {});
        if (status === 404) status = 204; // the tombstone is written even when the peer had nothing
      } else {
        status = await send(client, peer, 'POST', path, ts, { [H_METADATA]: encodeJsonHeader(wireOf(f.meta)) });
      }
    } finally {
      closeSync(f.fd);
    }
    if (!accepted(status)) throw new PeerError(`${kind} push to ${peer.ip}:${peer.port}${path} got ${status}`, status);
    sent++;
  }
  return sent;
}
