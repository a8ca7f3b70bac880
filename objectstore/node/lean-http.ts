/**
 * A lean HTTP/1.1 client for storage-node requests whose body (if any) is in memory: GET, HEAD,
 * DELETE, POST, small PUTs, listing rows. Keep-alive sockets per node, the request written in
 * one go, the response head parsed here, the body handed to a LeanBody (lean-body.ts).
 *
 * Why not node:http: on the proxy's hot paths (a 4 KiB GET is one GET and one HEAD to nodes, a
 * 4 KiB PUT three PUTs) Node's ClientRequest/IncomingMessage/Agent machinery was most of the
 * proxy's own CPU, and its reads allocate a Buffer each (see lean-body.ts). Streaming PUT bodies
 * still go through node:http (node-client.ts `open`): they need `Expect: 100-continue` and
 * trailers.
 *
 * Reads: sockets read with `onread` into one shared scratch buffer, whose bytes are always
 * consumed (parsed or copied) before the callback returns, so one buffer serves every socket;
 * only a body being relayed reads into buffers of its own from the relay pool, and a large one
 * relayed to a plain socket is not read here at all: the kernel moves it (spliceTo).
 *
 * Bodies: Content-Length, chunked, or (without either) up to the connection's close. A socket is
 * reused only after its whole body was read and neither side asked to close.
 */
import { checkRequestHead, HEAD_END, parseResponseHead, requestHead } from './http-head.js';
import { CONNECTION_SCOPE, H_AUTH_SCOPE } from './hmac.js';
import net from 'node:net';
import { LeanBody, RELAY_BUFFER_BYTES, giveRelayBuffer, takeRelayBuffer, type BodySource } from './lean-body.js';
import {
  SPLICE_MIN_BYTES, cancelSplice, plainSocketFd, spliceRelay, spliceRelayAvailable, type SpliceHandle,
} from '../common/splice-relay.js';

/** Idle sockets kept per node. */
const MAX_IDLE_PER_NODE = 64;
/**
 * Connections in use per node; more requests wait for one to come free (as node:http's agent
 * did with maxSockets), so a burst cannot run a process out of file descriptors.
 */
export const MAX_CONNECTIONS_PER_NODE = 256;
/** Largest response head accepted (object metadata travels in a header of up to ~200 KB). */
const MAX_HEAD_BYTES = 512 * 1024;

const scratch = Buffer.allocUnsafeSlow(RELAY_BUFFER_BYTES);

/** No response head within the request's time. */
export class NodeTimeout extends Error {}

/**
 * A request header that authenticates its connection: sent with every request on a connection
 * until an answer on it carries `H_AUTH_SCOPE: connection` (hmac.ts), then no more. `sign`
 * makes the value, and runs only when the header goes out.
 */
export interface ConnectionAuth {
  header: string;
  sign(): string;
}

export interface LeanRequest {
  host: string;
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  auth?: ConnectionAuth;
  body?: Buffer;
  /** Time allowed until the response head arrives. */
  timeoutMs: number;
}

export interface LeanResponse {
  status: number;
  headers: Record<string, string>;
  body: LeanBody;
}

type Framing = 'length' | 'chunked' | 'close';

interface Exchange {
  head: boolean;
  resolve(r: LeanResponse): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Chunked transfer decoding, byte by byte over the size lines, slices over the data. */
class ChunkedDecoder {
  private line = '';
  private left = 0;
  private stage: 'size' | 'data' | 'data-end' | 'trailer' = 'size';
  done = false;

