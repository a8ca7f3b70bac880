/**
 * Streams one object body to several storage nodes at once (Swift's PUT path).
 *
 * 1. Open a PUT with `Expect: 100-continue` to each primary; a node that fails, times out or
 *    refuses (507, 404 unknown device, 5xx) is replaced by the next handoff. A 409 (the node
 *    already holds something newer) is remembered, not replaced.
 * 2. Stream: every chunk goes to every live node; when any node's socket buffer is full we
 *    wait for it to drain (the slowest replica paces the upload, memory stays flat). The
 *    length is counted on the way and the MD5 computed beside it, off the event loop when the
 *    addon is there (common/body-md5.ts: the bodies of concurrent uploads hashed together; a
 *    chunk is hashed after it was written, so chunks are never reused). A node failing
 *    mid-body is dropped; the upload goes on while a majority remains.
 * 3. End: the proxy hashed the body once on the way (H_PROXY_HASHES) and sends the MD5 to
 *    every node in a trailer; a node stores it with the bytes and answers 201 with it only once
 *    they are fsynced. Success needs a majority of 201s carrying that MD5. One MD5 pass per
 *    object instead of one per replica (Swift's object servers each hash): on 2 cores the three
 *    node passes were the largest user-space cost of a large PUT. A client's Content-MD5/ETag
 *    is checked here before the trailers go (a mismatch aborts every replica: nothing is
 *    stored) and again by the nodes (422).
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import { bodyMd5 } from '../common/body-md5.js';
import { ChecksumMismatch, IncompleteBody, QuorumNotReached, TooLarge } from '../common/errors.js';
import type { NodeClient } from '../node/node-client.js';
import { RawPutRequest } from './raw-put-client.js';
import { H_BACKEND_TIMESTAMP, H_CONTAINER_TARGET, H_PROXY_HASHES, H_TIMESTAMP, MAX_OBJECT_BYTES, T_ETAG } from '../node/protocol.js';
import { MAX_BATCHED_WRITE_BYTES, type WriteBatcher } from '../node/write-batch.js';

/** How long a node may take to say 100 Continue, or to drain, before it is given up. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
/**
 * Once a majority has stored the object, how long to wait for the other replicas before
 * answering (Swift's post_quorum_timeout, 0.5 s); a hung replica then finishes on its own.
 * Normally every replica answers well within it; one that has not by then has its listing rows
 * relayed by one that has (FanoutResult.rowsOwed).
 */
export const POST_QUORUM_GRACE_MS = 1000;
/** Bytes queued per replica connection before the upload waits for it to drain. */
export const REPLICA_BUFFER_BYTES = 1024 * 1024;

