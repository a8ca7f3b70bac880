/**
 * Client of libvirt's RPC protocol over a stream socket (libvirtd's UNIX socket, or TCP).
 *
 * This is the transport layer only: it frames messages (4-byte length, 24-byte header, XDR
 * payload), numbers calls with serials so many calls can be in flight at once and replies are
 * matched to callers, decodes error replies into typed LibvirtErrors, answers keepalive pings,
 * delivers asynchronous MESSAGE packets (events) to listeners, and sends STREAM packets for
 * uploads with backpressure. What the procedures mean lives in connection.ts and its siblings.
 *
 * When the socket closes, every pending call and stream is rejected with
 * RpcConnectionClosedError and the client emits 'close' once; reconnecting is the caller's
 * decision (make a new client).
 *
 * Events: 'message' (procedure: number, body: XdrReader) for each MESSAGE packet of the remote
 * program; 'close' (error?: Error) once when the connection ends.
 */
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import {
  HEADER_BYTES,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_VERSION,
  KeepaliveProcedure,
  LENGTH_BYTES,
  MESSAGE_MAX,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  STREAM_CHUNK_BYTES,
} from './protocol.js';
import { XdrReader, XdrWriter } from './xdr.js';
import { RpcConnectionClosedError, RpcProtocolError, libvirtErrorFrom, type LibvirtError } from './errors.js';

/** How long to wait for libvirtd to acknowledge an aborted stream before giving up on it. */
const STREAM_ABORT_ACK_MS = 5000;
/** Bytes of stream packets queued in the socket before an upload waits for it to drain. */
const UPLOAD_QUEUE_BYTES = 4 * 1024 * 1024;
/** How long to wait for the socket to connect. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10000;

/** Where libvirtd listens: a UNIX socket path, or a TCP host and port. */
export type RpcEndpoint = { path: string } | { host: string; port: number };

export interface RpcConnectOptions {
  connectTimeoutMs?: number;
}

/** A decoded virNetMessageHeader. */
export interface MessageHeader {
  program: number;
  version: number;
  procedure: number;
  type: number;
  serial: number;
  status: number;
}

interface PendingCall {
  resolve: (body: XdrReader) => void;
  reject: (err: Error) => void;
}

/** State of an upload stream, keyed by the serial of the call that opened it. */
interface UploadStream {
  /** Set when libvirtd reported an error on the stream, or the connection closed. */
  error: Error | null;
  /** Resolved when libvirtd acknowledges the end (or abort) of the stream. */
  done: Promise<void>;
  finish: () => void;
  fail: (err: Error) => void;
}

/** Decodes remote_error (virNetMessageError); only the fields callers use are kept. */
export function decodeRemoteError(body: XdrReader): LibvirtError {
  const code = body.int();
  const domain = body.int();
  const message = body.optional((r) => r.string()) ?? '';
  const level = body.int();
  return libvirtErrorFrom({ code, domain, message, level });
}

