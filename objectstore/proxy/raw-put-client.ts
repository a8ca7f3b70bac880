/**
 * The proxy's side of raw-body PUTs (the wire is described in node/raw-put.ts): one large
 * replica body sent unframed on a connection of its own, so the storage node can take it
 * outside node:http. It offers put-fanout.ts the part of http.ClientRequest that the fan-out
 * uses (write, writableLength, drain, addTrailers, end, destroy; 'continue', 'response',
 * 'error'), so both framings share one upload loop.
 *
 * A node answering `100 Continue` without H_RAW_BODY runs an older version that read the
 * head as an ordinary PUT: the request emits 'unsupported' (never 'continue') and closes, and
 * the fan-out opens that node again with chunked framing.
 */
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { H_RAW_BODY, RAW_BODY_PROTOCOL } from '../node/protocol.js';
import { checkRequestHead, HEAD_END, parseResponseHead, requestHead } from '../node/http-head.js';

/** Response heads larger than this are refused (a node's are a few hundred bytes). */
const MAX_HEAD_BYTES = 64 * 1024;

/** A response from the node: status, headers and its body already read (put-fanout resumes it). */
export type RawPutResponse = PassThrough & { statusCode: number; headers: http.IncomingHttpHeaders };

interface ParsedHead {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body's length (the node's answers are Content-Length framed). */
  length: number;
}

function parseHead(text: string): ParsedHead | Error {
  try {
    const { status, headers } = parseResponseHead(text);
    const length = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
    if (!Number.isSafeInteger(length) || length < 0) return new Error('bad Content-Length in the response');
    return { status, headers, length };
  } catch (e) {
    return e as Error;
  }
}

/** One raw-body PUT to one node. */
export class RawPutRequest extends EventEmitter {
  writableFinished = false;
  private readonly socket: net.Socket;
  private trailers: Record<string, string> = {};
  private inbox: Buffer = Buffer.alloc(0);
  /** The final response's head, while its body is read. */
  private final?: ParsedHead;
  private answered = false;

  constructor(opts: { host: string; port: number; path: string; headers: Record<string, string> }) {
    super();
    checkRequestHead(opts.path, opts.headers);
    const head = requestHead('PUT', opts.path, opts.host, opts.port, opts.headers,
      `connection: Upgrade\r\nupgrade: ${RAW_BODY_PROTOCOL}\r\nexpect: 100-continue\r\n`);
    this.socket = net.connect({ host: opts.host, port: opts.port });
    this.socket.setNoDelay(true);
    this.socket.write(head, 'latin1');
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('drain', () => this.emit('drain'));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error(`connection to ${opts.host}:${opts.port} closed`)));
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  write(b: Buffer): boolean {
    return this.socket.write(b);
  }

  addTrailers(t: Record<string, string>): void {
    Object.assign(this.trailers, t);
  }

  /** Sends the trailer block after the body. */
  end(): void {
    const lines = Object.entries(this.trailers).map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}\r\n`);
    this.socket.write(`${lines.join('')}\r\n`);
    this.writableFinished = true;
  }

  destroy(err?: Error): void {
    this.socket.destroy();
    if (err) this.fail(err);
  }

  /** http.ClientRequest sends its head at once; this request sent it when it connected. */
  flushHeaders(): void {}

  private fail(err: Error): void {
    if (this.answered) return;
    this.answered = true;
    this.socket.destroy();
    this.emit('error', err);
  }

  private onData(d: Buffer): void {
    if (this.answered) return;
    this.inbox = this.inbox.length ? Buffer.concat([this.inbox, d]) : d;
    for (;;) {
      if (this.final) {
        if (this.inbox.length < this.final.length) return;
        return this.respond(this.final, this.inbox.subarray(0, this.final.length));
      }
      const end = this.inbox.indexOf(HEAD_END);
      if (end < 0) {
        if (this.inbox.length > MAX_HEAD_BYTES) this.fail(new Error('response head too long'));
        return;
      }
      const head = parseHead(this.inbox.subarray(0, end).toString('latin1'));
      this.inbox = this.inbox.subarray(end + 4);
      if (head instanceof Error) return this.fail(head);
      if (head.status === 100) {
        if (head.headers[H_RAW_BODY] !== '1') {
          this.answered = true;
          this.socket.destroy();
          this.emit('unsupported');
          return;
        }
        this.emit('continue');
        continue;
      }
      this.final = head;
    }
  }

  private respond(head: ParsedHead, body: Buffer): void {
    this.answered = true;
    // The node closes after every raw-body PUT.
    this.socket.end();
    const res = new PassThrough() as RawPutResponse;
    res.statusCode = head.status;
    res.headers = head.headers;
    this.emit('response', res);
    res.end(body);
  }
}
