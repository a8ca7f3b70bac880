/**
 * A body that is already whole in memory (a small object from a storage node's read batch,
 * node/read-batch.ts). It is a Readable for every consumer that streams (copies, large-object
 * segments, checks), and its bytes for the front ends, which hand fastify a Buffer (one write)
 * instead of a stream to pipe: for a 4 KiB GET the stream's setup and end-of-stream bookkeeping
 * cost more than the bytes.
 */
import { Readable } from 'node:stream';

export class WholeBody extends Readable {
  constructor(readonly bytes: Buffer) {
    super();
  }

  override _read(): void {
    this.push(this.bytes);
    this.push(null);
  }
}

/** What a front end sends for a body: the bytes of a whole body nobody has read from, else the stream. */
export function payloadOf(body: Readable): Readable | Buffer {
  return body instanceof WholeBody && !body.readableDidRead ? body.bytes : body;
}
