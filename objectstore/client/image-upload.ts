/**
 * Uploads a disk image into the object store over the S3 API, the way `ringstack image push`
 * does: multipart (CreateMultipartUpload / UploadPart / CompleteMultipartUpload) with a few
 * parts in flight, resumable, and hashed (sha256) while reading so the `Image` manifest can be
 * printed at the end.
 *
 * Resuming: a small state file (upload id, bucket, key, endpoint, file size and mtime, part
 * size) is kept under the cache folder while an upload runs. When the same file is pushed to
 * the same place again and it has not changed, the server's ListParts says which parts it
 * already holds and only the missing ones are sent; the whole file is still read once to hash
 * it. A finished upload removes its state file.
 *
 * The format is checked against the file's first bytes (qcow2 starts with 'QFI\xfb'); the
 * qcow2 virtual size (header bytes 24..31, big-endian) gives the manifest's minDiskGiB.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  HeadBucketCommand, ListPartsCommand, S3Client, UploadPartCommand, type S3ServiceException,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const DEFAULT_PART_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 3;
export const DEFAULT_IMAGE_BUCKET = 'images';
export const DEFAULT_MIN_MEMORY_MIB = 256;
/** 'QFI\xfb': the first four bytes of every qcow2 file. */
export const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const QCOW2_SIZE_OFFSET = 24;
const HEADER_BYTES = 32;
const HASH_CHUNK_BYTES = 4 * 1024 * 1024;
const GIB = 1024 ** 3;
const STATE_VERSION = 1;

export type ImageFormat = 'qcow2' | 'raw';

/** The image file does not exist or cannot be read. */
export class ImageFileMissingError extends Error {
  override name = 'ImageFileMissingError';
  constructor(readonly file: string) { super(`${file}: no such file`); }
}

/** The image file is empty. */
export class ImageFileEmptyError extends Error {
  override name = 'ImageFileEmptyError';
  constructor(readonly file: string) { super(`${file}: the file is empty`); }
}

/** The file's bytes do not match the format asked for. */
export class ImageFormatMismatchError extends Error {
  override name = 'ImageFormatMismatchError';
  constructor(readonly file: string, readonly asked: ImageFormat, readonly found: ImageFormat) {
    super(`${file}: is ${found === 'qcow2' ? 'a qcow2 image' : 'not a qcow2 image (no QFI\\xfb magic)'}, but --format ${asked} was given`);
  }
}

/** The store refused the access key or signature. */
export class ImageStoreAuthError extends Error {
  override name = 'ImageStoreAuthError';
  constructor(readonly endpoint: string, detail: string) { super(`the object store at ${endpoint} refused the credentials (${detail})`); }
}

/** The store did not answer at all (refused, unknown host, reset). */
export class ImageStoreUnreachableError extends Error {
  override name = 'ImageStoreUnreachableError';
  constructor(readonly endpoint: string, detail: string) { super(`cannot reach the object store at ${endpoint} (${detail})`); }
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** What the file is: format found from its header, size, and the qcow2 virtual size. */
export interface ImageProbe {
  format: ImageFormat;
  sizeBytes: number;
  mtimeMs: number;
  /** The disk size a guest sees: the qcow2 header's size, or the file size for raw. */
  virtualBytes: number;
}

export interface ImageUploadOptions {
  file: string;
  bucket?: string;
  /** Object key; default the file's base name. */
  key: string;
  /** Expected format; when given, the file must match it. */
  format?: ImageFormat;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  partBytes?: number;
  concurrency?: number;
  /** Where resume state files go (default $XDG_CACHE_HOME/ringstack/uploads or ~/.cache/…). */
  stateDir?: string;
  /** Called as bytes reach the store (sent now or found already there). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Called after each part is stored; a throw stops the upload there (tests use it to interrupt). */
  afterPart?: (partNumber: number) => void | Promise<void>;
}

export interface ImageUploadResult {
  bucket: string;
  key: string;
  format: ImageFormat;
  sizeBytes: number;
  virtualBytes: number;
  sha256: string;
  parts: number;
  /** Parts sent by this run; on a resumed upload fewer than `parts`. */
  partsSent: number;
  resumed: boolean;
}

interface ResumeState {
  version: number;
  endpoint: string;
  bucket: string;
  key: string;
  file: string;
  sizeBytes: number;
  mtimeMs: number;
  partBytes: number;
  uploadId: string;
  partsDone: number[];
}

/** Reads the header: the format the bytes say, the size and the qcow2 virtual size. */
export async function probeImage(file: string): Promise<ImageProbe> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch {
    throw new ImageFileMissingError(file);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ImageFileMissingError(file);
    if (st.size === 0) throw new ImageFileEmptyError(file);
    const head = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
    const isQcow2 = bytesRead >= HEADER_BYTES && head.subarray(0, 4).equals(QCOW2_MAGIC);
    const virtualBytes = isQcow2 ? Number(head.readBigUInt64BE(QCOW2_SIZE_OFFSET)) : st.size;
    return { format: isQcow2 ? 'qcow2' : 'raw', sizeBytes: st.size, mtimeMs: st.mtimeMs, virtualBytes };
  } finally {
    await fh.close();
  }
}

