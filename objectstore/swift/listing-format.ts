/**
 * Account and container listings in Swift's three formats (listing_formats middleware):
 * the format comes from `?format=` (json, xml, anything else plain) or the Accept header;
 * JSON is written as Python's json.dumps writes it (ASCII only, ", " and ": " separators);
 * XML as Swift's ElementTree output; plain is one name per line. An empty plain listing is
 * answered with 204 No Content. Also parses the listing query parameters (412 for a limit
 * above 10000, as Swift's proxy answers).
 */
import type { ContainerEntry, ListOptions, ObjectEntry, SubdirEntry } from '../proxy/backend.js';
import { SwiftError } from './errors.js';
import { listingDate } from './http-dates.js';

/** Swift's CONTAINER_LISTING_LIMIT and ACCOUNT_LISTING_LIMIT. */
export const LISTING_LIMIT = 10000;

export type ListingType = 'text/plain' | 'application/json' | 'application/xml' | 'text/xml';
const OFFERS: ListingType[] = ['text/plain', 'application/json', 'application/xml', 'text/xml'];
const FORMATS: Record<string, ListingType> = { json: 'application/json', xml: 'application/xml', plain: 'text/plain' };

/** Picks the listing format: `format=` wins, then the Accept header; 406 when nothing fits. */
export function listingContentType(format: string | null, accept: string | undefined): ListingType {
  if (format) return FORMATS[format.toLowerCase()] ?? 'text/plain';
  if (!accept || !accept.trim()) return 'text/plain';
  const ranges = accept.split(',').map((part) => {
    const [range, ...params] = part.trim().split(';');
    const [type, sub] = (range ?? '').trim().toLowerCase().split('/');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q' && v !== undefined) q = Number(v);
    }
    return { type, sub, q: Number.isFinite(q) ? q : 0 };
  });
  let best: ListingType | undefined;
  let bestQ = 0;
  for (const offer of OFFERS) {
    const [otype, osub] = offer.split('/') as [string, string];
    // The most specific matching range decides the offer's quality (RFC 9110).
    let q: number | undefined;
    let specificity = -1;
    for (const r of ranges) {
      let s: number;
      if (r.type === otype && r.sub === osub) s = 2;
      else if (r.type === otype && r.sub === '*') s = 1;
      else if (r.type === '*' && r.sub === '*') s = 0;
      else continue;
      if (s > specificity) {
        specificity = s;
        q = r.q;
      }
    }
    if (q !== undefined && q > bestQ) {
      best = offer;
      bestQ = q;
    }
  }
  if (!best) throw new SwiftError(406);
  return best;
}

/**
 * Content-Type of a listing response, plus `Vary: Accept` when the Accept header chose it
 * (no `format=`), as Swift's listing_formats middleware answers.
 */
export function listingTypeHeaders(ctx: { query: URLSearchParams }, type: ListingType): Record<string, string> {
  const out: Record<string, string> = { 'content-type': `${type}; charset=utf-8` };
  if (!ctx.query.has('format')) out.vary = 'Accept';
  return out;
}

/** Reads prefix, delimiter, marker, end_marker, limit and reverse from a listing query. */
export function listOptions(query: URLSearchParams): ListOptions {
  const opts: ListOptions = {};
  const prefix = query.get('prefix');
  if (prefix) opts.prefix = prefix;
  const delimiter = query.get('delimiter');
  // Swift 2.30 accepts delimiters of any length.
  if (delimiter) opts.delimiter = delimiter;
  const marker = query.get('marker');
  if (marker) opts.marker = marker;
  const endMarker = query.get('end_marker');
  if (endMarker) opts.endMarker = endMarker;
  const limit = query.get('limit');
  // Swift ignores a limit that is not a plain number.
  if (limit !== null && /^\d+$/.test(limit)) {
    const n = Number(limit);
    if (n > LISTING_LIMIT) throw new SwiftError(412, `Maximum limit is ${LISTING_LIMIT}`);
    opts.limit = n;
  }
  const reverse = query.get('reverse');
  if (reverse && ['true', '1', 'yes', 'on', 't', 'y'].includes(reverse.toLowerCase())) opts.reverse = true;
  return opts;
}

