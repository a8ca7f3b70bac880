/**
 * Parses Swift request paths `/v1/<account>[/<container>[/<object>]]` from the raw URL
 * (so an encoded `%2F` stays inside an object name) and checks names with Swift's rules and
 * messages: 412 for invalid UTF-8 or NUL, 400 for names that are too long or a container
 * with '/'.
 */
import { PLAIN_TEXT, SwiftError } from './errors.js';

/** Swift's constraints.MAX_OBJECT_NAME_LENGTH (bytes). */
export const MAX_OBJECT_NAME_LENGTH = 1024;
/** Swift's constraints.MAX_CONTAINER_NAME_LENGTH (bytes). */
export const MAX_CONTAINER_NAME_LENGTH = 256;
/** Swift's constraints.MAX_ACCOUNT_NAME_LENGTH (bytes). */
export const MAX_ACCOUNT_NAME_LENGTH = 256;

export interface SwiftPath {
  /** The path's account segment as sent, e.g. `AUTH_alice`. */
  account: string;
  container?: string;
  object?: string;
}

function decode(segment: string): string {
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    throw new SwiftError(412, 'Invalid UTF8 or contains NULL');
  }
  if (text.includes('\0')) throw new SwiftError(412, 'Invalid UTF8 or contains NULL');
  return text;
}

/** Splits a raw URL (path and query) into its query string and the decoded Swift path. */
export function parseSwiftUrl(rawUrl: string): { path: SwiftPath; query: URLSearchParams } {
  const q = rawUrl.indexOf('?');
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const query = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '');
  const m = /^\/v1\/([^/]+)(?:\/([^/]*)(?:\/(.*))?)?$/s.exec(rawPath);
  if (!m) throw new SwiftError(400, 'Invalid path');
  const account = decode(m[1]!);
  if (Buffer.byteLength(account) > MAX_ACCOUNT_NAME_LENGTH) {
    throw new SwiftError(400, `Account name length of ${Buffer.byteLength(account)} longer than ${MAX_ACCOUNT_NAME_LENGTH}`);
  }
  const path: SwiftPath = { account };
  if (m[2] === undefined || m[2] === '') {
    if (m[3]) throw new SwiftError(400, 'Invalid path');
    return { path, query };
  }
  path.container = decode(m[2]);
  const cbytes = Buffer.byteLength(path.container);
  if (cbytes > MAX_CONTAINER_NAME_LENGTH) {
    throw new SwiftError(400, `Container name length of ${cbytes} longer than ${MAX_CONTAINER_NAME_LENGTH}`);
  }
  if (m[3] !== undefined && m[3] !== '') {
    path.object = decode(m[3]);
    checkObjectName(path.object);
  }
  return { path, query };
}

/** Throws Swift's 400 for an object name longer than the limit. */
export function checkObjectName(object: string): void {
  const bytes = Buffer.byteLength(object);
  if (bytes > MAX_OBJECT_NAME_LENGTH) {
    throw new SwiftError(400, `Object name length of ${bytes} longer than ${MAX_OBJECT_NAME_LENGTH}`, PLAIN_TEXT);
  }
  if (bytes === 0) throw new SwiftError(400, 'Object name is empty', PLAIN_TEXT);
}

/**
 * Splits `<container>/<object>` as used by X-Copy-From, Destination, X-Object-Manifest and SLO
 * segment paths (URL-encoded; a leading '/' is ignored). 412 when there is no object part,
 * as Swift answers for a bad X-Copy-From.
 */
export function splitContainerObject(value: string, header: string): { container: string; object: string } {
  const text = decode(value).replace(/^\/+/, '');
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) {
    throw new SwiftError(412, `${header} header must be of the form <container name>/<object name>`);
  }
  const container = text.slice(0, slash);
  const object = text.slice(slash + 1);
  if (Buffer.byteLength(container) > MAX_CONTAINER_NAME_LENGTH) {
    throw new SwiftError(400, `Container name length of ${Buffer.byteLength(container)} longer than ${MAX_CONTAINER_NAME_LENGTH}`);
  }
  checkObjectName(object);
  return { container, object };
}
