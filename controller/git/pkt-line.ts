/**
 * Git's pkt-line framing and side-band multiplexing (gitprotocol-common, gitprotocol-pack).
 *
 * A pkt-line is 4 hex digits giving the length (including those 4 bytes) followed by the
 * payload; `0000` is a flush packet that ends a section. Over side-band-64k every packet of
 * the response carries one channel byte: 1 = data (packfile or report-status),
 * 2 = progress text the client prints as `remote: ...`, 3 = fatal error.
 */

import { ProtocolError } from './errors.js';

/** Largest pkt-line the protocol allows, header included. */
export const MAX_PKT_LEN = 65520;
/** Payload per side-band-64k packet: the pkt-line maximum minus header and channel byte. */
export const SIDEBAND_CHUNK = MAX_PKT_LEN - 4 - 1;
/** The flush packet. */
export const FLUSH_PKT = Buffer.from('0000', 'ascii');

export const CHANNEL_DATA = 1;
export const CHANNEL_PROGRESS = 2;
export const CHANNEL_ERROR = 3;

/** Frames one payload (a string is UTF-8 encoded) as a pkt-line. */
export function pktLine(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const len = body.length + 4;
  if (len > MAX_PKT_LEN) throw new RangeError(`pkt-line of ${len} bytes exceeds ${MAX_PKT_LEN}`);
  return Buffer.concat([Buffer.from(len.toString(16).padStart(4, '0'), 'ascii'), body]);
}

/** Frames `data` on a side-band channel, split into as many packets as needed. */
export function sideBand(channel: number, data: string | Buffer): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += SIDEBAND_CHUNK) {
    const chunk = bytes.subarray(at, Math.min(at + SIDEBAND_CHUNK, bytes.length));
    parts.push(pktLine(Buffer.concat([Buffer.of(channel), chunk])));
  }
  return Buffer.concat(parts);
}

/** One parsed packet: a payload, or a flush / delimiter marker. */
export type Pkt = { kind: 'data'; data: Buffer } | { kind: 'flush' } | { kind: 'delim' };

/**
 * Incremental pkt-line parser: feed bytes as they arrive with `push`, take complete packets
 * with `next` (undefined until one is complete). `rest` gives the bytes not yet parsed, which
 * after the command section of a push are the start of the packfile.
 */
export class PktParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  next(): Pkt | undefined {
    if (this.buf.length < 4) return undefined;
    const hex = this.buf.toString('ascii', 0, 4);
    if (!/^[0-9a-f]{4}$/i.test(hex)) throw new ProtocolError(`bad pkt-line length ${JSON.stringify(hex)}`);
    const len = parseInt(hex, 16);
    if (len === 0 || len === 1 || len === 2) {
      this.buf = this.buf.subarray(4);
      return len === 0 ? { kind: 'flush' } : { kind: 'delim' };
    }
    if (len < 4) throw new ProtocolError(`bad pkt-line length ${len}`);
    if (this.buf.length < len) return undefined;
    const data = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return { kind: 'data', data };
  }

  rest(): Buffer {
    return this.buf;
  }
}

/** Parses a whole buffer of pkt-lines (request bodies of fetch negotiation are small). */
export function parseAllPkts(buf: Buffer): Pkt[] {
  const parser = new PktParser();
  parser.push(buf);
  const out: Pkt[] = [];
  for (let p = parser.next(); p; p = parser.next()) out.push(p);
  if (parser.rest().length > 0) throw new ProtocolError('truncated pkt-line at end of request');
  return out;
}

/** The payload of a data packet as text without its trailing newline. */
export function pktText(data: Buffer): string {
  const s = data.toString('utf8');
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}
