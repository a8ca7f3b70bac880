/**
 * Opens a request body for an operation: decodes aws-chunked when the payload hash says
 * streaming, checks the signed payload hash or chunk signatures, and computes and verifies the
 * x-amz-checksum-* values (from headers or trailers) while the bytes flow to the store.
 * Nothing is buffered beyond a chunk, except `readSmallBody` for XML documents.
 */
import { finished, pipeline, type Readable } from 'node:stream';
import { AwsChunkedDecoder } from './chunked.js';
import {
  BodyVerifier, CHECKSUM_ALGORITHMS, CHECKSUM_HEADER_PREFIX, isChecksumAlgorithm, type ChecksumAlgorithm,
} from './checksums.js';
import { S3Error } from './errors.js';
import { header, type S3Request } from './request.js';
import { STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER, UNSIGNED_PAYLOAD } from './sigv4.js';
import { createHash } from 'node:crypto';

export interface OpenedBody {
  stream: Readable;
  /** The decoded length the client declared, if it did. */
  contentLength?: number;
  /** Algorithms computed (declared by header, trailer or x-amz-sdk-checksum-algorithm). */
  algorithms: ChecksumAlgorithm[];
  /** The checksums computed and verified, once the stream has ended. */
  checksums(): Partial<Record<ChecksumAlgorithm, string>>;
  /** Stops feeding the store and discards the rest of the request body. */
  abandon(): void;
  /** The first S3 failure seen while decoding or verifying, to report instead of the store's. */
  failure(): S3Error | undefined;
}

function lengthHeader(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new S3Error('InvalidArgument', `${name} must be a whole number.`);
  return Number(value);
}

/** The client's Content-MD5 as hex, or undefined; malformed values are InvalidDigest. */
export function contentMd5Hex(req: S3Request): string | undefined {
  const v = header(req, 'content-md5');
  if (v === undefined) return undefined;
  const buf = Buffer.from(v.trim(), 'base64');
  if (buf.length !== 16 || buf.toString('base64') !== v.trim()) throw new S3Error('InvalidDigest');
  return buf.toString('hex');
}

export function openBody(req: S3Request): OpenedBody {
  const payloadHash = req.auth.payloadHash;
  const source: Readable = req.raw;
  let contentLength: number | undefined;
  let decoder: AwsChunkedDecoder | undefined;
  const trailerNames = (header(req, 'x-amz-trailer') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (payloadHash.startsWith('STREAMING-')) {
    if (![STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER].includes(payloadHash)) {
      throw new S3Error('NotImplemented', `x-amz-content-sha256 ${payloadHash} is not implemented.`);
    }
    decoder = new AwsChunkedDecoder({
      signing: payloadHash === STREAMING_UNSIGNED_TRAILER ? undefined : req.auth.signing,
      expectTrailers: payloadHash === STREAMING_SIGNED ? [] : trailerNames,
    });
    contentLength = lengthHeader(header(req, 'x-amz-decoded-content-length'), 'x-amz-decoded-content-length');
  } else {
    if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/i.test(payloadHash)) {
      throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a SHA-256 hex digest.');
    }
    contentLength = lengthHeader(header(req, 'content-length'), 'Content-Length');
  }
  const fromHeaders: Partial<Record<ChecksumAlgorithm, string>> = {};
  const algorithms = new Set<ChecksumAlgorithm>();
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = header(req, CHECKSUM_HEADER_PREFIX + alg);
    if (v !== undefined) {
      fromHeaders[alg] = v.trim();
      algorithms.add(alg);
    }
  }
  for (const t of trailerNames) {
    const alg = t.slice(CHECKSUM_HEADER_PREFIX.length);
    if (!t.startsWith(CHECKSUM_HEADER_PREFIX) || !isChecksumAlgorithm(alg)) throw new S3Error('InvalidRequest', `Unsupported trailer ${t}.`);
    algorithms.add(alg);
  }
  const declared = (header(req, 'x-amz-sdk-checksum-algorithm') ?? header(req, 'x-amz-checksum-algorithm'))?.toLowerCase();
  if (declared !== undefined) {
    if (!isChecksumAlgorithm(declared)) throw new S3Error('InvalidRequest', `Checksum algorithm ${declared} is not supported.`);
    algorithms.add(declared);
  }
  const payloadSha256 = /^[0-9a-f]{64}$/i.test(payloadHash) ? payloadHash : undefined;
  if (!decoder && algorithms.size === 0 && payloadSha256 === undefined) {
    // Nothing to decode or verify (UNSIGNED-PAYLOAD, no checksum): the store reads the request
    // itself, as the Swift API's does. A pass-through Transform here cost the proxy a stream
    // hop per chunk and per 4 KiB PUT (bench/objectstore/README.md, session 29); the store's
    // readers already fail a body that ends short or is reset.
    return { stream: source, contentLength, algorithms: [], checksums: () => ({}), abandon: () => source.resume(), failure: () => undefined };
  }
  const verifier = new BodyVerifier({
    algorithms: [...algorithms],
    payloadSha256,
    expected: () => {
      const out = { ...fromHeaders };
      for (const [k, v] of Object.entries(decoder?.trailers ?? {})) {
        const alg = k.slice(CHECKSUM_HEADER_PREFIX.length);
        if (isChecksumAlgorithm(alg)) out[alg] = v;
      }
      return out;
    },
  });
  let firstFailure: S3Error | undefined;
  const note = (e: unknown) => { if (e instanceof S3Error && !firstFailure) firstFailure = e; };
  decoder?.on('error', note);
  verifier.on('error', note);
  // The request stream is piped, not pipelined: a failure of ours must not destroy the socket
  // before the error answer is written (`abandon` drains what the client still sends).
  const stream = decoder ? pipeline(decoder, verifier, () => undefined) : verifier;
  const first = decoder ?? verifier;
  // A request the client abandoned must fail its body, never leave it waiting: pipe() just
  // stops, and a request reset before this point (while auth or a lock was awaited) was
  // destroyed with nobody listening and emits nothing more. finished() reports both cases, an
  // already closed stream included. (Seen: a PUT whose first attempt was reset early kept the
  // proxy's per-name write lock for good, and the client's retry waited behind it forever.)
  finished(source, (e) => {
    if (e) stream.destroy(e);
  });
  source.pipe(first);
  const abandon = () => {
    source.unpipe(first);
    source.resume();
  };
  return {
    stream, contentLength, algorithms: [...algorithms], checksums: () => verifier.values, abandon, failure: () => firstFailure ?? verifier.failure,
  };
}

/** Reads a whole small body (XML documents), verifying it like any other; checks Content-MD5. */
export async function readSmallBody(req: S3Request, max: number): Promise<Buffer> {
  const body = openBody(req);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body.stream) {
      size += (c as Buffer).length;
      if (size > max) throw new S3Error('MalformedXML', `The request body exceeds ${max} bytes.`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    body.abandon();
    throw body.failure() ?? e;
  }
  const data = Buffer.concat(chunks);
  const md5 = contentMd5Hex(req);
  if (md5 !== undefined && createHash('md5').update(data).digest('hex') !== md5) throw new S3Error('BadDigest');
  return data;
}
