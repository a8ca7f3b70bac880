/**
 * Conditional GET/HEAD (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) as
 * Swift's swob evaluates them, against the ETag and Last-Modified the client would see (for
 * large objects, the large object's ETag, not the manifest's).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { header } from './metadata.js';
import { parseHttpDate } from './http-dates.js';

export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

function etagList(value: string): string[] {
  return value.split(',').map((v) => v.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1')).filter((v) => v !== '');
}

/** Strips the quotes of an ETag. */
export function bareEtag(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

/** Evaluates the request's conditions for a resource with this ETag and modification time. */
export function evaluateConditions(headers: IncomingHttpHeaders, etag: string, lastModifiedMs: number): ConditionalOutcome {
  const current = bareEtag(etag);
  const lastModifiedSec = Math.ceil(lastModifiedMs / 1000);
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) {
    const list = etagList(ifMatch);
    if (!list.includes('*') && !list.includes(current)) return 'precondition-failed';
  }
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const list = etagList(ifNoneMatch);
    if (list.includes('*') || list.includes(current)) return 'not-modified';
  }
  const ius = parseHttpDate(header(headers, 'if-unmodified-since'));
  if (ifMatch === undefined && ius !== undefined && lastModifiedSec > Math.floor(ius / 1000)) return 'precondition-failed';
  const ims = parseHttpDate(header(headers, 'if-modified-since'));
  if (ifNoneMatch === undefined && ims !== undefined && lastModifiedSec <= Math.floor(ims / 1000)) return 'not-modified';
  return 'proceed';
}
