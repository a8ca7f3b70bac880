/** Listing parameters as they travel in a node URL's query string (Swift's names). */
import { BadRequest } from '../common/errors.js';
import type { ListOptions } from '../proxy/backend.js';
import { MAX_LISTING_LIMIT } from './listing.js';

export function listOptionsToQuery(o: ListOptions): string {
  const q = new URLSearchParams();
  if (o.prefix) q.set('prefix', o.prefix);
  if (o.delimiter) q.set('delimiter', o.delimiter);
  if (o.marker) q.set('marker', o.marker);
  if (o.endMarker) q.set('end_marker', o.endMarker);
  if (o.limit !== undefined) q.set('limit', String(o.limit));
  if (o.reverse) q.set('reverse', 'true');
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function listOptionsFromQuery(q: URLSearchParams): ListOptions {
  const o: ListOptions = {};
  const s = (k: string) => q.get(k) ?? undefined;
  o.prefix = s('prefix');
  o.delimiter = s('delimiter');
  o.marker = s('marker');
  o.endMarker = s('end_marker');
  const limit = s('limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) > MAX_LISTING_LIMIT) throw new BadRequest('bad limit');
    o.limit = Number(limit);
  }
  o.reverse = q.get('reverse') === 'true';
  return o;
}
