/**
 * Reads the body of `POST /git/<repo>.git/git-receive-pack`: the ref update commands
 * (`<old> <new> <ref>`, capabilities after a NUL on the first), a flush, then the packfile.
 * The pack is streamed to a spool file while its SHA-1 trailer is verified, so a push of
 * any size never sits in memory. A body over the limit is drained and reported, not stored.
 */

import { createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PktParser, pktText } from './pkt-line.js';
import { ProtocolError, PushTooLarge } from './errors.js';
import { decodedBody, drainRequest } from './request-body.js';
import { ZERO_OID } from './types.js';

/** Length of a pack header: "PACK", version, object count. */
const PACK_HEADER_LEN = 12;
/** Length of the SHA-1 trailer of a pack. */
const PACK_TRAILER_LEN = 20;
/** An object id as sent on the wire. */
const OID_RE = /^[0-9a-f]{40}$/;

/** One ref update the client asked for. ZERO_OID as old: create; as new: delete. */
export interface RefCommand {
  oldOid: string;
  newOid: string;
  ref: string;
}

/** A received push, ready to be applied under the repository lock. */
export interface ReceiveRequest {
  commands: RefCommand[];
  /** Capabilities the client selected (report-status, side-band-64k, ...). */
  caps: Set<string>;
  /** Spooled packfile (checksum verified), absent when the push only deletes. */
  packFile?: string;
  /** SHA-1 trailer of the pack, hex: names it in objects/pack. */
  packId?: string;
  /** Number of objects the pack header declares. */
  packObjects: number;
  /** Set when the body was larger than the limit; nothing was stored then. */
  tooLarge?: PushTooLarge;
}

/** Parses one command line `<old> <new> <ref>`. */
export function parseCommand(line: string): RefCommand {
  const [oldOid, newOid, ref, ...extra] = line.split(' ');
  if (!OID_RE.test(oldOid ?? '') || !OID_RE.test(newOid ?? '') || !ref || extra.length > 0) {
    throw new ProtocolError(`bad ref update command ${JSON.stringify(line)}`);
  }
  return { oldOid, newOid, ref };
}

/**
 * Reads commands and pack from `raw`, spooling the pack into `spoolDir`. Counts decoded bytes
 * against `maxBytes`; over it, drains the request and returns with `tooLarge` set.
 */
export async function readReceiveRequest(
  raw: Readable,
  contentEncoding: string | undefined,
  spoolDir: string,
  maxBytes: number,
): Promise<ReceiveRequest> {
  const body = decodedBody(raw, contentEncoding);
  const parser = new PktParser();
  const req: ReceiveRequest = { commands: [], caps: new Set(), packObjects: 0 };
  let inCommands = true;
  let total = 0;
  let spool: ReturnType<typeof createWriteStream> | undefined;
  let spoolPath: string | undefined;
  const hash = createHash('sha1');
  let tail = Buffer.alloc(0);
  let header = Buffer.alloc(0);
  let packBytes = 0;

  const writePack = async (chunk: Buffer): Promise<void> => {
    if (chunk.length === 0) return;
    if (!spool) {
      await fsp.mkdir(spoolDir, { recursive: true });
      spoolPath = path.join(spoolDir, `tmp-${randomBytes(8).toString('hex')}.pack`);
      spool = createWriteStream(spoolPath);
    }
    packBytes += chunk.length;
    if (header.length < PACK_HEADER_LEN) header = Buffer.concat([header, chunk.subarray(0, PACK_HEADER_LEN - header.length)]);
    const combined = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    const cut = Math.max(0, combined.length - PACK_TRAILER_LEN);
    hash.update(combined.subarray(0, cut));
    tail = Buffer.from(combined.subarray(cut));
    if (!spool.write(chunk)) await new Promise<void>((resolve) => spool!.once('drain', resolve));
  };

  const discardSpool = async (): Promise<void> => {
    if (spool) await new Promise<void>((resolve) => spool!.end(resolve));
    if (spoolPath) await fsp.rm(spoolPath, { force: true });
  };

  try {
    for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        req.tooLarge = new PushTooLarge(`push rejected: the request is larger than the limit of ${maxBytes} bytes`, maxBytes);
        break;
      }
      if (!inCommands) {
        await writePack(chunk);
        continue;
      }
      parser.push(chunk);
      for (let pkt = parser.next(); pkt; pkt = inCommands ? parser.next() : undefined) {
        if (pkt.kind === 'flush') {
          inCommands = false;
        } else if (pkt.kind === 'data') {
          let line = pktText(pkt.data);
          const nul = line.indexOf('\0');
          if (nul >= 0) {
            for (const cap of line.slice(nul + 1).split(' ')) if (cap) req.caps.add(cap);
            line = line.slice(0, nul);
          }
          if (line.startsWith('shallow ') || line.startsWith('push-cert')) {
            throw new ProtocolError('shallow pushes and signed pushes are not supported');
          }
          req.commands.push(parseCommand(line));
        }
      }
      if (!inCommands) await writePack(parser.rest());
    }
  } catch (err) {
    await discardSpool();
    throw err;
  }

  if (req.tooLarge) {
    await discardSpool();
    await drainRequest(raw);
    return req;
  }
  if (inCommands && req.commands.length > 0) throw new ProtocolError('request ended inside the command list');
  const needsPack = req.commands.some((c) => c.newOid !== ZERO_OID);
  if (!needsPack) {
    await discardSpool();
    return req;
  }
  if (!spool || packBytes < PACK_HEADER_LEN + PACK_TRAILER_LEN) {
    await discardSpool();
    throw new ProtocolError('the push has no packfile');
  }
  await new Promise<void>((resolve, reject) => spool!.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const version = header.readUInt32BE(4);
  if (header.toString('ascii', 0, 4) !== 'PACK' || (version !== 2 && version !== 3)) {
    await discardSpool();
    throw new ProtocolError('the packfile has a bad header');
  }
  const digest = hash.digest();
  if (!digest.equals(tail)) {
    await discardSpool();
    throw new ProtocolError('the packfile checksum does not match: truncated or corrupt upload');
  }
  req.packFile = spoolPath;
  req.packId = digest.toString('hex');
  req.packObjects = header.readUInt32BE(8);
  return req;
}
