/**
 * The object-store client that the controller and the agents share: JSON state documents and
 * image bytes in one bucket, over the S3 API with @aws-sdk/client-s3 at its default settings,
 * so the built-in store and any S3-compatible endpoint (AWS S3, Ceph RGW, Swift s3api) serve
 * alike. Conditional reads (If-None-Match) make polling cheap: an unchanged document costs a 304.
 */
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';

export const DEFAULT_STATE_BUCKET = 'ringstack-state';

export interface StateClientOptions {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket?: string;
  region?: string;
  /** Path-style addressing (default true: the built-in store and most private endpoints). */
  forcePathStyle?: boolean;
  /** Attempts per request, including the first (SDK retry with backoff). */
  maxAttempts?: number;
}

export type ConditionalRead<T> =
  | { status: 'ok'; etag: string; value: T; lastModified?: Date }
  | { status: 'not-modified'; etag: string }
  | { status: 'missing' };

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
}

/** A precondition (If-Match / If-None-Match) on a write did not hold. */
export class StatePreconditionFailed extends Error {
  override name = 'StatePreconditionFailed';
}

/** The document exists but is not valid JSON. */
export class StateDocumentCorrupt extends Error {
  override name = 'StateDocumentCorrupt';
}

function statusOf(e: unknown): number | undefined {
  return (e as S3ServiceException)?.$metadata?.httpStatusCode;
}

export class StateClient {
  readonly s3: S3Client;
  readonly bucket: string;

  constructor(opts: StateClientOptions) {
    this.bucket = opts.bucket ?? DEFAULT_STATE_BUCKET;
    this.s3 = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? true,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      maxAttempts: opts.maxAttempts ?? 3,
    });
  }

  /** Creates the bucket unless it exists (owned by us). */
  async ensureBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    try {
      await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const name = (e as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && statusOf(e) !== 409) throw e;
    }
  }

  /**
   * Reads a JSON document. With `etag`, an unchanged document answers `not-modified`
   * without a body (the agents' cheap poll).
   */
  async getJson<T>(key: string, etag?: string): Promise<ConditionalRead<T>> {
    let res;
    try {
      res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfNoneMatch: etag ? `"${etag}"` : undefined }));
    } catch (e) {
      const status = statusOf(e);
      if (status === 304 && etag) return { status: 'not-modified', etag };
      if (status === 404) return { status: 'missing' };
      throw e;
    }
    const text = await res.Body!.transformToString('utf8');
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch (e) {
      throw new StateDocumentCorrupt(`${this.bucket}/${key} is not valid JSON: ${(e as Error).message}`);
    }
    return { status: 'ok', etag: unquote(res.ETag), value, lastModified: res.LastModified };
  }

  /**
   * Writes a JSON document (already serialised, so callers control byte-exact output).
   * `ifMatch` / `ifNoneMatch: '*'` make the write conditional; a failed condition throws
   * StatePreconditionFailed. Returns the new ETag.
   */
  async putJson(key: string, body: string, cond: { ifMatch?: string; ifNoneMatch?: '*' } = {}): Promise<string> {
    try {
      const res = await this.s3.send(new PutObjectCommand({
        // Bytes, not the string: the SDK would otherwise convert a large document (the 26 MB
        // whole state) to UTF-8 once for its length, once for the signature and once per checksum.
        Bucket: this.bucket, Key: key, Body: Buffer.from(body, 'utf8'), ContentType: 'application/json',
        IfMatch: cond.ifMatch ? `"${cond.ifMatch}"` : undefined, IfNoneMatch: cond.ifNoneMatch,
      }));
      return unquote(res.ETag);
    } catch (e) {
      if (statusOf(e) === 412) throw new StatePreconditionFailed(`${this.bucket}/${key}: precondition failed`);
      throw e;
    }
  }

  /** Uploads bytes of any size (multipart above 8 MiB), streaming. */
  async putStream(key: string, body: Readable | Buffer, contentType = 'application/octet-stream'): Promise<void> {
    await new Upload({ client: this.s3, params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType } }).done();
  }

  /** Streams an object's bytes; undefined when it does not exist. */
  async getStream(key: string): Promise<{ body: Readable; size: number; etag: string } | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { body: res.Body as Readable, size: res.ContentLength ?? 0, etag: unquote(res.ETag) };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<{ size: number; etag: string; lastModified?: Date } | undefined> {
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: res.ContentLength ?? 0, etag: unquote(res.ETag), lastModified: res.LastModified };
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** Every object under `prefix`, in key order, page after page. */
  async *list(prefix: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const res = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) {
        yield { key: o.Key!, size: o.Size ?? 0, etag: unquote(o.ETag), lastModified: o.LastModified };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes a key; deleting a missing key is not an error. */
  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  close(): void {
    this.s3.destroy();
  }
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}
