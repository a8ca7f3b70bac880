/**
 * Content types of objects as Swift keeps them: a type guessed from the object name when the
 * client sends none (Python's mimetypes for common extensions), and the `;swift_bytes=N`
 * parameter Swift stores on a static large object's manifest so that listings show the large
 * object's size rather than the manifest's. The parameter never reaches a client.
 */

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

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

const SWIFT_BYTES = /;\s*swift_bytes=(\d+)\s*$/;

/** Splits a stored content type into what clients see and the large-object size, if any. */
export function splitSwiftBytes(stored: string): { contentType: string; swiftBytes?: number } {
  const m = SWIFT_BYTES.exec(stored);
  if (!m) return { contentType: stored };
  return { contentType: stored.slice(0, m.index), swiftBytes: Number(m[1]) };
}

export function withSwiftBytes(contentType: string, bytes: number): string {
  return `${splitSwiftBytes(contentType).contentType};swift_bytes=${bytes}`;
}