export interface FanoutNode {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

/**
 * What the fan-out uses of a replica request: an http.ClientRequest (chunked framing) or a
 * RawPutRequest (raw-put-client.ts: the body unframed, for large bodies of known length).
 */
interface ReplicaRequest {
  write(b: Buffer): boolean;
  readonly writableLength: number;
  readonly writableFinished: boolean;
  addTrailers(t: Record<string, string>): void;
  end(): void;
  destroy(err?: Error): void;
  flushHeaders(): void;
  on(event: 'response', listener: (r: http.IncomingMessage) => void): unknown;
  on(event: 'error' | 'continue' | 'drain', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

interface Conn {
  node: FanoutNode;
  req: ReplicaRequest;
  dead: boolean;
  response?: Promise<{ status: number; headers: http.IncomingHttpHeaders }>;
  deathWaiters: Array<() => void>;
}

export interface FanoutResult {
  etag: string;
  length: number;
  /** Nodes that answered 201 with the same ETag. */
  successes: number;
  /** Those nodes. */
  storedOn: FanoutNode[];
  /**
   * Container targets whose listing row was given to a replica that did not store the object
   * (or had not answered when the write was acknowledged): rows-owed.ts sends them through a
   * node in `storedOn`.
   */
  rowsOwed: string[];
}

/** The container targets replica `slot` of `slots` names: each target goes to exactly one replica. */
export function targetsOfSlot(targets: string[], slot: number, slots: number): string[] {
  return targets.filter((_, j) => j % slots === slot);
}

/** The container targets named by the replicas that did not store the write (`stored[i]`: replica i of `stored.length`). */
export function targetsOwed(targets: string[], stored: boolean[]): string[] {
  return targets.filter((_, j) => !stored[j % stored.length]);
}

type OpenResult = { ok: true; conn: Conn } | { ok: false; status: number; timestamp?: string };

/**
 * Bodies of at least this many bytes, of known length, go to the nodes unframed
 * (raw-put-client.ts) unless RINGSTACK_RAW_BODY=0: below it, the connection of its own that
 * each costs is more than node:http's framing.
 */
export const RAW_BODY_MIN_BYTES = 1024 * 1024;

function useRawBodies(contentLength: number | undefined): boolean {
  return contentLength !== undefined && contentLength >= RAW_BODY_MIN_BYTES && process.env.RINGSTACK_RAW_BODY !== '0';
}

function openConn(client: NodeClient, node: FanoutNode, timestamp: string, timeoutMs: number, raw: boolean): Promise<OpenResult> {
  return new Promise((resolve) => {
    let req: ReplicaRequest;
    if (raw) {
      const r = new RawPutRequest({
        host: node.host, port: node.port, path: node.path,
        headers: { ...client.signedHeaders('PUT', node.path, timestamp), ...node.headers, [H_PROXY_HASHES]: '1' },
      });
      // A node of an older version: the same node again, with chunked framing.
      r.once('unsupported', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(openConn(client, node, timestamp, timeoutMs, false));
      });
      req = r;
    } else {
      req = client.open({
        host: node.host, port: node.port, method: 'PUT', path: node.path, timestamp,
        headers: {
          ...node.headers, expect: '100-continue', 'transfer-encoding': 'chunked', [H_PROXY_HASHES]: '1',
          trailer: `${H_CONTAINER_TARGET}, ${T_ETAG}`,
        },
      });
    }
    const conn: Conn = { node, req, dead: false, deathWaiters: [] };
    let settled = false;
    const timer = setTimeout(() => {
      if (!settled) {
        settled = true;
        req.destroy();
        resolve({ ok: false, status: 0 });
      }
    }, timeoutMs);
    const die = () => {
      conn.dead = true;
      for (const w of conn.deathWaiters.splice(0)) w();
    };
    conn.response = new Promise((res) => {
      req.on('response', (r: http.IncomingMessage) => {
        r.resume();
        const out = { status: r.statusCode ?? 0, headers: r.headers };
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve({ ok: false, status: out.status, timestamp: r.headers[H_BACKEND_TIMESTAMP] as string | undefined });
        }
        // A response before we finished sending means the node gave up on this body.
        if (!req.writableFinished) die();
        r.on('end', () => res(out));
        r.on('error', () => res({ status: 0, headers: {} }));
      });
      req.on('error', () => {
        die();
        res({ status: 0, headers: {} });
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          resolve({ ok: false, status: 0 });
        }
      });
    });
    req.on('continue', () => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ ok: true, conn });
      }
    });
    req.flushHeaders();
  });
}

/**
 * Connects to `want` nodes taken in order from `nodes` (primaries first, then handoffs).
 * Returns the open connections and the 409 timestamps seen.
 */
async function connectAll(client: NodeClient, nodes: Iterator<FanoutNode>, want: number, timestamp: string,
  timeoutMs: number, raw: boolean): Promise<{ conns: Conn[]; conflicts: string[] }> {
  const conns: Conn[] = [];
  const conflicts: string[] = [];
  const worker = async () => {
    for (;;) {
      const n = nodes.next();
      if (n.done) return;
      const r = await openConn(client, n.value, timestamp, timeoutMs, raw);
      if (r.ok) {
        conns.push(r.conn);
        return;
      }
      if (r.status === 409) {
        conflicts.push(r.timestamp ?? '');
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: want }, worker));
  return { conns, conflicts };
}

function waitDrain(c: Conn, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (c.dead) return resolve();
    const done = () => {
      clearTimeout(timer);
      c.req.off('drain', done);
      resolve();
    };
    const timer = setTimeout(() => {
      c.req.destroy(new Error('node too slow'));
      done();
    }, timeoutMs);
    c.req.once('drain', done);
    c.deathWaiters.push(done);
  });
}

type Reply = { status: number; headers: http.IncomingHttpHeaders };

/** The ETag that at least `quorum` of the 201 replies carry, if any. */
function agreedEtag(replies: Reply[], quorum: number): string | undefined {
  const votes = new Map<string, number>();
  for (const r of replies) {
    const etag = r.headers.etag;
    if (r.status !== 201 || typeof etag !== 'string' || etag === '') continue;
    const n = (votes.get(etag) ?? 0) + 1;
    votes.set(etag, n);
    if (n >= quorum) return etag;
  }
  return undefined;
}

/**
 * Every node's reply, except that once `quorum` nodes stored the same ETag, the others get
 * only `graceMs` more (a missing reply counts as no success).
 */
function quorumResponses(conns: Conn[], quorum: number, graceMs: number): Promise<Reply[]> {
  return new Promise((resolve) => {
    const replies: Array<Reply | undefined> = conns.map(() => undefined);
    let pending = conns.length;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      resolve(replies.map((r) => r ?? { status: 0, headers: {} }));
    };
    if (pending === 0) return finish();
    conns.forEach((c, i) => {
      void c.response!.then((r) => {
        replies[i] = r;
        pending--;
        if (pending === 0) return finish();
        if (!timer && agreedEtag(replies.filter((x): x is Reply => x !== undefined), quorum) !== undefined) {
          timer = setTimeout(finish, graceMs);
        }
      });
    });
  });
}