  /** Feeds bytes; calls `data` with body slices; returns the offset where the body ended (or end). */
  feed(buf: Buffer, start: number, end: number, data: (b: Buffer) => void): number {
    let i = start;
    while (i < end && !this.done) {
      if (this.stage === 'data') {
        const n = Math.min(this.left, end - i);
        data(buf.subarray(i, i + n));
        i += n;
        this.left -= n;
        if (this.left === 0) this.stage = 'data-end';
        continue;
      }
      const c = buf[i++]!;
      if (c !== 0x0a) {
        if (c !== 0x0d) this.line += String.fromCharCode(c);
        if (this.line.length > 4096) throw new Error('chunk line too long');
        continue;
      }
      const line = this.line;
      this.line = '';
      if (this.stage === 'size') {
        const hex = line.split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,13}$/.test(hex)) throw new Error(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
        const size = parseInt(hex, 16);
        if (size === 0) this.stage = 'trailer';
        else {
          this.left = size;
          this.stage = 'data';
        }
      } else if (this.stage === 'data-end') {
        if (line !== '') throw new Error('chunk not followed by CRLF');
        this.stage = 'size';
      } else if (line === '') {
        this.done = true;
      }
    }
    return i;
  }
}

/** One keep-alive connection to a node. */
class Conn implements BodySource {
  readonly socket: net.Socket;
  /** Closes the connection after it has been idle in its pool too long. */
  idleTimer?: NodeJS.Timeout;
  private ex?: Exchange;
  private head?: Buffer;
  private body?: LeanBody;
  private framing: Framing = 'length';
  private left = 0;
  private chunked?: ChunkedDecoder;
  private reusable = true;
  private closed = false;
  private pausedByBody = false;
  /** Counted in its pool's connections in use, from `send` until released or closed. */
  private inUse = false;
  /** The kernel relay moving the body's rest, while it runs. */
  private splice?: SpliceHandle;
  /** The node said this connection is authenticated: requests on it go unsigned. */
  private trusted = false;

  constructor(private readonly pool: NodePool) {
    this.socket = net.connect({
      host: pool.host, port: pool.port, noDelay: true,
      onread: { buffer: () => this.nextBuffer(), callback: (n, buf) => this.onRead(n, buf as Buffer) },
    });
    this.socket.on('error', (e) => this.onGone(e));
    this.socket.on('end', () => this.onGone(null));
    this.socket.on('close', () => this.onGone(null));
  }

  /** The buffer the next read lands in: a pool buffer only while a body is relayed. */
  private nextBuffer(): Buffer {
    return this.body?.relayTo ? takeRelayBuffer() : scratch;
  }

  send(r: LeanRequest, resolve: (x: LeanResponse) => void, reject: (e: Error) => void): void {
    this.inUse = true;
    this.socket.ref();
    const timer = setTimeout(() => {
      this.fail(new NodeTimeout(`${r.method} ${this.pool.host}:${this.pool.port} timed out`));
    }, r.timeoutMs);
    this.ex = { head: r.method === 'HEAD', resolve, reject, timer };
    let extra = r.body ? `content-length: ${r.body.length}\r\n`
      : r.method !== 'GET' && r.method !== 'HEAD' ? 'content-length: 0\r\n' : '';
    if (r.auth && !this.trusted) extra += `${r.auth.header}: ${r.auth.sign()}\r\n`;
    const text = requestHead(r.method, r.path, this.pool.host, this.pool.port, r.headers, extra);
    if (r.body && r.body.length > 0) {
      this.socket.cork();
      this.socket.write(text, 'latin1');
      this.socket.write(r.body);
      this.socket.uncork();
    } else {
      this.socket.write(text, 'latin1');
    }
  }

  private onRead(n: number, buf: Buffer): boolean {
    let owned: Buffer | undefined = buf === scratch ? undefined : buf;
    try {
      let at = 0;
      while (at < n && !this.closed) {
        if (this.body) {
          at = this.feedBody(buf, at, n, owned);
          owned = undefined; // a relaying body took it, or it was plain bytes copied out
        } else if (this.ex) {
          at = this.feedHead(buf, at, n);
        } else {
          throw new Error('node sent bytes nobody asked for');
        }
      }
    } catch (e) {
      this.fail(e as Error);
    }
    if (owned) giveRelayBuffer(owned);
    return !this.pausedByBody;
  }