/** Encodes one complete message: length word, header, payload. */
export function encodeMessage(header: MessageHeader, payload: Buffer = Buffer.alloc(0)): Buffer {
  const length = LENGTH_BYTES + HEADER_BYTES + payload.length;
  const out = Buffer.alloc(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(header.program, 4);
  out.writeUInt32BE(header.version, 8);
  out.writeInt32BE(header.procedure, 12);
  out.writeInt32BE(header.type, 16);
  out.writeUInt32BE(header.serial, 20);
  out.writeInt32BE(header.status, 24);
  payload.copy(out, LENGTH_BYTES + HEADER_BYTES);
  return out;
}

/** Decodes the header at the start of a message (after its length word). */
export function decodeHeader(message: Buffer): MessageHeader {
  return {
    program: message.readUInt32BE(0),
    version: message.readUInt32BE(4),
    procedure: message.readInt32BE(8),
    type: message.readInt32BE(12),
    serial: message.readUInt32BE(16),
    status: message.readInt32BE(20),
  };
}

export class RpcClient extends EventEmitter {
  private nextSerial = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly streams = new Map<number, UploadStream>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closeError: Error | null = null;
  private isClosed = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (err) => this.shutdown(err));
    socket.on('close', () => this.shutdown(this.closeError ?? undefined));
  }

  /** Opens a socket to libvirtd. No libvirt-level handshake happens here (see connection.ts). */
  static async connect(endpoint: RpcEndpoint, options: RpcConnectOptions = {}): Promise<RpcClient> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const socket = 'path' in endpoint
      ? net.createConnection({ path: endpoint.path })
      : net.createConnection({ host: endpoint.host, port: endpoint.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RpcConnectionClosedError(`timed out connecting to libvirtd after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RpcConnectionClosedError(`cannot connect to libvirtd: ${err.message}`, { cause: err }));
      });
    });
    socket.setNoDelay(true);
    return new RpcClient(socket);
  }

  /** True once the connection has ended; every call then fails with RpcConnectionClosedError. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Calls a procedure of the remote program. `encode` writes the XDR arguments; the promise
   * resolves with a reader over the reply's XDR return value, or rejects with a LibvirtError.
   */
  call(procedure: number, encode?: (w: XdrWriter) => void): Promise<XdrReader> {
    if (this.isClosed) return Promise.reject(this.closedError());
    const serial = this.takeSerial();
    const payload = encodeArgs(encode);
    return new Promise<XdrReader>((resolve, reject) => {
      this.pending.set(serial, { resolve, reject });
      this.send({ procedure, type: MessageType.CALL, serial, status: MessageStatus.OK }, payload);
    });
  }

  /**
   * Calls a procedure that opens an upload stream (e.g. STORAGE_VOL_UPLOAD), then sends every
   * chunk of `source` as STREAM packets, waiting for the socket to drain when its buffer is full,
   * and finishes the stream. Resolves when libvirtd confirms the end of the stream. If `source`
   * fails, the stream is aborted and the source's error is thrown; if libvirtd fails the stream,
   * its LibvirtError is thrown.
   */
  async callWithUpload(
    procedure: number,
    encode: (w: XdrWriter) => void,
    source: AsyncIterable<Uint8Array>,
  ): Promise<void> {
    if (this.isClosed) throw this.closedError();
    const serial = this.takeSerial();
    const stream = this.openStream(serial);
    try {
      await new Promise<XdrReader>((resolve, reject) => {
        this.pending.set(serial, { resolve, reject });
        this.send({ procedure, type: MessageType.CALL, serial, status: MessageStatus.OK }, encodeArgs(encode));
      });
      const header = { procedure, type: MessageType.STREAM, serial, status: MessageStatus.CONTINUE };
      try {
        for await (const chunk of source) {
          const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          for (let off = 0; off < data.length; off += STREAM_CHUNK_BYTES) {
            if (stream.error) throw stream.error;
            this.send(header, data.subarray(off, off + STREAM_CHUNK_BYTES));
            // Keep a few packets queued rather than one: waiting for 'drain' after every
            // 256 KiB packet (the socket's buffer is far smaller) halves the throughput.
            if (this.socket.writableLength > UPLOAD_QUEUE_BYTES) await Promise.race([this.drained(), stream.done]);
          }
        }
      } catch (err) {
        if (err !== stream.error && !this.isClosed) {
          // The source failed: tell libvirtd to abort, wait briefly for its acknowledgement.
          this.send({ ...header, status: MessageStatus.ERROR });
          await Promise.race([stream.done.catch(() => undefined), delay(STREAM_ABORT_ACK_MS)]);
        }
        throw err;
      }
      if (stream.error) throw stream.error;
      this.send({ ...header, status: MessageStatus.OK });
      await stream.done;
    } finally {
      this.streams.delete(serial);
      this.pending.delete(serial);
    }
  }

  /** Ends the socket gracefully and waits until it is closed (see LibvirtConnection.close). */
  async close(): Promise<void> {
    if (this.isClosed) return;
    const closed = once(this, 'close');
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), DEFAULT_CONNECT_TIMEOUT_MS);
    await closed;
    clearTimeout(timer);
  }

  /** Drops the connection at once (pending calls fail with RpcConnectionClosedError). */
  destroy(): void {
    this.socket.destroy();
  }

  private takeSerial(): number {
    const serial = this.nextSerial;
    this.nextSerial = this.nextSerial >= 0xffffffff ? 1 : this.nextSerial + 1;
    return serial;
  }

  private openStream(serial: number): UploadStream {
    let finish!: () => void;
    let fail!: (err: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    done.catch(() => undefined); // observed by callWithUpload; avoid unhandled rejections
    const stream: UploadStream = {
      error: null,
      done,
      finish,
      fail: (err) => {
        stream.error = err;
        fail(err);
      },
    };
    this.streams.set(serial, stream);
    return stream;
  }

  private send(
    header: { procedure: number; type: number; serial: number; status: number; program?: number; version?: number },
    payload?: Buffer,
  ): boolean {
    if (this.isClosed) return false;
    const message = encodeMessage(
      {
        program: header.program ?? REMOTE_PROGRAM,
        version: header.version ?? REMOTE_PROTOCOL_VERSION,
        procedure: header.procedure,
        type: header.type,
        serial: header.serial,
        status: header.status,
      },
      payload,
    );
    return this.socket.write(message);
  }

  private async drained(): Promise<void> {
    if (this.isClosed) throw this.closedError();
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        this.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        reject(this.closedError());
      };
      this.socket.once('drain', onDrain);
      this.once('close', onClose);
    });
  }

  private onData(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    while (this.buffered >= LENGTH_BYTES) {
      const length = this.peekLength();
      if (length < LENGTH_BYTES + HEADER_BYTES || length > LENGTH_BYTES + MESSAGE_MAX) {
        this.fail(new RpcProtocolError(`invalid message length ${length} from libvirtd`));
        return;
      }
      if (this.buffered < length) return;
      const message = this.take(length).subarray(LENGTH_BYTES);
      try {
        this.dispatch(decodeHeader(message), message.subarray(HEADER_BYTES));
      } catch (err) {
        this.fail(err instanceof Error ? err : new RpcProtocolError(String(err)));
        return;
      }
    }
  }

  private peekLength(): number {
    if (this.chunks[0].length < LENGTH_BYTES) {
      this.chunks = [Buffer.concat(this.chunks)];
    }
    return this.chunks[0].readUInt32BE(0);
  }

  private take(bytes: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  private dispatch(header: MessageHeader, payload: Buffer): void {
    if (header.program === KEEPALIVE_PROGRAM) {
      if (header.procedure === KeepaliveProcedure.PING) {
        this.send({
          program: KEEPALIVE_PROGRAM,
          version: KEEPALIVE_VERSION,
          procedure: KeepaliveProcedure.PONG,
          type: MessageType.MESSAGE,
          serial: 0,
          status: MessageStatus.OK,
        });
      }
      return;
    }
    if (header.program !== REMOTE_PROGRAM) {
      throw new RpcProtocolError(`message for unknown program 0x${header.program.toString(16)}`);
    }
    const body = new XdrReader(payload);
    switch (header.type) {
      case MessageType.REPLY:
      case MessageType.REPLY_WITH_FDS: {
        const call = this.pending.get(header.serial);
        if (!call) return; // a reply nobody waits for (caller gave up): ignore
        this.pending.delete(header.serial);
        if (header.status === MessageStatus.OK) call.resolve(body);
        else call.reject(decodeRemoteError(body));
        return;
      }
      case MessageType.MESSAGE:
        this.emit('message', header.procedure, body);
        return;
      case MessageType.STREAM: {
        const stream = this.streams.get(header.serial);
        if (!stream) return;
        if (header.status === MessageStatus.ERROR) stream.fail(decodeRemoteError(body));
        // OK ends the stream; libvirtd also ends some streams with an empty CONTINUE packet.
        else if (header.status === MessageStatus.OK || payload.length === 0) stream.finish();
        return;
      }
      default:
        throw new RpcProtocolError(`unexpected message type ${header.type}`);
    }
  }

  private fail(err: Error): void {
    this.closeError = err;
    this.socket.destroy();
  }

  private closedError(): RpcConnectionClosedError {
    return new RpcConnectionClosedError(
      this.closeError ? `connection to libvirtd closed: ${this.closeError.message}` : undefined,
      { cause: this.closeError ?? undefined },
    );
  }

  private shutdown(err?: Error): void {
    if (err && !this.closeError) this.closeError = err;
    if (this.isClosed) return;
    this.isClosed = true;
    const closed = this.closedError();
    for (const call of this.pending.values()) call.reject(closed);
    this.pending.clear();
    for (const stream of this.streams.values()) stream.fail(closed);
    this.streams.clear();
    this.socket.destroy();
    this.emit('close', this.closeError ?? undefined);
  }
}

function encodeArgs(encode?: (w: XdrWriter) => void): Buffer {
  if (!encode) return Buffer.alloc(0);
  const w = new XdrWriter();
  encode(w);
  return w.finish();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
