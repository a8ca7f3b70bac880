/**
 * Decoding of `Content-Encoding: aws-chunked` bodies as a Transform stream, chunk by chunk
 * (never the whole body in memory):
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD: `<hex size>;chunk-signature=<sig>\r\n<data>\r\n`…, each
 *   chunk's signature chained from the request signature and checked as the chunk ends;
 * - STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same, then trailing headers signed by
 *   `x-amz-trailer-signature`;
 * - STREAMING-UNSIGNED-PAYLOAD-TRAILER: `<hex size>\r\n<data>\r\n`… then trailing headers.
 * Trailers (e.g. `x-amz-checksum-crc32`) are in `trailers` once the stream has ended; the
 * checksum verifier placed after this stream reads them in its flush.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './errors.js';
import { EMPTY_SHA256, hmac, sha256Hex, type SigningContext } from './sigv4.js';

/** Longest chunk header or trailer line accepted. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** Most trailer lines accepted. */
export const MAX_TRAILERS = 16;
const CHUNK_ALGORITHM = 'AWS4-HMAC-SHA256-PAYLOAD';
const TRAILER_ALGORITHM = 'AWS4-HMAC-SHA256-TRAILER';

export interface ChunkedOptions {
  /** Verify chunk (and trailer) signatures with this context; unsigned when undefined. */
  signing?: SigningContext;
  /** Trailer names announced in x-amz-trailer; other trailers are refused. */
  expectTrailers?: string[];
}

type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

function malformed(what: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${what}`);
}

export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  private state: State = 'header';
  private line = Buffer.alloc(0);
  private remaining = 0;
  private chunkSignature: string | undefined;
  private previousSignature: string;
  private chunkHash: Hash | undefined;
  private trailerLines: string[] = [];
  private trailerSignature: string | undefined;

  constructor(private readonly opts: ChunkedOptions = {}) {
    super();
    this.previousSignature = opts.signing?.signature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done') cb(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk.'));
    else cb();
  }

  /** Reads a CRLF-terminated line from `buf` at `pos`; returns the line and new position, or undefined. */
  private takeLine(buf: Buffer, pos: number): { text: string; pos: number } | undefined {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) {
      this.line = Buffer.concat([this.line, buf.subarray(pos)]);
      if (this.line.length > MAX_CHUNK_LINE_BYTES) throw malformed('line too long');
      return undefined;
    }
    const whole = Buffer.concat([this.line, buf.subarray(pos, nl + 1)]);
    this.line = Buffer.alloc(0);
    if (whole.length > MAX_CHUNK_LINE_BYTES) throw malformed('line too long');
    if (whole.length < 2 || whole[whole.length - 2] !== 0x0d) throw malformed('line not ended by CRLF');
    return { text: whole.subarray(0, whole.length - 2).toString('latin1'), pos: nl + 1 };
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'header': {
          const got = this.takeLine(buf, pos);
          if (!got) return;
          pos = got.pos;
          this.startChunk(got.text);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - pos);
          const part = buf.subarray(pos, pos + n);
          this.chunkHash?.update(part);
          this.push(part);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          const got = this.takeLine(buf, pos);
          if (!got) return;
          if (got.text !== '') throw malformed('chunk data longer than its size');
          pos = got.pos;
          this.endChunk();
          this.state = 'header';
          break;
        }
        case 'trailer': {
          const got = this.takeLine(buf, pos);
          if (!got) return;
          pos = got.pos;
          if (got.text === '') this.finishTrailers();
          else this.addTrailer(got.text);
          break;
        }
        case 'done':
          if (buf.subarray(pos).toString('latin1').trim() !== '') throw malformed('data after the final chunk');
          return;
      }
    }
  }

  private startChunk(header: string): void {
    const [sizeText, ...ext] = header.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText!.trim())) throw malformed(`bad chunk size "${sizeText}"`);
    const size = parseInt(sizeText!.trim(), 16);
    const sig = ext.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='));
    this.chunkSignature = sig?.slice('chunk-signature='.length);
    if (this.opts.signing && !this.chunkSignature) throw new S3Error('SignatureDoesNotMatch', 'A chunk has no chunk-signature.');
    this.chunkHash = this.opts.signing ? createHash('sha256') : undefined;
    if (size === 0) {
      this.endChunk();
      this.state = 'trailer';
      return;
    }
    this.remaining = size;
    this.state = 'data';
  }

  private endChunk(): void {
    if (!this.opts.signing) return;
    const s = this.opts.signing;
    const sts = [CHUNK_ALGORITHM, s.amzDate, s.scope, this.previousSignature, EMPTY_SHA256, this.chunkHash!.digest('hex')].join('\n');
    const expected = hmac(s.key, sts).toString('hex');
    if (expected !== this.chunkSignature) throw new S3Error('SignatureDoesNotMatch', 'A chunk signature does not match.');
    this.previousSignature = expected;
  }

  private addTrailer(text: string): void {
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformed('bad trailer line');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      this.trailerSignature = value;
      return;
    }
    if (this.trailerLines.length >= MAX_TRAILERS) throw malformed('too many trailers');
    if (this.opts.expectTrailers && !this.opts.expectTrailers.includes(name)) throw malformed(`trailer ${name} was not announced in x-amz-trailer`);
    this.trailers[name] = value;
    this.trailerLines.push(`${name}:${value}\n`);
  }

  private finishTrailers(): void {
    if (this.opts.signing && this.trailerLines.length > 0) {
      const s = this.opts.signing;
      const sts = [TRAILER_ALGORITHM, s.amzDate, s.scope, this.previousSignature, sha256Hex(this.trailerLines.join(''))].join('\n');
      if (hmac(s.key, sts).toString('hex') !== this.trailerSignature) {
        throw new S3Error('SignatureDoesNotMatch', 'The trailer signature does not match.');
      }
    }
    for (const name of this.opts.expectTrailers ?? []) {
      if (this.trailers[name] === undefined) throw malformed(`announced trailer ${name} is missing`);
    }
    this.state = 'done';
  }
}

/** Encodes a body as aws-chunked (for tests and clients): signed when `signing` is given. */
export function encodeAwsChunked(chunks: Buffer[], opts: { signing?: SigningContext; trailers?: Record<string, string> } = {}): Buffer {
  const out: Buffer[] = [];
  let prev = opts.signing?.signature ?? '';
  const sign = (data: Buffer) => {
    const s = opts.signing!;
    prev = hmac(s.key, [CHUNK_ALGORITHM, s.amzDate, s.scope, prev, EMPTY_SHA256, sha256Hex(data)].join('\n')).toString('hex');
    return prev;
  };
  for (const c of [...chunks.filter((c) => c.length > 0), Buffer.alloc(0)]) {
    const ext = opts.signing ? `;chunk-signature=${sign(c)}` : '';
    out.push(Buffer.from(`${c.length.toString(16)}${ext}\r\n`), c);
    if (c.length > 0) out.push(Buffer.from('\r\n'));
  }
  const lines = Object.entries(opts.trailers ?? {}).map(([k, v]) => `${k}:${v}\n`);
  for (const l of lines) out.push(Buffer.from(l.replace('\n', '\r\n')));
  if (opts.signing && lines.length > 0) {
    const s = opts.signing;
    const sig = hmac(s.key, [TRAILER_ALGORITHM, s.amzDate, s.scope, prev, sha256Hex(lines.join(''))].join('\n')).toString('hex');
    out.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}
