/**
 * Request bodies of the smart HTTP protocol, as streams: git sends large bodies chunked and
 * may compress them (`Content-Encoding: gzip`). Sizes are counted after decompression, so a
 * small compressed body cannot expand without limit.
 */

import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ProtocolError, PushTooLarge } from './errors.js';

/** After a body went over its limit, at most this many further bytes are read and discarded
 * so that the client can read our answer; beyond that the connection is cut. */
export const DRAIN_CAP_BYTES = 1024 * 1024 * 1024;

/** The body of `raw` decompressed according to its Content-Encoding header. */
export function decodedBody(raw: Readable, contentEncoding: string | undefined): Readable {
  const enc = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return raw;
  if (enc === 'gzip' || enc === 'x-gzip') {
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    return raw.pipe(gunzip);
  }
  throw new ProtocolError(`unsupported Content-Encoding ${JSON.stringify(contentEncoding)}`);
}

/** Reads a whole (small) body into memory; PushTooLarge above `limit` decoded bytes. */
export async function readSmallBody(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PushTooLarge(`request body is larger than ${limit} bytes`, limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads and discards what is left of the raw request so that the client, which is still
 * sending, receives our answer; destroys the request beyond DRAIN_CAP_BYTES.
 */
export async function drainRequest(raw: Readable): Promise<void> {
  if (raw.readableEnded) return;
  let size = 0;
  raw.unpipe();
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_CAP_BYTES) {
        raw.off('data', onData);
        raw.destroy();
        resolve();
      }
    };
    raw.on('data', onData);
    raw.once('end', resolve);
    raw.once('close', resolve);
    raw.once('error', () => resolve());
    raw.resume();
  });
}
