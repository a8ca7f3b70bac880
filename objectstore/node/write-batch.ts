/**
 * Small PUTs, several in one request per storage node.
 *
 * A 4 KiB PUT is one request to each of three replicas (proxy/put-fanout.ts, smallPut), and a
 * request costs a node about 0.1 ms of CPU before it touches the disk (HTTP parsing, sockets,
 * wake-ups; see read-batch.ts). Under load many PUTs go to the same node at once, so their
 * replica writes wait in a queue per node and go together (node-batches.ts, as the reads do):
 * the first write to an idle node goes on the event loop's next turn with every write queued
 * during that turn, later ones wait for a batch in flight to be answered. Nothing waits for a
 * timer. On the node each write of a batch is the same PUT a single request would have made
 * (server.ts, storeObject): the same checks, the same durability (its small-write log record
 * shares an fdatasync with the writes around it, batched or not), the same listing rows; a
 * batch is answered once every write in it is, each with its own status.
 *
 * Wire: `POST /writes` (HMAC-signed like every node request; the writes inside need no signature
 * of their own). Body (`application/octet-stream`, framed by batch-wire.ts): a 4-byte big-endian
 * length, that many bytes of JSON `{ writes: [[path, headers, bodyBytes], ...] }`, then the bodies
 * one after the other. Each path is a node object path (protocol.ts's nodePath), each headers
 * object the one a single PUT would carry (X-Timestamp, the ETag, metadata, container targets).
 * The answer is JSON `{ answers: [[status, headers], ...] }`: 201 with the ETag and
 * X-Backend-Timestamp, 409 with the newer version's X-Backend-Timestamp, 400, 421 unknown device,
 * 422, 507, 500, as the single request would have had them.
 *
 * A batch that fails as a whole (dead node, timeout) answers status 0 for each write: the
 * caller tries the next handoff, as for a failed single PUT (a write the node stored before the
 * batch failed is one replica more, as when a single PUT's answer is lost).
 * A node that does not know the route (an older version, mid-upgrade) gets each write as its
 * own PUT.
 */
import type http from 'node:http';
import type { NodeClient } from './node-client.js';
import { H_TIMESTAMP } from './protocol.js';
import { frameBatch, postBatch, sendBatch, unframeBatch } from './batch-wire.js';
import { NodeBatches } from './node-batches.js';

export const WRITES_PATH = '/writes';
/** Writes in one request at most. */
export const MAX_WRITES_PER_BATCH = 64;
/** The largest body a batched write may have (larger ones stream, put-fanout.ts). */
export const MAX_BATCHED_WRITE_BYTES = 64 * 1024;
/** A batch's request body at most: the bodies and room for their paths and headers. */
export const MAX_WRITES_BODY_BYTES = MAX_WRITES_PER_BATCH * (MAX_BATCHED_WRITE_BYTES + 16 * 1024);
/** Requests in flight to one node at once (as for reads: two measured best there). */
const MAX_WRITE_BATCHES_IN_FLIGHT = 2;

/** One write as it travels: where, the headers its single PUT would have had, the body. */
export interface BatchedWrite {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A write's answer: status and headers as its single PUT would have had them (0: none came). */
export interface WriteAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

const NO_ANSWER: WriteAnswer = { status: 0, headers: {} };

export class WriteBatcher {
  private readonly batches: NodeBatches<BatchedWrite, WriteAnswer>;

  constructor(private readonly client: NodeClient, private readonly timeoutMs: number) {
    this.batches = new NodeBatches({
      maxPerBatch: MAX_WRITES_PER_BATCH, maxInFlight: MAX_WRITE_BATCHES_IN_FLIGHT, nextTurn: true,
      send: (host, port, writes) => sendBatch(writes, (ws) => this.post(host, port, ws), (w) => this.single(host, port, w), NO_ANSWER),
    });
  }

  /**
   * A PUT of `body` (at most MAX_BATCHED_WRITE_BYTES) at `path` of that node, in its next
   * batch; `headers` must hold X-Timestamp. Status 0 when the node did not answer.
   */
  write(host: string, port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<WriteAnswer> {
    if (body.length > MAX_BATCHED_WRITE_BYTES) throw new RangeError(`a batched write's body is at most ${MAX_BATCHED_WRITE_BYTES} bytes`);
    return this.batches.add(host, port, { path, headers, body });
  }

  private async post(host: string, port: number, writes: BatchedWrite[]): Promise<WriteAnswer[]> {
    const answer = await postBatch(this.client, {
      host, port, path: WRITES_PATH, contentType: 'application/octet-stream', body: encodeWrites(writes), timeoutMs: this.timeoutMs,
    });
    return decodeWriteAnswers(answer.toString('utf8'), writes.length);
  }

  /** The write as its own PUT, for a node without batches. */
  private async single(host: string, port: number, w: BatchedWrite): Promise<WriteAnswer> {
    try {
      const { [H_TIMESTAMP]: timestamp, ...headers } = w.headers;
      const r = await this.client.request({
        host, port, method: 'PUT', path: w.path, timestamp, headers, body: w.body, timeoutMs: this.timeoutMs,
      });
      r.body.resume();
      return { status: r.status, headers: r.headers };
    } catch {
      return NO_ANSWER;
    }
  }
}

/** The request body of a batch. */
export function encodeWrites(writes: BatchedWrite[]): Buffer {
  return frameBatch({ writes: writes.map((w) => [w.path, w.headers, w.body.length]) }, writes.map((w) => w.body));
}

/** The writes of a `/writes` request body, or undefined when it is not one. */
export function decodeWrites(buf: Buffer): BatchedWrite[] | undefined {
  const framed = unframeBatch(buf);
  const writes = (framed?.json as { writes?: unknown } | null | undefined)?.writes;
  if (!framed || !Array.isArray(writes) || writes.length > MAX_WRITES_PER_BATCH) return undefined;
  let at = framed.bodiesAt;
  const out: BatchedWrite[] = [];
  for (const w of writes) {
    if (!Array.isArray(w) || w.length !== 3) return undefined;
    const [path, headers, bytes] = w as unknown[];
    if (typeof path !== 'string' || !isStringRecord(headers)) return undefined;
    if (!Number.isSafeInteger(bytes) || (bytes as number) < 0 || (bytes as number) > MAX_BATCHED_WRITE_BYTES) return undefined;
    const end = at + (bytes as number);
    if (end > buf.length) return undefined;
    out.push({ path, headers, body: buf.subarray(at, end) });
    at = end;
  }
  return at === buf.length ? out : undefined;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** The answer body of a batch, as the node sends it. */
export function encodeWriteAnswers(answers: Array<{ status: number; headers: Record<string, string> }>): string {
  return JSON.stringify({ answers: answers.map((a) => [a.status, a.headers]) });
}

function decodeWriteAnswers(text: string, count: number): WriteAnswer[] {
  const answers = (JSON.parse(text) as { answers?: unknown } | null)?.answers;
  if (!Array.isArray(answers) || answers.length !== count) throw new Error('bad write batch answer');
  return answers.map((a): WriteAnswer => {
    const [status, headers] = Array.isArray(a) ? a : [];
    return { status: Number(status) || 0, headers: (isStringRecord(headers) ? headers : {}) as http.IncomingHttpHeaders };
  });
}