export class ConflictNewer extends Error {
  constructor(readonly timestamps: string[]) {
    super('replicas hold a newer version');
  }
}

/**
 * Streams `body` to `replicas` nodes from `nodes`; resolves when a majority stored it.
 * Throws QuorumNotReached, ConflictNewer, IncompleteBody, ChecksumMismatch or TooLarge.
 */
export async function fanoutPut(client: NodeClient, opts: {
  nodes: Iterator<FanoutNode>;
  replicas: number;
  timestamp: string;
  body: Readable;
  contentLength?: number;
  connectTimeoutMs?: number;
  writeTimeoutMs?: number;
  /**
   * Container nodes to send the listing row to. They are shared out over the nodes still
   * live at the end (sent as a trailer), so every container replica gets the row even when
   * an object replica failed (Swift spreads X-Container-Host the same way).
   */
  containerTargets?: string[];
  /** The client's MD5 (lower-case hex), if it gave one. */
  expectedMd5?: string;
  postQuorumMs?: number;
}): Promise<FanoutResult> {
  const quorum = Math.floor(opts.replicas / 2) + 1;
  const { conns, conflicts } = await connectAll(client, opts.nodes, opts.replicas, opts.timestamp,
    opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, useRawBodies(opts.contentLength));
  const abortAll = () => {
    for (const c of conns) c.req.destroy();
  };
  if (conflicts.length >= quorum || (conflicts.length > 0 && conns.length < quorum)) {
    abortAll();
    opts.body.resume();
    throw new ConflictNewer(conflicts);
  }
  if (conns.length < quorum) {
    abortAll();
    opts.body.resume();
    throw new QuorumNotReached(`only ${conns.length} of ${opts.replicas} storage nodes accepted the write`);
  }
  let length = 0;
  const md5 = bodyMd5();
  const limit = opts.contentLength ?? MAX_OBJECT_BYTES;
  const writeTimeout = opts.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  try {
    try {
      for await (const chunk of opts.body) {
        const b = chunk as Buffer;
        length += b.length;
        if (length > limit) {
          throw opts.contentLength === undefined ? new TooLarge('object too large') : new IncompleteBody('body longer than Content-Length');
        }
        const waits: Promise<void>[] = [];
        const hashing = md5.update(b);
        if (hashing) waits.push(hashing);
        for (const c of conns) {
          if (c.dead) continue;
          c.req.write(b);
          // Keep up to REPLICA_BUFFER_BYTES queued per replica (fewer stalls on a busy host);
          // beyond that the slowest replica paces the upload.
          if (c.req.writableLength > REPLICA_BUFFER_BYTES) waits.push(waitDrain(c, writeTimeout));
        }
        if (waits.length) await Promise.all(waits);
        if (conns.filter((c) => !c.dead).length < quorum) {
          throw new QuorumNotReached('storage nodes failed during the upload');
        }
      }
    } catch (e) {
      if (e instanceof QuorumNotReached || e instanceof IncompleteBody || e instanceof TooLarge) throw e;
      throw new IncompleteBody(`client body failed: ${(e as Error).message}`);
    }
    if (opts.contentLength !== undefined && length !== opts.contentLength) {
      throw new IncompleteBody(`body has ${length} bytes, Content-Length says ${opts.contentLength}`);
    }
    const proxyEtag = await md5.digest();
    if (opts.expectedMd5 !== undefined && opts.expectedMd5 !== proxyEtag) {
      throw new ChecksumMismatch('body MD5 differs from the given Content-MD5/ETag');
    }
    const live = conns.filter((c) => !c.dead);
    const targets = opts.containerTargets ?? [];
    // Each container target goes to one live replica (Swift's X-Container-Host spread); the
    // targets of a replica that then fails are owed (FanoutResult.rowsOwed).
    live.forEach((c, i) => {
      const mine = targetsOfSlot(targets, i, live.length);
      c.req.addTrailers(mine.length ? { [H_CONTAINER_TARGET]: mine.join(','), [T_ETAG]: proxyEtag } : { [T_ETAG]: proxyEtag });
      c.req.end();
    });
    const results = await quorumResponses(live, quorum, opts.postQuorumMs ?? POST_QUORUM_GRACE_MS);
    const etag = agreedEtag(results, quorum);
    if (etag !== undefined) {
      const stored = results.map((r) => r.status === 201 && r.headers.etag === etag);
      const storedOn = live.filter((_, i) => stored[i]).map((c) => c.node);
      return { etag, length, successes: storedOn.length, storedOn, rowsOwed: targetsOwed(targets, stored) };
    }
    const newer = results.filter((r) => r.status === 409).map((r) => String(r.headers[H_BACKEND_TIMESTAMP] ?? ''));
    if (newer.length + conflicts.length >= quorum) throw new ConflictNewer([...newer, ...conflicts]);
    if (results.filter((r) => r.status === 422).length >= quorum) {
      throw new ChecksumMismatch('body MD5 differs from the given Content-MD5/ETag');
    }
    const stored = results.filter((r) => r.status === 201).length;
    throw new QuorumNotReached(stored >= quorum
      ? `replicas disagree on the stored body's MD5 (${stored} of ${opts.replicas} stored it)`
      : `only ${stored} of ${opts.replicas} replicas stored the object`);
  } catch (e) {
    md5.discard();
    abortAll();
    opts.body.resume();
    throw e;
  }
}

