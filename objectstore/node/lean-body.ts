/**
 * The body of a storage node's answer read by lean-http.ts, and the relay that passes a large
 * one to a client without a new Buffer per socket read.
 *
 * Why: the proxy relays every GET body from a node to its client. Through Node's http client each
 * 64 KiB read was a new Buffer; a 16 MiB GET phase spent a third of the proxy's busy time in
 * garbage collection and another sixth in the client's parser. Here the node's socket reads into
 * buffers from a small pool, and when the body is piped into an HTTP response each buffer goes
 * to the client's socket as it is and comes back to the pool once that write is done.
 *
 * A body has two modes:
 *   - relay: `pipe()` into an `http.ServerResponse` (what fastify does with a stream payload)
 *     of a body framed by Content-Length. At most RELAY_IN_FLIGHT buffers are on their way to
 *     the client; beyond that the node's socket stops reading (backpressure end to end).
 *   - plain Readable for every other consumer (for await, pipe into a Transform, resume): the
 *     bytes are copied out of the connection's read buffer, since that buffer is reused.
 * A buffer goes back to the pool only from the write's callback, which Node calls once the
 * socket no longer references it; a write whose callback never comes (a destroyed socket)
 * leaves its buffer to the garbage collector, never to a second reader.
 */
import http from 'node:http';
import { Readable } from 'node:stream';

/** Bytes one socket read may bring; the relay's unit. */
export const RELAY_BUFFER_BYTES = 128 * 1024;
/** Buffers of one relayed body on their way to the client before the node's socket pauses. */
export const RELAY_IN_FLIGHT = 4;
/** Free buffers kept for reuse (4 MiB); more are left to the garbage collector. */
const POOL_KEEP = 32;
/** What a plain-mode body buffers before the node's socket pauses. */
const PLAIN_HIGH_WATER_MARK = 256 * 1024;

const free: Buffer[] = [];

export function takeRelayBuffer(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(RELAY_BUFFER_BYTES);
}

export function giveRelayBuffer(b: Buffer): void {
  if (free.length < POOL_KEEP) free.push(b);
}

/** Free buffers in the pool (tests). */
export function relayPoolSize(): number {
  return free.length;
}

/** What a body needs from the connection it arrives on. */
export interface BodySource {
  /** Reading was paused by a `deliver` that returned false; go on. */
  resume(): void;
  /** The consumer is gone before the end: the connection is closed, never reused. */
  abort(): void;
}

export class LeanBody extends Readable {
  /** Set when relaying: reads then go into pool buffers (see lean-http.ts nextBuffer). */
  relayTo?: http.ServerResponse;
  private relayEnd = true;
  private inFlight = 0;
  private sourcePaused = false;
  private received = false;

  /** `relayable`: framed by Content-Length, so bytes arrive as plain slices of reads. */
  constructor(private readonly source: BodySource, private readonly relayable: boolean) {
    super({ highWaterMark: PLAIN_HIGH_WATER_MARK });
  }

  /**
   * Bytes from the connection. `owned` is the pool buffer the bytes lie in, handed over to the
   * body; without it the bytes lie in a buffer the connection reuses at once. Returns false
   * when the connection should stop reading.
   */
  deliver(chunk: Buffer, owned?: Buffer): boolean {
    const dest = this.relayTo;
    if (dest) {
      if (!owned) {
        dest.write(Buffer.from(chunk));
        return true;
      }
      this.inFlight++;
      dest.write(chunk, () => {
        giveRelayBuffer(owned);
        this.inFlight--;
        if (this.inFlight < RELAY_IN_FLIGHT && !this.destroyed) this.resumeSource();
      });
      if (this.inFlight < RELAY_IN_FLIGHT) return true;
      this.sourcePaused = true;
      return false;
    }
    const more = this.push(Buffer.from(chunk));
    if (owned) giveRelayBuffer(owned);
    if (more) return true;
    this.sourcePaused = true;
    return false;
  }

  /** Every byte arrived. */
  complete(): void {
    this.received = true;
    const dest = this.relayTo;
    if (!dest) {
      this.push(null);
      return;
    }
    if (this.relayEnd) dest.end();
    // Nothing was pushed in relay mode: end the Readable side so 'end' and 'close' follow.
    this.push(null);
    this.resume();
  }

  /** The connection failed before the last byte. */
  fail(err: Error): void {
    this.received = true;
    this.destroy(err);
  }

  override pipe<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }): T {
    if (!this.relayable || this.relayTo || this.readableFlowing !== null || this.destroyed ||
      !(dest instanceof http.ServerResponse)) {
      return super.pipe(dest, opts);
    }
    this.relayTo = dest;
    this.relayEnd = opts?.end !== false;
    dest.emit('pipe', this);
    // What arrived before the pipe (copies) goes first.
    let chunk: Buffer | null;
    while ((chunk = this.read() as Buffer | null) !== null) dest.write(chunk);
    if (this.received) {
      // It all came before the pipe and was pushed with its end: read() above drained it and
      // the Readable emits 'end' by itself.
      if (this.relayEnd) dest.end();
      return dest;
    }
    this.resumeSource();
    return dest;
  }

  override _read(): void {
    if (!this.relayTo) this.resumeSource();
  }

  /** The connection goes on reading if this body had paused it. */
  private resumeSource(): void {
    if (!this.sourcePaused) return;
    this.sourcePaused = false;
    this.source.resume();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.received) this.source.abort();
    // As http.IncomingMessage does: a failure is an 'error' only for someone listening. A body
    // nobody reads (a discarded answer left to resume()) must not crash the process; a consumer
    // that comes later still sees a destroyed stream (premature close).
    cb(this.listenerCount('error') > 0 ? err : null);
  }
}
