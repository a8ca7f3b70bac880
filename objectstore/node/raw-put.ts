/**
 * The storage node's side of raw-body PUTs: large replica bodies from the proxy that follow
 * the request head unframed instead of through node:http (whose 64 KiB reads, extra copy and
 * promise turns were half of a node's CPU on 16 MiB PUTs).
 *
 * The proxy (proxy/raw-put-client.ts) sends a PUT head with `Connection: Upgrade`, `Upgrade:
 * RAW_BODY_PROTOCOL`, `Expect: 100-continue` and the length in H_CONTENT_LENGTH, and no
 * Content-Length or Transfer-Encoding: node:http then hands the socket over ('upgrade') right
 * after the head. The request goes through the same checks as any PUT (StorageNode.handle);
 * the node answers `100 Continue` with H_RAW_BODY, or a final response. Then come exactly the
 * declared bytes, read by the addon straight into the object's file (common/receive-to-file.ts;
 * through JavaScript without it), then a trailer block (`name: value` lines and an empty
 * line: T_ETAG, H_CONTAINER_TARGET), then the node answers with `Connection: close` and both
 * sides close. A node without this file never sends H_RAW_BODY: the proxy then uses chunked
 * framing with it.
 */
import http from 'node:http';
import type net from 'node:net';
import { BadRequest, IncompleteBody } from '../common/errors.js';
import { receiveToFileEnabled } from '../common/receive-to-file.js';
import { handleFd } from '../common/native-addon.js';
import type { ObjectWriter } from './diskfile.js';
import { H_RAW_BODY, RAW_BODY_PROTOCOL } from './protocol.js';
import { HEAD_END, parseHeaderLines } from './http-head.js';

/** A trailer block longer than this is refused. */
const MAX_TRAILER_BYTES = 64 * 1024;

/** The unframed body of one raw-body PUT, still on its socket. */
export class RawBody {
  /** Every body byte and the trailer block arrived. */
  complete = false;

  constructor(private readonly socket: net.Socket, private head: Buffer) {}

  /** Receives the body (exactly `length` bytes) into `writer`; returns the trailers. */
  async receive(writer: ObjectWriter, length: number): Promise<Record<string, string>> {
    const socket = this.socket;
    const fd = handleFd(socket);
    const native = length > 0 && receiveToFileEnabled() && fd !== undefined;
    // What node:http read past the head, then what waits in the socket's buffer; when the
    // addon takes the rest, Node stops reading at once (no await in between), or bytes read
    // meanwhile would sit in Node's buffer while the addon reads those after them.
    const parts = [this.head];
    for (let c: Buffer | null; (c = socket.read() as Buffer | null) !== null;) parts.push(c);
    if (native) stopReading(socket);
    let pending = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.head = Buffer.alloc(0);
    try {
      const first = pending.subarray(0, length);
      pending = pending.subarray(first.length);
      if (first.length) await writer.write(first);
      let left = length - first.length;
      if (left > 0 && native) {
        try {
          await writer.receive(fd, left);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') throw new IncompleteBody(`body ended ${left} bytes short`);
          throw e;
        }
        left = 0;
      }
      while (left > 0) {
        const c = await nextChunk(socket);
        if (c === null) throw new IncompleteBody(`body ended ${left} bytes short`);
        const take = c.length <= left ? c : c.subarray(0, left);
        pending = c.subarray(take.length);
        left -= take.length;
        await writer.write(take);
      }
    } finally {
      if (native) startReading(socket);
    }
    const trailers = await this.readTrailers(pending);
    this.complete = true;
    return trailers;
  }

  /** Reads the trailer block: `name: value` lines, then an empty line. */
  private async readTrailers(start: Buffer): Promise<Record<string, string>> {
    let buf = start;
    for (;;) {
      const end = buf.subarray(0, 2).toString('latin1') === '\r\n' ? 0 : buf.indexOf(HEAD_END);
      if (end >= 0) return parseTrailers(buf.subarray(0, end).toString('latin1'));
      if (buf.length > MAX_TRAILER_BYTES) throw new BadRequest(`raw body trailers longer than ${MAX_TRAILER_BYTES} bytes`);
      const c = await nextChunk(this.socket);
      if (c === null) throw new IncompleteBody('body ended before its trailers');
      buf = buf.length ? Buffer.concat([buf, c]) : c;
    }
  }
}

function parseTrailers(block: string): Record<string, string> {
  if (block === '') return {};
  try {
    return parseHeaderLines(block.split('\r\n'));
  } catch (e) {
    throw new BadRequest(`raw body trailers: ${(e as Error).message}`);
  }
}

/** Node's stream handle of a socket: the undocumented, long-stable `_handle` (as handleFd reads). */
function streamHandle(socket: net.Socket): { reading?: boolean; readStop?: () => number; readStart?: () => number } | undefined {
  return (socket as unknown as { _handle?: { reading?: boolean; readStop?: () => number; readStart?: () => number } | null })._handle ?? undefined;
}

/** Stops Node reading the socket, so the addon's reads get every byte. */
function stopReading(socket: net.Socket): void {
  const h = streamHandle(socket);
  if (h?.reading && h.readStop) {
    h.reading = false;
    h.readStop();
  }
}

/**
 * Lets Node read the socket again (for the trailers). Done on the handle itself: the stream
 * may still count a read as pending from before stopReading, and would then not ask again.
 */
function startReading(socket: net.Socket): void {
  const h = streamHandle(socket);
  if (h && !h.reading && h.readStart && !socket.destroyed) {
    h.reading = true;
    h.readStart();
  }
}

/** The next bytes the socket holds, waiting for them; null once it ended or closed. */
async function nextChunk(socket: net.Socket): Promise<Buffer | null> {
  for (;;) {
    const c = socket.read() as Buffer | null;
    if (c !== null) return c;
    if (socket.readableEnded || socket.destroyed) return null;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('readable', done);
        socket.off('end', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('readable', done);
      socket.on('end', done);
      socket.on('close', done);
    });
  }
}

/** The raw bodies of requests handed over by node:http, for StorageNode.handle. */
export const rawBodies = new WeakMap<http.IncomingMessage, RawBody>();

/**
 * Serves raw-body PUTs on `server` through `handle` (StorageNode.handle, called as for a PUT
 * with `Expect: 100-continue`). Returns the sockets in use, for the server's close.
 */
export function acceptRawPuts(server: http.Server,
  handle: (req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean) => Promise<void>): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    // Failures show in the reads and writes of the exchange; the socket closes after it.
    socket.on('error', () => undefined);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (String(req.headers.upgrade).toLowerCase() !== RAW_BODY_PROTOCOL) {
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: 24\r\n\r\nunknown upgrade protocol`);
      return;
    }
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.writeContinue = (cb?: () => void) => {
      socket.write(`HTTP/1.1 100 Continue\r\n${H_RAW_BODY}: 1\r\n\r\n`, cb ? () => cb() : undefined);
    };
    res.on('finish', () => socket.end());
    res.on('close', () => socket.destroySoon());
    rawBodies.set(req, new RawBody(socket, head));
    void handle(req, res, true);
  });
  return sockets;
}