  private feedHead(buf: Buffer, at: number, n: number): number {
    const piece = buf.subarray(at, n);
    if (!this.head) {
      // The usual case: the whole head in this read, parsed where it lies (no copy).
      const end = piece.indexOf(HEAD_END);
      if (end >= 0) {
        this.startResponse(piece.toString('latin1', 0, end));
        return at + end + 4;
      }
    }
    const prev = this.head?.length ?? 0;
    this.head = this.head ? Buffer.concat([this.head, piece]) : Buffer.from(piece);
    const end = this.head.indexOf(HEAD_END, Math.max(0, prev - 3));
    if (end < 0) {
      if (this.head.length > MAX_HEAD_BYTES) throw new Error('response head too large');
      return n;
    }
    const used = end + 4 - prev; // bytes of this read that belong to the head
    const text = this.head.toString('latin1', 0, end);
    this.head = undefined;
    this.startResponse(text);
    return at + used;
  }

  private startResponse(text: string): void {
    const { minor, status, headers } = parseResponseHead(text);
    if (status >= 100 && status < 200) return; // interim (100 Continue): the real head follows
    if (headers[H_AUTH_SCOPE] === CONNECTION_SCOPE) this.trusted = true;
    const connection = (headers.connection ?? '').toLowerCase();
    if (minor === '0' ? connection !== 'keep-alive' : connection.includes('close')) this.reusable = false;
    const ex = this.ex!;
    clearTimeout(ex.timer);
    this.ex = undefined;
    const te = (headers['transfer-encoding'] ?? '').toLowerCase();
    const noBody = ex.head || status === 204 || status === 304;
    let framing: Framing = 'length';
    let length = 0;
    if (!noBody) {
      if (te.includes('chunked')) framing = 'chunked';
      else if (headers['content-length'] !== undefined) {
        length = Number(headers['content-length']);
        if (!Number.isSafeInteger(length) || length < 0) throw new Error(`bad content-length ${headers['content-length']}`);
      } else framing = 'close';
    }
    const body = new LeanBody(this, framing === 'length');
    ex.resolve({ status, headers, body });
    if (framing === 'length' && length === 0) {
      body.complete();
      this.release();
      return;
    }
    this.body = body;
    this.framing = framing;
    this.left = length;
    if (framing === 'chunked') this.chunked = new ChunkedDecoder();
    if (framing === 'close') this.reusable = false;
  }

  private feedBody(buf: Buffer, at: number, n: number, owned: Buffer | undefined): number {
    const body = this.body!;
    if (this.framing === 'chunked') {
      const end = this.chunked!.feed(buf, at, n, (b) => {
        if (!body.deliver(b)) this.pausedByBody = true;
      });
      if (this.chunked!.done) this.finishBody();
      return end;
    }
    const take = this.framing === 'close' ? n - at : Math.min(this.left, n - at);
    if (!body.deliver(buf.subarray(at, at + take), owned)) this.pausedByBody = true;
    this.left -= take;
    if (this.framing === 'length' && this.left === 0) this.finishBody();
    return at + take;
  }

  private finishBody(): void {
    const body = this.body!;
    this.body = undefined;
    this.chunked = undefined;
    body.complete();
    this.release();
  }

  /** Back to the pool, or closed when it cannot be reused. */
  private release(): void {
    this.resume();
    if (!this.reusable || this.closed) this.close();
    else this.pool.putIdle(this);
    this.endUse();
  }

  /** The exchange is over: its slot in the pool's count goes to the next waiting request. */
  private endUse(): void {
    if (!this.inUse) return;
    this.inUse = false;
    this.pool.freed();
  }

  resume(): void {
    if (this.pausedByBody) {
      this.pausedByBody = false;
      this.socket.resume();
    }
  }

  spliceableBytes(): number {
    const eligible = spliceRelayAvailable && this.body !== undefined && this.framing === 'length' &&
      this.left >= SPLICE_MIN_BYTES && this.splice === undefined && plainSocketFd(this.socket) !== undefined;
    return eligible ? this.left : 0;
  }

