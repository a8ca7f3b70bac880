/**
 * What a GET or HEAD of an object serves: the object's own bytes, or for a static or dynamic
 * large object the concatenation of its segments. Resolves size, the ETag the client sees
 * (plain md5 for ordinary objects, quoted md5-of-etags for large objects) and opens byte
 * ranges lazily, so the handlers treat all three kinds alike (ranges, conditionals, COPY).
 * Expired objects (X-Delete-At passed) are removed here and reported as NotFound.
 */
import type { Readable } from 'node:stream';
import type { ByteRange, ObjectBackend, ObjectInfo } from '../proxy/backend.js';
import { NotFound } from '../common/errors.js';
import { isExpired, reapIfExpired } from './expiry.js';
import { DLO_HEADER, dloManifestOf, resolveDlo } from './dlo.js';
import {
  expandSloSegments, isSlo, parseStoredManifest, SLO_ETAG_HEADER, SLO_SIZE_HEADER, sloEtagOf, type StoredSegment,
} from './slo.js';
import { segmentLength, streamSegments, type Segment } from './segments.js';

export type ObjectKind = 'plain' | 'slo' | 'dlo';

export interface ObjectSource {
  /** The stored object (for large objects, the manifest). */
  info: ObjectInfo;
  kind: ObjectKind;
  /** Bytes a full GET serves. */
  size: number;
  /** ETag header value as Swift sends it (quoted for large objects). */
  etag: string;
  /** Headers that only large objects carry (X-Static-Large-Object, X-Manifest-Etag…). */
  extraHeaders: Record<string, string>;
  /** The stored SLO manifest, for `multipart-manifest=get` and COPY of manifests. */
  manifest?: StoredSegment[];
  /** The stored SLO manifest's bytes as kept. */
  manifestBody?: Buffer;
  /** Opens the whole body or one range (inclusive). */
  open(range?: ByteRange): Promise<Readable>;
  /** Releases a body fetched in advance and never used. */
  dispose(): void;
}

async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Resolves an object for reading. `prefetch` fetches the body together with the metadata
 * (one backend call for a plain GET without a range); otherwise only the metadata is read
 * until `open` is called.
 */
export async function resolveObject(backend: ObjectBackend, account: string, container: string, object: string,
  opts: { prefetch: boolean; newest?: boolean; asManifest?: boolean }): Promise<ObjectSource> {
  let info: ObjectInfo;
  let pending: Readable | undefined;
  if (opts.prefetch) {
    const got = await backend.getObject(account, container, object, { newest: opts.newest });
    info = got.info;
    pending = got.body;
  } else {
    info = await backend.headObject(account, container, object, { newest: opts.newest });
  }
  if (isExpired(info)) {
    pending?.destroy();
    await reapIfExpired(backend, account, container, object);
    throw new NotFound(`object ${container}/${object} expired`, 'object');
  }
  const dispose = (): void => {
    pending?.destroy();
    pending = undefined;
  };
  const plainOpen = async (range?: ByteRange): Promise<Readable> => {
    if (!range && pending) {
      const body = pending;
      pending = undefined;
      return body;
    }
    dispose();
    const got = await backend.getObject(account, container, object, range ? { range } : {});
    return got.body;
  };
  const plain: ObjectSource = {
    info, kind: 'plain', size: info.contentLength, etag: info.etag, extraHeaders: {}, open: plainOpen, dispose,
  };
  if (isSlo(info) && !opts.asManifest && !pending && info.headers[SLO_SIZE_HEADER] && info.headers[SLO_ETAG_HEADER]) {
    // HEAD, ranged GET: size and etag are in the manifest's headers; read the segment list
    // only when bytes are asked for (Swift answers such HEADs from sysmeta too).
    const size = Number(info.headers[SLO_SIZE_HEADER]);
    let segments: Promise<Segment[]> | undefined;
    const load = (): Promise<Segment[]> => (segments ??= (async () =>
      expandSloSegments(backend, account, parseStoredManifest(await readBody(await plainOpen()))))());
    return {
      info, kind: 'slo', size, etag: `"${info.headers[SLO_ETAG_HEADER]}"`,
      extraHeaders: { 'x-static-large-object': 'True', 'x-manifest-etag': info.etag },
      open: async (range?: ByteRange) => streamSegments(backend, account, await load(), range?.start ?? 0, range?.end ?? size - 1),
      dispose,
    };
  }
  if (isSlo(info)) {
    const manifestBody = await readBody(await plainOpen());
    const manifest = parseStoredManifest(manifestBody);
    if (opts.asManifest) {
      return { ...plain, manifest, manifestBody, extraHeaders: { 'x-static-large-object': 'True' } };
    }
    const segments = await expandSloSegments(backend, account, manifest);
    const size = segments.reduce((n, s) => n + segmentLength(s), 0);
    const sloEtag = info.headers[SLO_ETAG_HEADER] || sloEtagOf(manifest);
    return largeSource(backend, account, info, 'slo', segments, size, `"${sloEtag}"`,
      { 'x-static-large-object': 'True', 'x-manifest-etag': info.etag }, manifest);
  }
  const dlo = dloManifestOf(info);
  if (dlo !== undefined && !opts.asManifest) {
    dispose();
    const view = await resolveDlo(backend, account, dlo);
    return largeSource(backend, account, info, 'dlo', view.segments, view.size, `"${view.etag}"`, { [DLO_HEADER]: dlo });
  }
  return plain;
}

function largeSource(backend: ObjectBackend, account: string, info: ObjectInfo, kind: ObjectKind, segments: Segment[],
  size: number, etag: string, extraHeaders: Record<string, string>, manifest?: StoredSegment[]): ObjectSource {
  return {
    info, kind, size, etag, extraHeaders, manifest,
    open: async (range?: ByteRange) => streamSegments(backend, account, segments, range?.start ?? 0, range?.end ?? size - 1),
    dispose: () => undefined,
  };
}
