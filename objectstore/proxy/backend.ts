/**
 * The object store as the front ends see it: accounts, containers and objects with Swift's
 * semantics. The S3 front end (objectstore/s3) and the Swift front end (objectstore/swift)
 * both speak only to this interface; the replicated proxy (objectstore/proxy) implements it
 * over the ring and the storage nodes, and objectstore/proxy/memory-backend.ts implements it
 * in memory for unit tests (Swift's mem_server idea).
 *
 * Conventions
 * - Names: account, container and object are raw UTF-8 strings (no URL encoding). Object names
 *   are 1..1024 bytes; containers 1..256 bytes without '/'. Violations throw BadRequest.
 * - Metadata keys in `meta` are lower-case and carry no prefix (`x-object-meta-color: red`
 *   and S3's `x-amz-meta-color: red` are both `{ color: 'red' }`).
 * - `headers` carries the other headers a client may set and must get back verbatim
 *   (content-type, content-encoding, content-disposition, content-language, cache-control,
 *   expires, x-delete-at, x-object-manifest, x-static-large-object, x-amz-checksum-*, …),
 *   keys lower-case.
 * - ETags are lower-case hex MD5 without quotes; manifests (SLO/multipart) carry their own
 *   etag in meta and the front ends present it.
 * - Every write is stamped by the proxy with an X-Timestamp (Swift's `%016.05f`); newest wins.
 * - Failures are the typed errors of objectstore/common/errors.ts.
 */
import type { Readable } from 'node:stream';

/** Listing parameters shared by account and container listings (Swift's names). */
export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** Start strictly after this name. */
  marker?: string;
  /** Stop strictly before this name. */
  endMarker?: string;
  /** At most this many entries (subdirs count as entries); default and max 10000. */
  limit?: number;
  reverse?: boolean;
}

export interface ObjectEntry {
  name: string;
  bytes: number;
  etag: string;
  contentType: string;
  /** Milliseconds since the epoch, from the write's timestamp. */
  lastModified: number;
}

export interface ContainerEntry {
  name: string;
  count: number;
  bytes: number;
  lastModified: number;
}

/** A rolled-up prefix when a delimiter is given (S3 CommonPrefixes, Swift subdir). */
export interface SubdirEntry {
  subdir: string;
}

export interface ListPage<T> {
  entries: Array<T | SubdirEntry>;
  /** True when more entries follow the last one returned. */
  truncated: boolean;
}

export interface AccountInfo {
  containerCount: number;
  objectCount: number;
  bytesUsed: number;
  meta: Record<string, string>;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export interface ContainerInfo {
  objectCount: number;
  bytesUsed: number;
  meta: Record<string, string>;
  /** Other container settings the front ends keep verbatim (x-container-read, versions…). */
  headers: Record<string, string>;
  createdAt: number;
}

export interface ObjectInfo {
  etag: string;
  contentLength: number;
  contentType: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
  /** The write's X-Timestamp, `%016.05f`. */
  timestamp: string;
  meta: Record<string, string>;
  headers: Record<string, string>;
}

export interface PutObjectInput {
  body: Readable;
  /** Declared length; undefined for chunked bodies. A body of another length fails the write. */
  contentLength?: number;
  contentType?: string;
  meta?: Record<string, string>;
  headers?: Record<string, string>;
  /** The client's MD5 (hex); a body with another MD5 fails with ChecksumMismatch. */
  expectedMd5?: string;
  /** Conditional write: fail with PreconditionFailed if the object exists (If-None-Match: *). */
  ifNoneMatchStar?: boolean;
  /** Conditional write: fail with PreconditionFailed unless the current ETag is this. */
  ifMatch?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface GetObjectOptions {
  /** One satisfiable range, already resolved against the size by the caller if needed. */
  range?: { start?: number; end?: number; suffix?: number };
  /** Ask a quorum of replicas and return the newest (X-Newest). */
  newest?: boolean;
}

export interface GetObjectResult {
  info: ObjectInfo;
  /** The bytes; for a range, only the range. Errors mid-stream destroy the stream. */
  body: Readable;
  /** Present when a range was served. */
  range?: ByteRange;
}

export interface ObjectBackend {
  // Accounts
  headAccount(account: string): Promise<AccountInfo>;
  listContainers(account: string, opts?: ListOptions): Promise<ListPage<ContainerEntry>>;
  postAccount(account: string, meta: Record<string, string>): Promise<void>;

  // Containers
  /** Creates the container or updates its metadata; `created` is false if it existed. */
  putContainer(account: string, container: string, meta?: Record<string, string>,
    headers?: Record<string, string>): Promise<{ created: boolean }>;
  headContainer(account: string, container: string): Promise<ContainerInfo>;
  postContainer(account: string, container: string, meta: Record<string, string>,
    headers?: Record<string, string>): Promise<void>;
  /** Throws Conflict('not-empty') when objects remain, NotFound when absent. */
  deleteContainer(account: string, container: string): Promise<void>;
  listObjects(account: string, container: string, opts?: ListOptions): Promise<ListPage<ObjectEntry>>;

  // Objects
  putObject(account: string, container: string, object: string, input: PutObjectInput): Promise<ObjectInfo>;
  getObject(account: string, container: string, object: string, opts?: GetObjectOptions): Promise<GetObjectResult>;
  headObject(account: string, container: string, object: string, opts?: { newest?: boolean }): Promise<ObjectInfo>;
  /** Replaces user metadata (and the settable headers given), keeping the bytes. */
  postObject(account: string, container: string, object: string, meta: Record<string, string>,
    headers?: Record<string, string>): Promise<void>;
  deleteObject(account: string, container: string, object: string): Promise<void>;
}
