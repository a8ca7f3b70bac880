/**
 * What the read and write batches (read-batch.ts, write-batch.ts) share on the wire: a body
 * framed as a 4-byte big-endian length, that many bytes of JSON, then raw bodies one after the
 * other (the JSON says how long each is); the POST of one batch, where a 4xx means the node
 * refused the batch as a whole (an older node without the route, or a bad batch); and the
 * sending of a batch, which falls back to single requests when it is refused.
 */
import type { NodeClient } from './node-client.js';
import { formatTimestamp } from './protocol.js';

/** A batch the node refused as a whole (it does not know the route, or the batch is bad). */
export class BatchRefused extends Error {}

/**
 * Sends `items` as one batch (`post`) with the failure rules both batches follow: a batch the
 * node refused (BatchRefused) gets `alone` for each item (a single request, or an answer that
 * says to make one); a batch that failed otherwise (dead node, timeout) answers `none` for each.
 */
export function sendBatch<I, A>(items: I[], post: (items: I[]) => Promise<A[]>,
  alone: (item: I) => A | Promise<A>, none: A): Promise<A[]> {
  return post(items).catch((e) => (e instanceof BatchRefused ? Promise.all(items.map(alone)) : items.map(() => none)));
}

/** `json`, then `bodies`, framed. */
export function frameBatch(json: unknown, bodies: Buffer[]): Buffer {
  const text = Buffer.from(JSON.stringify(json));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(text.length, 0);
  return Buffer.concat([head, text, ...bodies]);
}

/** The JSON of a framed batch and where its bodies start; undefined when it is not one. */
export function unframeBatch(buf: Buffer): { json: unknown; bodiesAt: number } | undefined {
  if (buf.length < 4) return undefined;
  const bodiesAt = 4 + buf.readUInt32BE(0);
  if (bodiesAt > buf.length) return undefined;
  try {
    return { json: JSON.parse(buf.subarray(4, bodiesAt).toString('utf8')), bodiesAt };
  } catch {
    return undefined;
  }
}

/** POSTs one batch and answers the node's whole answer body; BatchRefused on a 4xx. */
export async function postBatch(client: NodeClient, r: {
  host: string; port: number; path: string; contentType: string; body: Buffer | string; timeoutMs: number;
}): Promise<Buffer> {
  const res = await client.request({
    host: r.host, port: r.port, method: 'POST', path: r.path, timestamp: formatTimestamp(Date.now()),
    headers: { 'content-type': r.contentType }, body: r.body, timeoutMs: r.timeoutMs,
  });
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  if (res.status >= 400 && res.status < 500) throw new BatchRefused(`${r.path} batch got ${res.status}`);
  if (res.status !== 200) throw new Error(`${r.path} batch got ${res.status}`);
  return Buffer.concat(chunks);
}
