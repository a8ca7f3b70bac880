/**
 * Streams a byte range of a large object made of segments (SLO or DLO): opens each segment
 * that overlaps the range with a ranged GET, one at a time, and passes its bytes through as
 * the client reads them, so a multi-GiB object is never held in memory. A segment whose size
 * differs from what the manifest or listing said ends the stream with an error (Swift stops
 * the response rather than serve the wrong bytes).
 */
import { Readable } from 'node:stream';
import type { ObjectBackend } from '../proxy/backend.js';

export interface Segment {
  container: string;
  object: string;
  /** Full size of the segment object, as the manifest or listing recorded it. */
  objectBytes: number;
  /** The part of the segment object this large object uses (inclusive end). */
  first: number;
  last: number;
}

/** Length a segment contributes. */
export function segmentLength(s: Segment): number {
  return s.last - s.first + 1;
}

/** Thrown into the response stream when a segment changed since the manifest was written. */
export class SegmentMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentMismatch';
  }
}

/**
 * Waits for the first chunk of a segmented body before the response starts (Swift's
 * validate_first_segment): a missing or changed first segment then fails the request (409)
 * instead of cutting a 200 short. Returns a stream with every byte, the first chunk included.
 */
export async function primeFirstSegment(body: Readable): Promise<Readable> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (first.done) return;
      yield first.value;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return Readable.from(all(), { objectMode: false });
}

/** Bytes `start..end` (inclusive) of the concatenation of `segments`. */
export function streamSegments(backend: ObjectBackend, account: string, segments: Segment[], start: number, end: number): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const seg of segments) {
      const len = segmentLength(seg);
      const segStart = offset;
      const segEnd = offset + len - 1;
      offset += len;
      if (len <= 0 || segEnd < start) continue;
      if (segStart > end) break;
      const from = seg.first + Math.max(0, start - segStart);
      const to = seg.first + Math.min(len - 1, end - segStart);
      const got = await backend.getObject(account, seg.container, seg.object, { range: { start: from, end: to } });
      if (got.info.contentLength !== seg.objectBytes) {
        got.body.destroy();
        throw new SegmentMismatch(`segment ${seg.container}/${seg.object} has ${got.info.contentLength} bytes, expected ${seg.objectBytes}`);
      }
      let sent = 0;
      for await (const chunk of got.body) {
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (sent !== to - from + 1) {
        throw new SegmentMismatch(`segment ${seg.container}/${seg.object} gave ${sent} bytes, expected ${to - from + 1}`);
      }
    }
  }
  return Readable.from(generate(), { objectMode: false });
}