/** A JSON string as Python's json.dumps writes it (ensure_ascii). */
function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

type Row = Array<[string, string | number]>;

function pyObject(row: Row): string {
  return `{${row.map(([k, v]) => `${pyString(k)}: ${typeof v === 'number' ? String(v) : pyString(v)}`).join(', ')}}`;
}

function xmlEscape(s: string, attr = false): string {
  let out = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (attr) out = out.replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
  return out;
}

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

function isSubdir(e: object): e is SubdirEntry {
  return 'subdir' in e;
}

/** One object entry as Swift's container server lists it. */
export interface ObjectRow {
  name: string;
  hash: string;
  bytes: number;
  contentType: string;
  lastModified: number;
  /** Present for static large objects (the quoted SLO etag). */
  sloEtag?: string;
}

export function objectRow(e: ObjectEntry): ObjectRow {
  return { name: e.name, hash: e.etag, bytes: e.bytes, contentType: e.contentType, lastModified: e.lastModified };
}

/** Renders a container listing; undefined body means 204 (empty plain listing). */
export function renderContainerListing(type: ListingType, container: string, entries: Array<ObjectRow | SubdirEntry>): string {
  if (type === 'application/json') {
    return `[${entries.map((e) => {
      if (isSubdir(e)) return pyObject([['subdir', e.subdir]]);
      const row: Row = [['bytes', e.bytes], ['hash', e.hash], ['name', e.name], ['content_type', e.contentType],
        ['last_modified', listingDate(e.lastModified)]];
      if (e.sloEtag) row.push(['slo_etag', e.sloEtag]);
      return pyObject(row);
    }).join(', ')}]`;
  }
  if (type === 'text/plain') return entries.map((e) => `${isSubdir(e) ? e.subdir : e.name}\n`).join('');
  const items = entries.map((e) => {
    if (isSubdir(e)) return `<subdir name="${xmlEscape(e.subdir, true)}"><name>${xmlEscape(e.subdir)}</name></subdir>`;
    return `<object><name>${xmlEscape(e.name)}</name><hash>${xmlEscape(e.hash)}</hash><bytes>${e.bytes}</bytes>`
      + `<content_type>${xmlEscape(e.contentType)}</content_type><last_modified>${listingDate(e.lastModified)}</last_modified></object>`;
  });
  const name = xmlEscape(container, true);
  return items.length ? `${XML_DECL}<container name="${name}">${items.join('')}</container>` : `${XML_DECL}<container name="${name}" />`;
}

/** Renders an account listing. */
export function renderAccountListing(type: ListingType, account: string, entries: Array<ContainerEntry | SubdirEntry>): string {
  if (type === 'application/json') {
    return `[${entries.map((e) => (isSubdir(e)
      ? pyObject([['subdir', e.subdir]])
      : pyObject([['name', e.name], ['count', e.count], ['bytes', e.bytes], ['last_modified', listingDate(e.lastModified)]])))
      .join(', ')}]`;
  }
  if (type === 'text/plain') return entries.map((e) => `${isSubdir(e) ? e.subdir : e.name}\n`).join('');
  const items = entries.map((e) => (isSubdir(e)
    ? `<subdir name="${xmlEscape(e.subdir, true)}" />\n`
    : `<container><name>${xmlEscape(e.name)}</name><count>${e.count}</count><bytes>${e.bytes}</bytes>`
      + `<last_modified>${listingDate(e.lastModified)}</last_modified></container>\n`));
  return `${XML_DECL}<account name="${xmlEscape(account, true)}">\n${items.join('')}</account>`;
}
