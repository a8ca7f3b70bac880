/**
 * An ObjectBackend held in memory (Swift's mem_server idea): the same semantics as the
 * replicated proxy — sorted listings (UTF-8 byte order) with prefix, delimiter, marker,
 * end marker, limit and reverse; subdir roll-ups; container and account counts; typed errors;
 * conditional PUT serialised per object; ranges — so the S3 and Swift front ends can be
 * unit-tested without storage nodes. Nothing here is durable.
 *
 * Accounts are created implicitly (Swift's account_autocreate): HEAD or listing of an account
 * that was never written answers as an empty account.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type {
  AccountInfo, ContainerEntry, ContainerInfo, GetObjectOptions, GetObjectResult, ListOptions,
  ListPage, ObjectBackend, ObjectEntry, ObjectInfo, PutObjectInput, SubdirEntry,
} from './backend.js';
import {
  BadRequest, ChecksumMismatch, Conflict, IncompleteBody, NotFound, PreconditionFailed,
  RangeNotSatisfiable, TooLarge,
} from '../common/errors.js';

/** Longest object name in UTF-8 bytes (Swift's MAX_OBJECT_NAME_LENGTH). */
export const MAX_OBJECT_NAME_BYTES = 1024;
/** Longest container name in UTF-8 bytes. */
export const MAX_CONTAINER_NAME_BYTES = 256;
/** Default and maximum listing page. */
export const MAX_LISTING_LIMIT = 10000;
/** Largest single object kept in memory (Swift's 5 GiB limit is pointless in RAM). */
export const MAX_MEMORY_OBJECT_BYTES = 1024 * 1024 * 1024;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface StoredObject {
  data: Buffer;
  info: ObjectInfo;
}

interface StoredContainer {
  objects: Map<string, StoredObject>;
  sorted?: string[];
  meta: Record<string, string>;
  headers: Record<string, string>;
  createdAt: number;
}

interface StoredAccount {
  containers: Map<string, StoredContainer>;
  sorted?: string[];
  meta: Record<string, string>;
  createdAt: number;
}

/** Compares two names by their UTF-8 bytes, as Swift's and S3's listings order them. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Formats milliseconds as Swift's X-Timestamp (`%016.05f` seconds). */
export function formatTimestamp(ms: number): string {
  return (ms / 1000).toFixed(5).padStart(16, '0');
}

/**
 * Applies Swift's listing rules to names already sorted ascending. `entry` builds the entry
 * for a name. Shared by account and container listings.
 */
export function listSorted<T>(names: string[], opts: ListOptions, entry: (name: string) => T): ListPage<T> {
  const limit = Math.min(opts.limit ?? MAX_LISTING_LIMIT, MAX_LISTING_LIMIT);
  if (limit < 0 || !Number.isInteger(limit)) throw new BadRequest(`bad listing limit ${opts.limit}`);
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter || undefined;
  const entries: Array<T | SubdirEntry> = [];
  const order = opts.reverse ? [...names].reverse() : names;
  let lastSubdir: string | undefined;
  for (const name of order) {
    if (opts.reverse) {
      if (opts.marker !== undefined && opts.marker !== '' && compareNames(name, opts.marker) >= 0) continue;
      if (opts.endMarker !== undefined && opts.endMarker !== '' && compareNames(name, opts.endMarker) <= 0) break;
    } else {
      if (opts.marker !== undefined && opts.marker !== '' && compareNames(name, opts.marker) <= 0) continue;
      if (opts.endMarker !== undefined && opts.endMarker !== '' && compareNames(name, opts.endMarker) >= 0) break;
    }
    if (!name.startsWith(prefix)) continue;
    let item: T | SubdirEntry;
    if (delimiter !== undefined) {
      const at = name.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const subdir = name.slice(0, at + delimiter.length);
        if (subdir === lastSubdir || subdir === opts.marker) continue;
        lastSubdir = subdir;
        item = { subdir };
      } else {
        item = entry(name);
      }
    } else {
      item = entry(name);
    }
    if (entries.length >= limit) return { entries, truncated: true };
    entries.push(item);
  }
  return { entries, truncated: false };
}

function checkContainerName(container: string): void {
  const bytes = Buffer.byteLength(container, 'utf8');
  if (bytes < 1 || bytes > MAX_CONTAINER_NAME_BYTES || container.includes('/')) {
    throw new BadRequest(`invalid container name "${container}"`);
  }
}

