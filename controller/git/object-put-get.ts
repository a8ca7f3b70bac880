/**
 * The two object-store operations the Git backup needs, so this part does not depend on a
 * particular client: the controller wires it to objectstore/client (S3) at start-up.
 * `MemoryObjects` is the in-memory twin used by tests.
 */

import { Readable } from 'node:stream';

export interface ObjectPutGet {
  /** Stores `body` under `key`, replacing any earlier object. Resolves once durable. */
  put(key: string, body: Buffer | Readable): Promise<void>;
  /** The bytes stored under `key`, or null when there is no such object. */
  get(key: string): Promise<Buffer | Readable | null>;
}

/** Collects a body into one buffer. */
export async function bodyToBuffer(body: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** An ObjectPutGet in a Map, for tests and the embedded demo. */
export class MemoryObjects implements ObjectPutGet {
  readonly objects = new Map<string, Buffer>();

  async put(key: string, body: Buffer | Readable): Promise<void> {
    this.objects.set(key, await bodyToBuffer(body));
  }

  async get(key: string): Promise<Buffer | Readable | null> {
    const data = this.objects.get(key);
    return data ? Readable.from([data]) : null;
  }
}
