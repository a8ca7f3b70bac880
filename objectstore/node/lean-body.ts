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
 *     the client; beyond that the node's socket stops reading (backpressure end to end). When
 *     the rest is large and both ends are plain sockets, the kernel moves it instead
 *     (spliceInto, common/splice-relay.ts) and no byte of it passes through JavaScript.
 *   - plain Readable for every other consumer (for await, pipe into a Transform, resume): the
 *     bytes are copied out of the connection's read buffer, since that buffer is reused.
 *   - drain: `drain()` counts the bytes and drops them where they lie, for a caller that wants
 *     only the length (the benchmark's load generator reads every GET body this way).
 * A buffer goes back to the pool only from the write's callback, which Node calls once the
 * socket no longer references it; a write whose callback never comes (a destroyed socket)
 * leaves its buffer to the garbage collector, never to a second reader.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { plainSocketFd } from '../common/splice-relay.js';
import { BufferPool } from '../common/buffer-pool.js';

/** Bytes one socket read may bring; the relay's unit. */
export const RELAY_BUFFER_BYTES = 128 * 1024;
/** Buffers of one relayed body on their way to the client before the node's socket pauses. */
export const RELAY_IN_FLIGHT = 4;
/** Free buffers kept for reuse (4 MiB); more are left to the garbage collector. */
const POOL_KEEP = 32;
/** What a plain-mode body buffers before the node's socket pauses. */
const PLAIN_HIGH_WATER_MARK = 256 * 1024;

const pool = new BufferPool(RELAY_BUFFER_BYTES, POOL_KEEP);
const EMPTY = Buffer.alloc(0);

export const takeRelayBuffer = (): Buffer => pool.take();
export const giveRelayBuffer = (b: Buffer): void => pool.give(b);
/** Free buffers in the pool (tests). */
export const relayPoolSize = (): number => pool.size;

/** What a body needs from the connection it arrives on. */
export interface BodySource {
  /** Reading was paused by a `deliver` that returned false; go on. */
  resume(): void;
  /** The consumer is gone before the end: the connection is closed, never reused. */
  abort(): void;
  /**
   * Bytes of the body still to come when the kernel could move them (common/splice-relay.ts:
   * a Content-Length body large enough, on a plain socket, with the addon built); else 0.
   */
  spliceableBytes?(): number;
  /**
   * Stops reading and has the kernel move the rest of the body to socket `outFd` once
   * `ready` calls back (everything written to that socket before is on its way); the body
   * then completes, or fails, as if read.
   */
  spliceTo?(outFd: number, ready: (go: () => void) => void): void;
}

/**
 * The body length a response announces, NaN when it has none or is chunked. Once the head is
 * rendered (writeHead with an object never stores the headers for getHeader), Node's own
 * record of it is the undocumented but long-stable `_contentLength`.
 */
function declaredLength(res: http.ServerResponse): number {
  if (!res.headersSent) return Number(res.getHeader('content-length') ?? NaN);
  const rendered = res as unknown as { _contentLength?: number | null; chunkedEncoding?: boolean };
  return rendered.chunkedEncoding ? NaN : Number(rendered._contentLength ?? NaN);
}

export class LeanBody extends Readable {
  /** Set when relaying: reads then go into pool buffers (see lean-http.ts nextBuffer). */
  relayTo?: http.ServerResponse;
  private relayEnd = true;
  private inFlight = 0;
  private sourcePaused = false;
  private received = false;
  /** Bytes written to `relayTo` so far. */
  private relayed = 0;
  /** Set by drain(): the bytes dropped so far, and who waits for the total. */
  private draining?: { bytes: number; resolve(n: number): void; reject(e: Error): void };

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
    if (this.draining) {
      this.draining.bytes += chunk.length;
      if (owned) giveRelayBuffer(owned);
      return true;
    }
    const dest = this.relayTo;
    if (dest) {
      this.relayed += chunk.length;
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
    const draining = this.draining;
    if (draining) {
      this.draining = undefined;
      this.push(null);
      this.resume();
      draining.resolve(draining.bytes);
      return;
    }
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

  /**
   * Reads the rest of the body without keeping it: no copy per read, unlike a Readable consumer.
   * Resolves with the body's length in bytes (those read before included); rejects when the
   * connection fails first.
   */
  drain(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.relayTo || this.draining || this.readableFlowing) throw new Error('the body is already being read');
      let bytes = 0;
      let chunk: Buffer | null;
      while ((chunk = this.read() as Buffer | null) !== null) bytes += chunk.length;
      if (this.destroyed) return reject(this.errored ?? new Error('the body was closed before its end'));
      if (this.received) {
        this.resume();
        return resolve(bytes);
      }
      this.draining = { bytes, resolve, reject };
      this.resumeSource();
    });
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
    while ((chunk = this.read() as Buffer | null) !== null) {
      this.relayed += chunk.length;
      dest.write(chunk);
    }
    if (this.received) {
      // It all came before the pipe and was pushed with its end: read() above drained it and
      // the Readable emits 'end' by itself.
      if (this.relayEnd) dest.end();
      return dest;
    }
    if (!this.spliceInto(dest)) this.resumeSource();
    return dest;
  }

  /**
   * Has the kernel move the rest when the response is a plain TCP socket whose Content-Length
   * is exactly what this body still brings (so no framing of Node's is skipped: never chunked,
   * never a HEAD, never one body among several). Node's own writes to that socket (the head,
   * bytes that came with it) must be on their way first: the empty write's callback comes
   * after theirs.
   */
  private spliceInto(dest: http.ServerResponse): boolean {
    const outFd = plainSocketFd(dest.socket);
    const left = this.source.spliceableBytes?.() ?? 0;
    if (outFd === undefined || left === 0 || !this.relayEnd || dest.req?.method === 'HEAD' ||
      declaredLength(dest) !== this.relayed + left) return false;
    const socket = dest.socket!;
    this.source.spliceTo!(outFd, (go) => {
      if (!dest.headersSent) dest.flushHeaders();
      socket.write(EMPTY, (err) => {
        if (err || this.destroyed || dest.destroyed) {
          this.destroy(err ?? undefined);
          return;
        }
        go();
      });
    });
    return true;
  }

  override _read(): void {
    if (!this.relayTo && !this.draining) this.resumeSource();
  }

  /** The connection goes on reading if this body had paused it. */
  private resumeSource(): void {
    if (!this.sourcePaused) return;
    this.sourcePaused = false;
    this.source.resume();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.received) this.source.abort();
    this.draining?.reject(err ?? new Error('the body was closed before its end'));
    // As http.IncomingMessage does: a failure is an 'error' only for someone listening. A body
    // nobody reads (a discarded answer left to resume()) must not crash the process; a consumer
    // that comes later still sees a destroyed stream (premature close).
    cb(this.listenerCount('error') > 0 ? err : null);
  }
}