function checkObjectName(object: string): void {
  const bytes = Buffer.byteLength(object, 'utf8');
  if (bytes < 1 || bytes > MAX_OBJECT_NAME_BYTES) throw new BadRequest(`invalid object name (${bytes} bytes)`);
}

async function readAll(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > max) throw new TooLarge(`object larger than ${max} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export class MemoryBackend implements ObjectBackend {
  private readonly accounts = new Map<string, StoredAccount>();
  private lastStamp = 0;

  /** A strictly increasing write time in milliseconds (two writes never share a timestamp). */
  private stamp(): number {
    const now = Math.max(Date.now(), this.lastStamp + 0.01);
    this.lastStamp = now;
    return now;
  }

  private account(account: string, create: boolean): StoredAccount | undefined {
    let acct = this.accounts.get(account);
    if (!acct && create) {
      acct = { containers: new Map(), meta: {}, createdAt: Date.now() };
      this.accounts.set(account, acct);
    }
    return acct;
  }

  private container(account: string, container: string): StoredContainer {
    checkContainerName(container);
    const c = this.accounts.get(account)?.containers.get(container);
    if (!c) throw new NotFound(`container ${container} not found`, 'container');
    return c;
  }

  private object(account: string, container: string, object: string): StoredObject {
    checkObjectName(object);
    const o = this.container(account, container).objects.get(object);
    if (!o) throw new NotFound(`object ${container}/${object} not found`, 'object');
    return o;
  }

  async headAccount(account: string): Promise<AccountInfo> {
    const acct = this.account(account, false);
    let objectCount = 0;
    let bytesUsed = 0;
    for (const c of acct?.containers.values() ?? []) {
      for (const o of c.objects.values()) {
        objectCount++;
        bytesUsed += o.info.contentLength;
      }
    }
    return {
      containerCount: acct?.containers.size ?? 0, objectCount, bytesUsed,
      meta: { ...(acct?.meta ?? {}) }, createdAt: acct?.createdAt ?? Date.now(),
    };
  }

  async listContainers(account: string, opts: ListOptions = {}): Promise<ListPage<ContainerEntry>> {
    const acct = this.account(account, false);
    if (!acct) return { entries: [], truncated: false };
    acct.sorted ??= [...acct.containers.keys()].sort(compareNames);
    return listSorted(acct.sorted, opts, (name) => {
      const c = acct.containers.get(name)!;
      let bytes = 0;
      let lastModified = c.createdAt;
      for (const o of c.objects.values()) {
        bytes += o.info.contentLength;
        lastModified = Math.max(lastModified, o.info.lastModified);
      }
      return { name, count: c.objects.size, bytes, lastModified };
    });
  }

  async postAccount(account: string, meta: Record<string, string>): Promise<void> {
    this.account(account, true)!.meta = { ...meta };
  }

  async putContainer(account: string, container: string, meta: Record<string, string> = {},
    headers: Record<string, string> = {}): Promise<{ created: boolean }> {
    checkContainerName(container);
    const acct = this.account(account, true)!;
    const existing = acct.containers.get(container);
    if (existing) {
      Object.assign(existing.meta, meta);
      Object.assign(existing.headers, headers);
      return { created: false };
    }
    acct.containers.set(container, { objects: new Map(), meta: { ...meta }, headers: { ...headers }, createdAt: Date.now() });
    acct.sorted = undefined;
    return { created: true };
  }

  async headContainer(account: string, container: string): Promise<ContainerInfo> {
    const c = this.container(account, container);
    let bytesUsed = 0;
    for (const o of c.objects.values()) bytesUsed += o.info.contentLength;
    return { objectCount: c.objects.size, bytesUsed, meta: { ...c.meta }, headers: { ...c.headers }, createdAt: c.createdAt };
  }

  async postContainer(account: string, container: string, meta: Record<string, string>,
    headers: Record<string, string> = {}): Promise<void> {
    const c = this.container(account, container);
    c.meta = { ...meta };
    Object.assign(c.headers, headers);
  }

  async deleteContainer(account: string, container: string): Promise<void> {
    const c = this.container(account, container);
    if (c.objects.size > 0) throw new Conflict(`container ${container} is not empty`, 'not-empty');
    const acct = this.accounts.get(account)!;
    acct.containers.delete(container);
    acct.sorted = undefined;
  }

  async listObjects(account: string, container: string, opts: ListOptions = {}): Promise<ListPage<ObjectEntry>> {
    const c = this.container(account, container);
    c.sorted ??= [...c.objects.keys()].sort(compareNames);
    return listSorted(c.sorted, opts, (name) => {
      const { info } = c.objects.get(name)!;
      return { name, bytes: info.contentLength, etag: info.etag, contentType: info.contentType, lastModified: info.lastModified };
    });
  }

  private checkConditions(c: StoredContainer, object: string, input: PutObjectInput): void {
    const current = c.objects.get(object);
    if (input.ifNoneMatchStar && current) throw new PreconditionFailed(`object ${object} exists`);
    if (input.ifMatch !== undefined && current?.info.etag !== input.ifMatch.replace(/"/g, '')) {
      throw new PreconditionFailed(`object ${object} does not have etag ${input.ifMatch}`);
    }
  }

  async putObject(account: string, container: string, object: string, input: PutObjectInput): Promise<ObjectInfo> {
    checkObjectName(object);
    this.checkConditions(this.container(account, container), object, input);
    const data = await readAll(input.body, MAX_MEMORY_OBJECT_BYTES);
    if (input.contentLength !== undefined && data.length !== input.contentLength) {
      throw new IncompleteBody(`body has ${data.length} bytes, Content-Length said ${input.contentLength}`);
    }
    const etag = createHash('md5').update(data).digest('hex');
    if (input.expectedMd5 !== undefined && input.expectedMd5.toLowerCase() !== etag) {
      throw new ChecksumMismatch(`body MD5 ${etag} differs from ${input.expectedMd5}`);
    }
    // The container may have gone, or another write won the race, while the body arrived.
    const c = this.container(account, container);
    this.checkConditions(c, object, input);
    const headers = { ...(input.headers ?? {}) };
    const contentType = input.contentType ?? headers['content-type'] ?? DEFAULT_CONTENT_TYPE;
    delete headers['content-type'];
    const ms = this.stamp();
    const info: ObjectInfo = {
      etag, contentLength: data.length, contentType, lastModified: Math.floor(ms), timestamp: formatTimestamp(ms),
      meta: { ...(input.meta ?? {}) }, headers,
    };
    if (!c.objects.has(object)) c.sorted = undefined;
    c.objects.set(object, { data, info });
    return cloneInfo(info);
  }

  async getObject(account: string, container: string, object: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    const o = this.object(account, container, object);
    const size = o.data.length;
    if (!opts.range) return { info: cloneInfo(o.info), body: Readable.from([o.data]) };
    const range = resolveRange(opts.range, size);
    return { info: cloneInfo(o.info), body: Readable.from([o.data.subarray(range.start, range.end + 1)]), range };
  }

  async headObject(account: string, container: string, object: string): Promise<ObjectInfo> {
    return cloneInfo(this.object(account, container, object).info);
  }

  async postObject(account: string, container: string, object: string, meta: Record<string, string>,
    headers: Record<string, string> = {}): Promise<void> {
    const o = this.object(account, container, object);
    const rest = { ...headers };
    if (rest['content-type'] !== undefined) {
      o.info.contentType = rest['content-type'];
      delete rest['content-type'];
    }
    const ms = this.stamp();
    o.info = { ...o.info, meta: { ...meta }, headers: { ...o.info.headers, ...rest }, timestamp: formatTimestamp(ms), lastModified: Math.floor(ms) };
  }

  async deleteObject(account: string, container: string, object: string): Promise<void> {
    this.object(account, container, object);
    const c = this.container(account, container);
    c.objects.delete(object);
    c.sorted = undefined;
  }
}

function cloneInfo(info: ObjectInfo): ObjectInfo {
  return { ...info, meta: { ...info.meta }, headers: { ...info.headers } };
}

/**
 * Resolves a requested range against an object's size (HTTP rules: the end is clamped,
 * a suffix takes the last bytes); an unsatisfiable range throws RangeNotSatisfiable.
 */
export function resolveRange(range: { start?: number; end?: number; suffix?: number }, size: number): { start: number; end: number } {
  if (range.suffix !== undefined) {
    if (range.suffix <= 0 || size === 0) throw new RangeNotSatisfiable('empty suffix range', size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  const start = range.start ?? 0;
  if (start >= size) throw new RangeNotSatisfiable(`range starts at ${start}, object has ${size} bytes`, size);
  const end = Math.min(range.end ?? size - 1, size - 1);
  if (end < start) throw new RangeNotSatisfiable(`range ${start}-${end} is empty`, size);
  return { start, end };
}
