/**
 * Images: each desired image is kept once per host in the image pool, keyed by its sha256.
 * The bytes are streamed from the store into a new volume and hashed on the way; only when the
 * digest (and the format libvirt probes) match is the marker volume `<key>.ok` created. An image
 * volume without its marker is never used: it is what an interrupted or failed download left,
 * and is deleted before the next attempt. A mismatch deletes the volume at once and reports
 * ImageChecksumMismatch (retried with backoff). Deletes: images no desired image names and no
 * volume of the volume pool uses as its backing store.
 */
import { createHash, type Hash } from 'node:crypto';
import type { DesiredImage } from '../../contract/desired.js';
import { ConnectionLostError, NotFoundError } from '../../hypervisor/errors.js';
import type { VolumeInfo } from '../../hypervisor/hypervisor.js';
import type { PassContext } from '../context.js';
import {
  DependencyNotReadyError, ImageChecksumMismatchError, ImageFormatMismatchError, ImageHasBackingFileError, ImageNotFoundError,
} from '../errors.js';

/** Capacity of the marker volume (libvirt needs a non-zero size). */
const MARKER_BYTES = 1;

export async function reconcileImages(ctx: PassContext): Promise<void> {
  for (const img of Object.values(ctx.desired.images)) {
    const r = await ctx.attempt('images', img, () => applyImage(ctx, img));
    if (!r.ok) continue;
    const { info, sizeBytes } = r.value;
    ctx.ready.images.set(img.id, { path: info.path, format: img.format, capacityBytes: info.capacityBytes });
    ctx.observed.images[img.id] = { ...ctx.applied('images', img, 'ACTIVE'), sizeBytes, sha256: img.sha256 };
  }
}

async function applyImage(ctx: PassContext, img: DesiredImage): Promise<{ info: VolumeInfo; sizeBytes: number }> {
  if (!ctx.ready.pools) throw new DependencyNotReadyError(`pool ${ctx.naming.imagePool}`, 'the image pool could not be prepared');
  const { hv, naming } = ctx;
  const pool = naming.imagePool;
  const name = naming.image(img.sha256, img.format);
  const marker = naming.imageMarker(img.sha256);
  const vol = ctx.snapshot.images.get(name);
  if (vol && ctx.snapshot.images.has(marker)) return { info: vol, sizeBytes: vol.allocationBytes };
  // Left by an interrupted download: not verified, so not usable.
  if (vol) await deleteQuietly(ctx, pool, name);
  if (ctx.snapshot.images.has(marker)) await deleteQuietly(ctx, pool, marker);

  const object = await ctx.store.getImage(img.source.bucket, img.source.key);
  if (!object) throw new ImageNotFoundError(img.id, img.source.bucket, img.source.key);
  const hash = createHash('sha256');
  let info: VolumeInfo;
  try {
    await hv.createVolume(pool, { name, format: 'raw', capacityBytes: Math.max(1, object.size) });
  } catch (e) {
    discard(object.body);
    throw e;
  }
  try {
    info = await hv.uploadVolume(pool, name, hashing(object.body, hash), object.size);
    const digest = hash.digest('hex');
    if (digest !== img.sha256) throw new ImageChecksumMismatchError(img.id, img.sha256, digest);
    if (info.format !== img.format) throw new ImageFormatMismatchError(img.id, img.format, info.format);
    // An image naming its own backing file would let a guest read any file of the host.
    if (info.backingStore) throw new ImageHasBackingFileError(img.id, info.backingStore.path);
    await hv.createVolume(pool, { name: marker, format: 'raw', capacityBytes: MARKER_BYTES });
  } catch (e) {
    discard(object.body);
    if (!(e instanceof ConnectionLostError)) await deleteQuietly(ctx, pool, name);
    throw e;
  }
  ctx.snapshot.images.set(name, info);
  ctx.event({
    resourceKind: 'images', resource: img.id, action: 'created', reason: 'Created',
    message: `image ${img.id} downloaded (${object.size} bytes), sha256 verified, kept as ${pool}/${name}`, result: 'ok',
  });
  return { info, sizeBytes: object.size };
}

/** Passes chunks through while feeding them to `hash`. */
async function* hashing(source: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Releases a body that will not be read to its end (an HTTP socket otherwise stays busy). */
function discard(body: AsyncIterable<Uint8Array>): void {
  const b = body as { destroy?: () => void; return?: () => unknown };
  if (typeof b.destroy === 'function') b.destroy();
  else if (typeof b.return === 'function') void Promise.resolve(b.return()).catch(() => undefined);
}

async function deleteQuietly(ctx: PassContext, pool: string, name: string): Promise<void> {
  try {
    await ctx.hv.deleteVolume(pool, name);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  ctx.snapshot.images.delete(name);
}

/** Deletes images of the image pool that no desired image names and no volume is backed by. */
export async function deleteImages(ctx: PassContext): Promise<void> {
  if (!ctx.ready.pools) return;
  const { hv, naming } = ctx;
  const pool = naming.imagePool;
  const wantedKeys = new Set(Object.values(ctx.desired.images).map((i) => naming.imageKeyOf(naming.imageMarker(i.sha256))));
  const backing = new Set((await hv.listVolumes(naming.volumePool)).map((v) => v.backingStore?.path).filter(Boolean));
  const byKey = new Map<string, VolumeInfo[]>();
  for (const v of await hv.listVolumes(pool)) {
    const key = naming.imageKeyOf(v.name);
    if (!key) continue;
    byKey.set(key, [...(byKey.get(key) ?? []), v]);
  }
  for (const [key, vols] of byKey) {
    if (wantedKeys.has(key) || vols.some((v) => backing.has(v.path))) continue;
    // Marker first: an image without its marker is never used again.
    const ordered = [...vols].sort((a, b) => Number(b.name.endsWith('.ok')) - Number(a.name.endsWith('.ok')));
    try {
      for (const v of ordered) await hv.deleteVolume(pool, v.name);
    } catch (e) {
      if (e instanceof ConnectionLostError) throw e;
      ctx.hostError('DeleteFailed', `image ${key}: ${(e as Error).message}`);
      continue;
    }
    const id = Object.entries(ctx.previous?.images ?? {}).find(([, o]) => o.sha256?.startsWith(key))?.[0];
    if (id) ctx.observed.images[id] = ctx.entry('images', id, 'DELETED');
    ctx.event({ resourceKind: 'images', resource: id ?? key, action: 'deleted', reason: 'Removed', message: `image ${key} deleted: no volume uses it`, result: 'ok' });
  }
}
