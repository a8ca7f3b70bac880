/**
 * One S3 request as the operation handlers see it: the user and account, bucket and key from
 * path-style or virtual-host-style addressing, the decoded query, headers, and the raw body
 * stream. Also the addressing rules (bucket names, key length) that decide those.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { ObjectBackend } from '../proxy/backend.js';
import type { User } from '../auth/users.js';
import type { AuthResult } from './sigv4.js';
import { parseQuery } from './sigv4.js';
import { S3Error } from './errors.js';

/** Longest key in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Suffix of the container holding a bucket's multipart segments and upload state. */
export const SEGMENTS_SUFFIX = '+segments';

export interface S3Options {
  backend: ObjectBackend;
  users: import('../auth/users.js').UserDirectory;
  /** Region reported by GetBucketLocation and x-amz-bucket-region (default us-east-1). */
  region: string;
  /** Base domain for virtual-host-style addressing (`<bucket>.<domain>`). */
  domain?: string;
  /** Manages users for the admin route (`ringstack user`), when the store keeps them. */
  userAdmin?: import('../auth/store-user-directory.js').UserAdmin;
  /** Which buckets can hold multipart objects (skips a HEAD before most writes). */
  multipartBuckets: import('./multipart-buckets.js').MultipartBuckets;
}

export interface S3Request {
  method: string;
  requestId: string;
  rawUrl: string;
  bucket?: string;
  key?: string;
  query: Map<string, string>;
  headers: FastifyRequest['headers'];
  user: User;
  auth: AuthResult;
  /** The request body exactly as received (possibly aws-chunked). */
  raw: Readable;
  reply: FastifyReply;
  opts: S3Options;
}

export function header(req: { headers: FastifyRequest['headers'] }, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Paths the proxy serves for Swift on the same port (`/info`, `/healthcheck`, `/auth/v1.0`, `/v1.0`):
 * buckets of these names could not be reached, so they cannot be created.
 */
export const RESERVED_BUCKET_NAMES = ['info', 'healthcheck', 'auth', 'v1.0'];

/** Checks S3's bucket naming rules (3-63 characters, lower-case letters, digits, dots, hyphens). */
export function checkBucketName(name: string): void {
  const ok = name.length >= 3 && name.length <= 63 && /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name) && !name.startsWith('xn--') && !name.endsWith('-s3alias');
  if (!ok) throw new S3Error('InvalidBucketName', `The specified bucket is not valid: "${name}".`, { BucketName: name });
  if (RESERVED_BUCKET_NAMES.includes(name)) {
    throw new S3Error('InvalidBucketName', `The bucket name "${name}" is reserved: this port serves the Swift API's /${name} path.`, { BucketName: name });
  }
}

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError');
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new S3Error('InvalidArgument', 'The request path is not valid percent-encoded UTF-8.');
  }
}

/**
 * Splits a request into bucket and key. Virtual-host style when the Host is `<bucket>.<domain>`
 * for the configured domain; path style otherwise (`/<bucket>/<key>`).
 */
export function resolveTarget(host: string | undefined, rawUrl: string, domain?: string): { bucket?: string; key?: string; query: Map<string, string> } {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new Map(parseQuery(q < 0 ? '' : rawUrl.slice(q + 1)));
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (domain && hostname.endsWith(`.${domain.toLowerCase()}`)) {
    const bucket = hostname.slice(0, -(domain.length + 1));
    const key = decodePath(rawPath.slice(1));
    return { bucket, key: key === '' ? undefined : key, query };
  }
  const path = rawPath.slice(1);
  if (path === '') return { query };
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decodePath(path), query };
  const key = decodePath(path.slice(slash + 1));
  return { bucket: decodePath(path.slice(0, slash)), key: key === '' ? undefined : key, query };
}
