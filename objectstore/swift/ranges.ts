/**
 * HTTP Range requests as Swift's swob treats them: a syntactically bad header is ignored
 * (whole object, 200); satisfiable ranges give 206 (one range) or 206 multipart/byteranges
 * (several); none satisfiable gives 416. More than MAX_RANGES ranges are ignored, like swob.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ByteRange } from '../proxy/backend.js';

/** swob.MAX_RANGES. */
export const MAX_RANGES = 50;

interface RangeSpec {
  start?: number;
  end?: number;
}

/** Parses `bytes=a-b,c-,-n`; undefined when the header must be ignored. */
export function parseRangeHeader(value: string | undefined): RangeSpec[] | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(value);
  if (!m) return undefined;
  const specs: RangeSpec[] = [];
  for (const part of m[1]!.split(',')) {
    const p = part.trim();
    const r = /^(\d*)-(\d*)$/.exec(p);
    if (!r || (r[1] === '' && r[2] === '')) return undefined;
    const start = r[1] === '' ? undefined : Number(r[1]);
    const end = r[2] === '' ? undefined : Number(r[2]);
    if (start !== undefined && end !== undefined && end < start) return undefined;
    specs.push({ start, end });
  }
  if (specs.length === 0 || specs.length > MAX_RANGES) return undefined;
  return specs;
}

/**
 * Resolves specs against an object size: the satisfiable ranges (inclusive ends), possibly
 * empty (416).
 */
export function rangesForLength(specs: RangeSpec[], size: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const { start, end } of specs) {
    if (start === undefined) {
      if (end === 0 || size === 0) continue;
      out.push({ start: Math.max(0, size - end!), end: size - 1 });
    } else if (start < size) {
      out.push({ start, end: Math.min(end ?? size - 1, size - 1) });
    }
  }
  return out;
}

/** Swift-like random 32-hex-digit multipart boundary. */
export function newBoundary(): string {
  return randomBytes(16).toString('hex');
}

/**
 * A multipart/byteranges body: for each range, a part header and the bytes `open` streams.
 * Returns the body and its exact length so the response carries Content-Length.
 */
export function multipartByteranges(ranges: ByteRange[], size: number, contentType: string, boundary: string,
  open: (r: ByteRange) => Promise<Readable>): { body: Readable; length: number } {
  const heads = ranges.map((r) => Buffer.from(
    `--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`));
  const tail = Buffer.from(`--${boundary}--`);
  let length = tail.length;
  ranges.forEach((r, i) => { length += heads[i]!.length + (r.end - r.start + 1) + 2; });
  async function* generate(): AsyncGenerator<Buffer> {
    for (let i = 0; i < ranges.length; i++) {
      yield heads[i]!;
      const part = await open(ranges[i]!);
      for await (const chunk of part) yield chunk as Buffer;
      yield Buffer.from('\r\n');
    }
    yield tail;
  }
  return { body: Readable.from(generate(), { objectMode: false }), length };
}
