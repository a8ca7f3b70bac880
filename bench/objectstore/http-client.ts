/**
 * The load generator's HTTP/1.1 client: keep-alive sockets per host and port, each request
 * written in one go, the response head parsed here and its body counted, never kept.
 *
 * Why not node:http: its response bodies arrive as one new Buffer per socket read, copied out
 * of its parser. On 16 MiB GETs that cost the load generator 13–26 ms of CPU per GET (session 8),
 * more than ringstack's proxy and storage nodes together, on the same two cores as the servers
 * under test: the client, not the servers, then set the pace, and every system's MB/s moved
 * towards the same number. Here every socket reads into one shared scratch buffer (`onread`);
 * its bytes are parsed or counted before the callback returns, so nothing is allocated per read.
 *
 * Bodies: Content-Length, chunked, or up to the connection's close. A request that fails on a
 * reused socket before any byte of its response came back is sent once more on a new socket (the
 * server may have closed the idle connection as we wrote): bodies are Buffers, so that is safe.
 */
import net from 'node:net';

export interface HttpReply {
  status: number;
  /** Bytes of the response body. */
  bytes: number;
}

const SCRATCH_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_IDLE_PER_ORIGIN = 256;
const HEAD_END = '\r\n\r\n';

const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
const idle = new Map<string, Connection[]>();

type Framing = 'length' | 'chunked' | 'close' | 'none';

class Connection {
  readonly socket: net.Socket;
  reused = false;
  private exchange?: {
    resolve(r: HttpReply): void;
    reject(e: Error): void;
    noBodyExpected: boolean;
  };
  /** Response head bytes so far (latin1), while the head is incomplete. */
  private head = '';
  private inBody = false;
  private started = false;
  private status = 0;
  private framing: Framing = 'none';
  private left = 0;
  private bytes = 0;
  private keepAlive = true;
  private chunkLine = '';
  private chunkStage: 'size' | 'data' | 'data-end' | 'trailer' = 'size';