  spliceTo(outFd: number, ready: (go: () => void) => void): void {
    const body = this.body;
    // Node reads nothing more: every byte left is the kernel's to move.
    this.pausedByBody = false;
    this.socket.pause();
    ready(() => {
      if (this.closed || this.body !== body) return;
      const inFd = plainSocketFd(this.socket);
      if (inFd === undefined) return this.fail(new Error(`connection to ${this.pool.host}:${this.pool.port} closed`));
      try {
        this.splice = spliceRelay(inFd, outFd, this.left, (err) => {
          this.splice = undefined;
          if (this.closed || this.body !== body) return;
          if (err) return this.fail(err);
          this.left = 0;
          this.socket.resume();
          this.finishBody();
        });
      } catch (e) {
        this.fail(e as Error);
      }
    });
  }

  abort(): void {
    if (this.body) {
      this.body = undefined;
      this.close();
    }
  }

  /** The socket ended, closed or failed. */
  private onGone(err: Error | null): void {
    if (this.closed) return; // closing cleared the exchange and the body
    if (this.body && this.framing === 'close' && !err) {
      this.finishBody();
      return;
    }
    this.fail(err ?? new Error(`connection to ${this.pool.host}:${this.pool.port} closed`));
  }

  private fail(err: Error): void {
    const ex = this.ex;
    const body = this.body;
    this.ex = undefined;
    this.body = undefined;
    this.close();
    if (ex) {
      clearTimeout(ex.timer);
      ex.reject(err);
    }
    body?.fail(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.splice) cancelSplice(this.splice);
    this.pool.forget(this);
    this.socket.destroy();
    this.endUse();
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }
}

/** Connections to one node. */
class NodePool {
  private readonly idle: Conn[] = [];
  private readonly waiting: Array<(c: Conn) => void> = [];
  private inUse = 0;

  constructor(readonly host: string, readonly port: number, private readonly idleMs: number,
    private readonly maxInUse: number) {}

  /** Runs `start` with a connection now, or once one of the `maxInUse` in use comes free. */
  acquire(start: (c: Conn) => void): void {
    if (this.inUse < this.maxInUse) {
      this.inUse++;
      start(this.take());
    } else {
      this.waiting.push(start);
    }
  }

  freed(): void {
    const next = this.waiting.shift();
    if (!next) {
      this.inUse--;
      return;
    }
    // The slot passes to the next request, started outside the caller (a read callback may
    // still be parsing: its bytes must never be taken for the next request's answer).
    process.nextTick(() => next(this.take()));
  }

  private take(): Conn {
    for (;;) {
      const c = this.idle.pop();
      if (!c) return new Conn(this);
      clearTimeout(c.idleTimer);
      if (c.usable) return c;
    }
  }

  putIdle(c: Conn): void {
    if (this.idle.length >= MAX_IDLE_PER_NODE) {
      c.close();
      return;
    }
    c.socket.unref();
    this.idle.push(c);
    c.idleTimer = setTimeout(() => c.close(), this.idleMs);
    c.idleTimer.unref();
  }

  forget(c: Conn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    clearTimeout(c.idleTimer);
  }

  closeAll(): void {
    for (const c of [...this.idle]) c.close();
  }
}

export class LeanHttp {
  private readonly pools = new Map<string, NodePool>();

  constructor(private readonly idleMs: number, private readonly maxPerNode = MAX_CONNECTIONS_PER_NODE) {}

  request(r: LeanRequest): Promise<LeanResponse> {
    return new Promise((resolve, reject) => {
      checkRequestHead(r.path, r.headers);
      const key = `${r.host}:${r.port}`;
      let pool = this.pools.get(key);
      if (!pool) {
        pool = new NodePool(r.host, r.port, this.idleMs, this.maxPerNode);
        this.pools.set(key, pool);
      }
      pool.acquire((c) => c.send(r, resolve, reject));
    });
  }

  close(): void {
    for (const p of this.pools.values()) p.closeAll();
    this.pools.clear();
  }
}