/** The `Image` manifest for an uploaded image, as YAML to commit. */
export function imageManifest(name: string, r: ImageUploadResult, minMemoryMiB = DEFAULT_MIN_MEMORY_MIB): string {
  return stringify({
    apiVersion: 'ringstack.dev/v1',
    kind: 'Image',
    metadata: { name },
    spec: {
      source: { bucket: r.bucket, key: r.key },
      format: r.format,
      sha256: r.sha256,
      minDiskGiB: Math.max(1, Math.ceil(r.virtualBytes / GIB)),
      minMemoryMiB,
    },
  });
}

function defaultStateDir(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'ringstack', 'uploads');
}

function stateFileFor(dir: string, endpoint: string, bucket: string, key: string, file: string): string {
  const id = createHash('sha256').update(JSON.stringify([endpoint, bucket, key, resolve(file)])).digest('hex').slice(0, 32);
  return join(dir, `${id}.json`);
}

async function writeDurably(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const d = await open(dirname(file), 'r');
  try { await d.sync(); } finally { await d.close(); }
}

async function readState(file: string): Promise<ResumeState | undefined> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as ResumeState;
    return s.version === STATE_VERSION ? s : undefined;
  } catch {
    return undefined;
  }
}

function statusOf(e: unknown): number | undefined {
  return (e as S3ServiceException)?.$metadata?.httpStatusCode;
}

function authError(e: unknown, endpoint: string): Error {
  const name = (e as Error).name;
  const code = (e as NodeJS.ErrnoException).code;
  if (code && UNREACHABLE_CODES.has(code)) return new ImageStoreUnreachableError(endpoint, (e as Error).message);
  if (statusOf(e) === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied') {
    return new ImageStoreAuthError(endpoint, name);
  }
  return e as Error;
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
  }
}

/** Every part the server holds for an upload (ListParts, paginated); undefined when the upload is gone. */
async function listedParts(s3: S3Client, bucket: string, key: string, uploadId: string): Promise<Map<number, { etag: string; size: number }> | undefined> {
  const parts = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  try {
    for (;;) {
      const r = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const p of r.Parts ?? []) parts.set(p.PartNumber!, { etag: p.ETag!, size: p.Size ?? 0 });
      if (!r.IsTruncated) break;
      marker = r.NextPartNumberMarker;
    }
  } catch (e) {
    if (statusOf(e) === 404 || (e as Error).name === 'NoSuchUpload') return undefined;
    throw e;
  }
  return parts;
}