/** Bodies up to this size are read whole and sent in a write batch to each replica (no 100-continue). */
export const SMALL_OBJECT_BYTES = MAX_BATCHED_WRITE_BYTES;

/** Reads a small body whole, checking its declared length. */
export async function readSmallBody(body: Readable, declared: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body) {
      n += (c as Buffer).length;
      if (n > declared) throw new IncompleteBody('body longer than Content-Length');
      chunks.push(c as Buffer);
    }
  } catch (e) {
    body.resume();
    if (e instanceof IncompleteBody) throw e;
    throw new IncompleteBody(`client body failed: ${(e as Error).message}`);
  }
  if (n !== declared) throw new IncompleteBody(`body has ${n} bytes, Content-Length says ${declared}`);
  return Buffer.concat(chunks, n);
}

/**
 * The small-object write: the whole body goes with the headers in one write per replica, in
 * that node's next write batch (node/write-batch.ts; no 100-continue round trip); a replica
 * that fails is retried on the next handoff from the same buffer, naming the same container
 * targets. Each container target goes to one replica; those of a replica that stored nothing
 * (or had not answered when the write was acknowledged) are returned as owed.
 */
export async function smallPut(writes: WriteBatcher, opts: {
  nodes: Iterator<FanoutNode>;
  replicas: number;
  timestamp: string;
  body: Buffer;
  etag: string;
  containerTargets?: string[];
  postQuorumMs?: number;
}): Promise<FanoutResult> {
  const quorum = Math.floor(opts.replicas / 2) + 1;
  const targets = opts.containerTargets ?? [];
  const replies: Reply[] = [];
  /** The node that stored replica i, once one did. */
  const storedBySlot: Array<FanoutNode | undefined> = [];
  const good = () => storedBySlot.filter((n) => n !== undefined).length;
  const slot = async (i: number): Promise<void> => {
    const mine = targetsOfSlot(targets, i, opts.replicas);
    for (;;) {
      const n = opts.nodes.next();
      if (n.done) return;
      const headers: Record<string, string> = { ...n.value.headers, [H_TIMESTAMP]: opts.timestamp, [T_ETAG]: opts.etag };
      if (mine.length) headers[H_CONTAINER_TARGET] = mine.join(',');
      const r = await writes.write(n.value.host, n.value.port, n.value.path, headers, opts.body);
      if (r.status === 201 || r.status === 409) {
        replies.push(r);
        if (r.status === 201 && r.headers.etag === opts.etag) storedBySlot[i] = n.value;
        return;
      }
      // next node
    }
  };
  await new Promise<void>((resolve) => {
    let left = opts.replicas;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    for (let i = 0; i < opts.replicas; i++) {
      void slot(i).then(() => {
        left--;
        if (left === 0) return done();
        if (good() >= quorum && !timer) timer = setTimeout(done, opts.postQuorumMs ?? POST_QUORUM_GRACE_MS);
      });
    }
  });
  // Read once, here: a replica answering after the grace does not change what is reported.
  const storedOn = storedBySlot.filter((n): n is FanoutNode => n !== undefined);
  const successes = storedOn.length;
  if (successes >= quorum) {
    const stored = Array.from({ length: opts.replicas }, (_, i) => storedBySlot[i] !== undefined);
    return { etag: opts.etag, length: opts.body.length, successes, storedOn, rowsOwed: targetsOwed(targets, stored) };
  }
  const newer = replies.filter((r) => r.status === 409).map((r) => String(r.headers[H_BACKEND_TIMESTAMP] ?? ''));
  if (newer.length >= quorum || (newer.length > 0 && successes + newer.length < quorum)) throw new ConflictNewer(newer);
  throw new QuorumNotReached(`only ${successes} of ${opts.replicas} replicas stored the object`);
}
