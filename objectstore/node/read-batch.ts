/**
 * Small GETs and their version checks, several in one request per storage node.
 *
 * A GET reads the body from one replica and asks the rest of the majority only which version
 * they hold (replicated-backend.ts, readNewest). Sent one by one, a 4 KiB GET was two node
 * requests, and a request costs a node about 0.1 ms of CPU before it touches the disk (HTTP,
 * sockets, wake-ups) against about 0.03 ms for the version check itself. Under load many GETs
 * ask the same node at once, so reads wait in a queue per node and go together (node-batches.ts):
 * the first read of an idle node goes out on the event loop's next turn (with every read queued
 * during this turn), later ones wait until the batch in flight has its answer. Nothing waits for
 * a timer, so a lone GET is not delayed.
 *
 * Wire: `POST /reads` (HMAC-signed like every node request), JSON body
 * `{ reads: [[path, 'GET' | 'HEAD'], ...] }`, each path a node object path
 * (`/obj/<dev>/<part>/<a>/<c>/<o>`, as protocol.ts's nodePath makes it). The answer
 * (`application/octet-stream`, framed by batch-wire.ts) is a 4-byte big-endian length, that
 * many bytes of JSON `{ answers: [[status, headers, bodyBytes], ...] }`, then the included
 * bodies one after the other. Each status is the one a single request of that path would have
 * had (200, 404, 400 bad path or partition, 421 unknown device, 507, 500 corrupt or failed).
 * A HEAD's headers hold its `X-Backend-Timestamp` alone, named by the hash dir's file names: no
 * file is opened, so a damaged copy is found by the GET that reads it (the proxy then asks the
 * other replicas for that version), as a damaged body always was. A GET's headers are those of
 * a single GET; its body is included when it is at most MAX_BATCHED_BODY_BYTES (verified first,
 * as a single GET verifies a small body); a larger one answers bodyBytes -1 and is read with its
 * own request (streamed, as before). A batch that fails as a whole answers status 0 for each
 * read (the caller asks another node, as for a dead node); a node that does not know the route
 * (an older version, mid-upgrade) gets each read as its own request.
 */
import type http from 'node:http';
import type { NodeClient } from './node-client.js';
import { frameBatch, postBatch, sendBatch, unframeBatch } from './batch-wire.js';
import { NodeBatches } from './node-batches.js';

export const READS_PATH = '/reads';
/** Reads in one request at most. */
export const MAX_READS_PER_BATCH = 256;
/** Bodies up to this size travel in a batch; larger ones get a request of their own. */
export const MAX_BATCHED_BODY_BYTES = 64 * 1024;
/** bodyBytes of a GET whose body was left out (larger than MAX_BATCHED_BODY_BYTES). */
export const BODY_NOT_INCLUDED = -1;

/** One read's answer: status and headers as a single request would have had them, and the body. */
export interface ReadAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** A GET's body when it came in the batch. */
  body?: Buffer;
  /** A GET whose body did not come (too large, or a node without batches): ask alone. */
  askAlone?: boolean;
}

/** What a node puts in a batch for one read. */
export interface BatchedRead {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
  /** A GET whose body is too large to be batched. */
  bodyLeftOut?: boolean;
}

type Method = 'GET' | 'HEAD';

interface Read {
  path: string;
  method: Method;
}

const NO_ANSWER: ReadAnswer = { status: 0, headers: {} };

export class ReadBatcher {
  private readonly batches: NodeBatches<Read, ReadAnswer>;

  /** `single` sends one HEAD the old way: for nodes that refuse a batch. */
  constructor(private readonly client: NodeClient, private readonly timeoutMs: number,
    private readonly single: (host: string, port: number, path: string) => Promise<ReadAnswer>) {
    this.batches = new NodeBatches({
      maxPerBatch: MAX_READS_PER_BATCH, maxInFlight: 2, nextTurn: true,
      send: (host, port, reads) => sendBatch(reads, (rs) => this.post(host, port, rs),
        (r) => (r.method === 'HEAD' ? this.single(host, port, r.path) : { status: 0, headers: {}, askAlone: true }), NO_ANSWER),
    });
  }

  /** A GET or HEAD of `path` at that node in its next batch; status 0 when the node did not answer. */
  read(host: string, port: number, path: string, method: Method): Promise<ReadAnswer> {
    return this.batches.add(host, port, { path, method });
  }

  private async post(host: string, port: number, reads: Read[]): Promise<ReadAnswer[]> {
    const answer = await postBatch(this.client, {
      host, port, path: READS_PATH, contentType: 'application/json',
      body: JSON.stringify({ reads: reads.map((r) => [r.path, r.method]) }), timeoutMs: this.timeoutMs,
    });
    return decodeAnswers(answer, reads.length);
  }
}

/** The answer body of a batch, as the node sends it. */
export function encodeAnswers(reads: BatchedRead[]): Buffer {
  const answers = reads.map((r) => [r.status, r.headers, r.bodyLeftOut ? BODY_NOT_INCLUDED : r.body?.length ?? 0]);
  return frameBatch({ answers }, reads.flatMap((r) => (r.body && !r.bodyLeftOut ? [r.body] : [])));
}

function decodeAnswers(buf: Buffer, count: number): ReadAnswer[] {
  const framed = unframeBatch(buf);
  const answers = (framed?.json as { answers?: unknown } | null | undefined)?.answers;
  if (!framed || !Array.isArray(answers) || answers.length !== count) throw new Error('bad read batch answer');
  let at = framed.bodiesAt;
  const out = answers.map((a): ReadAnswer => {
    const [status, headers, bytes] = Array.isArray(a) ? a : [];
    const h = (typeof headers === 'object' && headers !== null ? headers : {}) as http.IncomingHttpHeaders;
    const n = Number(bytes);
    if (n === BODY_NOT_INCLUDED) return { status: Number(status) || 0, headers: h, askAlone: true };
    if (!Number.isSafeInteger(n) || n < 0 || at + n > buf.length) throw new Error('bad read batch answer');
    const body = buf.subarray(at, at + n);
    at += n;
    return { status: Number(status) || 0, headers: h, body };
  });
  if (at !== buf.length) throw new Error('bad read batch answer');
  return out;
}

/** The reads of a `/reads` request body, or undefined when it is not one. */
export function batchReads(body: unknown): Array<[string, Method]> | undefined {
  const reads = (body as { reads?: unknown } | null)?.reads;
  if (!Array.isArray(reads) || reads.length > MAX_READS_PER_BATCH) return undefined;
  for (const r of reads) {
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'string' || (r[1] !== 'GET' && r[1] !== 'HEAD')) return undefined;
  }
  return reads as Array<[string, Method]>;
}
