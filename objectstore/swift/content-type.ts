/**
 * Content types of objects as Swift keeps them: a type guessed from the object name when the
 * client sends none (Python's mimetypes for common extensions), and the listing parameters a
 * large object's manifest carries in its stored content type, as Swift's container server
 * keeps them: `;swift_bytes=<total size>;slo_etag=<etag>` (and `;s3_etag=<md5-N>` on manifests
 * the S3 front end wrote, same format as objectstore/proxy/large-object.ts). Listings use them
 * to show the large object's size; they never reach a client.
 */

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** Parameters the store adds to a manifest's content type for listings. */
export const LISTING_PARAMS = ['swift_bytes', 'slo_etag', 's3_etag'];

const BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain', html: 'text/html', htm: 'text/html', css: 'text/css', csv: 'text/csv', xml: 'text/xml',
  json: 'application/json', js: 'application/javascript', pdf: 'application/pdf', zip: 'application/zip',
  gz: 'application/gzip', tgz: 'application/x-tar', tar: 'application/x-tar', bz2: 'application/x-bzip2',
  xz: 'application/x-xz', iso: 'application/x-iso9660-image', img: 'application/octet-stream',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml',
  yaml: 'application/yaml', yml: 'application/yaml', sh: 'application/x-sh', py: 'text/x-python',
  mp4: 'video/mp4', mp3: 'audio/mpeg',
};

/** Guesses the content type from the object name's extension. */
export function guessContentType(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return BY_EXTENSION[base.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

export interface StoredContentType {
  /** What clients see. */
  contentType: string;
  /** Size of the large object, for manifests. */
  swiftBytes?: number;
  sloEtag?: string;
}

/** Splits a stored content type into what clients see and the listing parameters. */
export function splitSwiftBytes(stored: string): StoredContentType {
  if (!stored.includes('swift_bytes=')) return { contentType: stored };
  const parts = stored.split(';');
  const keep: string[] = [parts[0]!];
  const out: StoredContentType = { contentType: '' };
  for (const p of parts.slice(1)) {
    const [k, v] = p.trim().split('=') as [string, string | undefined];
    if (k === 'swift_bytes') out.swiftBytes = Number(v);
    else if (k === 'slo_etag') out.sloEtag = v;
    else if (!LISTING_PARAMS.includes(k)) keep.push(p);
  }
  out.contentType = keep.join(';');
  return out;
}

/** A manifest's stored content type: the client's type plus the listing parameters. */
export function withSwiftBytes(contentType: string, bytes: number, sloEtag: string): string {
  return `${splitSwiftBytes(contentType).contentType};swift_bytes=${bytes};slo_etag=${sloEtag}`;
}