/** sha256 of the whole file, read in large chunks (for resumed uploads, whose early parts are not re-read). */
async function hashRange(fh: FileHandle, hash: ReturnType<typeof createHash>, from: number, to: number): Promise<void> {
  const buf = Buffer.alloc(HASH_CHUNK_BYTES);
  for (let pos = from; pos < to;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(HASH_CHUNK_BYTES, to - pos), pos);
    if (bytesRead === 0) throw new Error('the image file shrank while it was read');
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/**
 * Uploads the file; resumes an interrupted upload of the same unchanged file to the same place.
 * Throws the typed errors above for a missing, empty or mismatched file and refused credentials.
 */
export async function uploadImage(o: ImageUploadOptions): Promise<ImageUploadResult> {
  const probe = await probeImage(o.file);
  if (o.format && o.format !== probe.format) throw new ImageFormatMismatchError(o.file, o.format, probe.format);
  const bucket = o.bucket ?? DEFAULT_IMAGE_BUCKET;
  const partBytes = o.partBytes ?? DEFAULT_PART_BYTES;
  const concurrency = Math.max(1, o.concurrency ?? DEFAULT_CONCURRENCY);
  const stateFile = stateFileFor(o.stateDir ?? defaultStateDir(), o.endpoint, bucket, o.key, o.file);
  const s3 = new S3Client({
    endpoint: o.endpoint, region: o.region ?? 'us-east-1', forcePathStyle: true, maxAttempts: 3,
    credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
  });
  try {
    try {
      await ensureBucket(s3, bucket);
    } catch (e) {
      throw authError(e, o.endpoint);
    }
    const partCount = Math.max(1, Math.ceil(probe.sizeBytes / partBytes));

    // Resume when the state file describes this very file and upload, and the server still has it.
    let uploadId: string | undefined;
    let have = new Map<number, { etag: string; size: number }>();
    const prior = await readState(stateFile);
    if (prior && prior.sizeBytes === probe.sizeBytes && prior.mtimeMs === probe.mtimeMs && prior.partBytes === partBytes
      && prior.bucket === bucket && prior.key === o.key && prior.endpoint === o.endpoint) {
      const listed = await listedParts(s3, bucket, o.key, prior.uploadId);
      if (listed) {
        uploadId = prior.uploadId;
        for (const [n, p] of listed) {
          const expected = n < partCount ? partBytes : probe.sizeBytes - partBytes * (partCount - 1);
          if (n <= partCount && p.size === expected) have.set(n, p);
        }
      }
    } else if (prior) {
      // The file or the target changed: the old upload's parts are useless.
      await s3.send(new AbortMultipartUploadCommand({ Bucket: prior.bucket, Key: prior.key, UploadId: prior.uploadId })).catch(() => undefined);
    }
    const resumed = uploadId !== undefined;
    if (!uploadId) {
      have = new Map();
      const created = await s3.send(new CreateMultipartUploadCommand({
        Bucket: bucket, Key: o.key, ContentType: 'application/octet-stream', Metadata: { format: probe.format },
      }));
      uploadId = created.UploadId!;
    }
    const state: ResumeState = {
      version: STATE_VERSION, endpoint: o.endpoint, bucket, key: o.key, file: resolve(o.file),
      sizeBytes: probe.sizeBytes, mtimeMs: probe.mtimeMs, partBytes, uploadId, partsDone: [...have.keys()].sort((a, b) => a - b),
    };
    await writeDurably(stateFile, JSON.stringify(state));

    let done = [...have.values()].reduce((s, p) => s + p.size, 0);
    o.onProgress?.(done, probe.sizeBytes);
    const fh = await open(o.file, 'r');
    const hash = createHash('sha256');
    let hashedTo = 0;
    let partsSent = 0;
    try {
      // Parts are read in order (so the hash follows the bytes) and sent with a few in flight.
      const inFlight = new Set<Promise<void>>();
      let failure: unknown;
      let stateWrite = Promise.resolve();
      for (let n = 1; n <= partCount && failure === undefined; n++) {
        const start = (n - 1) * partBytes;
        const end = Math.min(probe.sizeBytes, start + partBytes);
        if (have.has(n)) continue;
        await hashRange(fh, hash, hashedTo, start);
        const body = Buffer.alloc(end - start);
        const { bytesRead } = await fh.read(body, 0, body.length, start);
        if (bytesRead !== body.length) throw new Error('the image file shrank while it was read');
        hash.update(body);
        hashedTo = end;
        const p = (async () => {
          const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: o.key, UploadId: uploadId, PartNumber: n, Body: body }));
          have.set(n, { etag: r.ETag!, size: body.length });
          partsSent++;
          done += body.length;
          o.onProgress?.(done, probe.sizeBytes);
          state.partsDone = [...have.keys()].sort((a, b) => a - b);
          stateWrite = stateWrite.then(() => writeDurably(stateFile, JSON.stringify(state)));
          await o.afterPart?.(n);
        })().catch((e) => { failure ??= e; });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      await stateWrite;
      if (failure !== undefined) throw failure;
      await hashRange(fh, hash, hashedTo, probe.sizeBytes);
    } finally {
      await fh.close();
    }
    await s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: o.key, UploadId: uploadId,
      MultipartUpload: { Parts: [...have.entries()].sort((a, b) => a[0] - b[0]).map(([n, p]) => ({ PartNumber: n, ETag: p.etag })) },
    }));
    await rm(stateFile, { force: true });
    return {
      bucket, key: o.key, format: probe.format, sizeBytes: probe.sizeBytes, virtualBytes: probe.virtualBytes,
      sha256: hash.digest('hex'), parts: partCount, partsSent, resumed,
    };
  } finally {
    s3.destroy();
  }
}