  constructor(readonly origin: string, host: string, port: number) {
    this.socket = net.connect({
      host, port, noDelay: true,
      onread: { buffer: scratch, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf as Buffer) },
    });
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => {
      forget(this);
      if (this.exchange && this.inBody && this.framing === 'close') return this.finish();
      this.fail(new Error('connection closed before the response was complete'));
    });
  }

  /** Whether any byte of the current response arrived (a retry is safe only before that). */
  get answered(): boolean {
    return this.started;
  }

  send(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.exchange = { resolve, reject, noBodyExpected: method === 'HEAD' };
      this.head = '';
      this.inBody = false;
      this.started = false;
      this.bytes = 0;
      let text = `${method} ${path} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      this.socket.cork();
      this.socket.write(`${text}\r\n`, 'latin1');
      if (body && body.length) this.socket.write(body);
      this.socket.uncork();
    });
  }

  private onRead(n: number, buf: Buffer): boolean {
    this.started = true;
    let i = 0;
    while (i < n && this.exchange) {
      if (!this.inBody) i = this.readHead(buf, i, n);
      else i = this.readBody(buf, i, n);
    }
    if (i < n) this.fail(new Error('the server sent bytes after the response'));
    return true;
  }

  private readHead(buf: Buffer, start: number, end: number): number {
    const before = this.head.length;
    // Only as much as a head may take: the rest of a read is body, counted, not turned into text.
    const take = Math.min(end, start + MAX_HEAD_BYTES + HEAD_END.length - before);
    this.head += buf.toString('latin1', start, take);
    const at = this.head.indexOf(HEAD_END);
    if (at < 0) {
      if (this.head.length > MAX_HEAD_BYTES) this.fail(new Error('response head too large'));
      return take;
    }
    const used = at + HEAD_END.length - before;
    const lines = this.head.slice(0, at).split('\r\n');
    this.head = '';
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) {
      this.fail(new Error(`bad status line: ${JSON.stringify(lines[0])}`));
      return end;
    }
    const status = Number(m[2]);
    if (status >= 100 && status < 200) return start + used; // an interim response: the real one follows
    let length: number | undefined;
    let chunked = false;
    let close = m[1] === '0';
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').pop()!.trim() === 'chunked';
      else if (name === 'connection') close = value.split(',').some((t) => t.trim() === 'close') || (close && !value.includes('keep-alive'));
    }
    this.status = status;
    this.keepAlive = !close;
    this.inBody = true;
    if (this.exchange!.noBodyExpected || status === 204 || status === 304) this.framing = 'none';
    else if (chunked) {
      this.framing = 'chunked';
      this.chunkStage = 'size';
      this.chunkLine = '';
    } else if (length !== undefined) {
      this.framing = 'length';
      this.left = length;
    } else {
      this.framing = 'close';
      this.keepAlive = false;
    }
    if (this.framing === 'none' || (this.framing === 'length' && this.left === 0)) this.finish();
    return start + used;
  }

  private readBody(buf: Buffer, start: number, end: number): number {
    if (this.framing === 'close') {
      this.bytes += end - start;
      return end;
    }
    if (this.framing === 'length') {
      const take = Math.min(this.left, end - start);
      this.bytes += take;
      this.left -= take;
      if (this.left === 0) this.finish();
      return start + take;
    }
    return this.readChunked(buf, start, end);
  }

  /** Chunked framing: size lines read byte by byte, data counted, trailers skipped. */
  private readChunked(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end && this.exchange) {
      if (this.chunkStage === 'data') {
        const take = Math.min(this.left, end - i);
        this.bytes += take;
        this.left -= take;
        i += take;
        if (this.left === 0) this.chunkStage = 'data-end';
        continue;
      }
      const c = buf[i++]!;
      if (c !== 0x0a) {
        if (c !== 0x0d) this.chunkLine += String.fromCharCode(c);
        if (this.chunkLine.length > 1024) this.fail(new Error('chunk line too long'));
        continue;
      }
      const line = this.chunkLine;
      this.chunkLine = '';
      if (this.chunkStage === 'data-end') {
        this.chunkStage = 'size';
      } else if (this.chunkStage === 'size') {
        const size = parseInt(line.split(';')[0]!, 16);
        if (!Number.isFinite(size) || size < 0) this.fail(new Error(`bad chunk size line ${JSON.stringify(line)}`));
        else if (size === 0) this.chunkStage = 'trailer';
        else {
          this.left = size;
          this.chunkStage = 'data';
        }
      } else if (line === '') {
        this.finish();
      }
    }
    return i;
  }

  private finish(): void {
    const ex = this.exchange;
    if (!ex) return;
    this.exchange = undefined;
    this.inBody = false;
    if (this.keepAlive && !this.socket.destroyed) park(this);
    else this.socket.destroy();
    ex.resolve({ status: this.status, bytes: this.bytes });
  }

  private fail(e: Error): void {
    const ex = this.exchange;
    this.exchange = undefined;
    this.socket.destroy();
    forget(this);
    ex?.reject(e);
  }
}

function park(c: Connection): void {
  const list = idle.get(c.origin) ?? [];
  if (list.length >= MAX_IDLE_PER_ORIGIN) return void c.socket.destroy();
  c.reused = true;
  list.push(c);
  idle.set(c.origin, list);
}

function forget(c: Connection): void {
  const list = idle.get(c.origin);
  const at = list?.indexOf(c) ?? -1;
  if (at >= 0) list!.splice(at, 1);
}

/** One request; `headers` should carry `content-length` for a body. Adds `host` when missing. */
export async function send(host: string, port: string | number, path: string, method: string,
  headers: Record<string, string>, body?: Buffer): Promise<HttpReply> {
  const p = Number(port) || 80;
  const origin = `${host}:${p}`;
  const all = Object.keys(headers).some((k) => k.toLowerCase() === 'host') ? headers : { host: origin, ...headers };
  for (;;) {
    const c = idle.get(origin)?.pop() ?? new Connection(origin, host, p);
    try {
      return await c.send(method, path, all, body);
    } catch (e) {
      if (!c.reused || c.answered) throw e;
      // The server closed this idle connection as we wrote on it: once more on a new one.
    }
  }
}

/** Closes every idle connection (the caller is done). */
export function closeIdle(): void {
  for (const list of idle.values()) for (const c of list.splice(0)) c.socket.destroy();
}
