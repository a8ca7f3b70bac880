/**
 * Volumes: qcow2 files in the volume pool, either an overlay on a verified image (its
 * backing store; boot disks and data volumes with a source image) or blank, with at least the
 * requested size (an overlay is never smaller than its image). A smaller existing volume is
 * grown; shrinking is refused. Deletes: volumes of ours no desired volume names and no domain
 * uses, unless the local record says (or does not know whether) they are retained on delete;
 * then seeds no desired instance and no domain uses.
 */
import type { DesiredVolume } from '../../contract/desired.js';
import { ConnectionLostError, NotFoundError } from '../../hypervisor/errors.js';
import type { VolumeInfo } from '../../hypervisor/hypervisor.js';
import type { PassContext } from '../context.js';
import { DependencyNotReadyError, UnsupportedSpecError } from '../errors.js';

export const GIB = 1024 ** 3;

export async function reconcileVolumes(ctx: PassContext): Promise<void> {
  for (const vol of Object.values(ctx.desired.volumes)) {
    const name = ctx.naming.volume(vol.id, vol.name);
    ctx.record.setVolume(name, { id: vol.id, retainOnDelete: vol.retainOnDelete });
    const r = await ctx.attempt('volumes', vol, () => applyVolume(ctx, vol, name));
    if (!r.ok) continue;
    const info = r.value;
    ctx.ready.volumes.set(vol.id, info);
    ctx.observed.volumes[vol.id] = {
      ...ctx.applied('volumes', vol, 'ACTIVE'), capacityBytes: info.capacityBytes, allocationBytes: info.allocationBytes, path: info.path,
    };
  }
}

async function applyVolume(ctx: PassContext, vol: DesiredVolume, name: string): Promise<VolumeInfo> {
  if (!ctx.ready.pools) throw new DependencyNotReadyError(`pool ${ctx.naming.volumePool}`, 'the volume pool could not be prepared');
  const { hv } = ctx;
  const pool = ctx.naming.volumePool;
  const wantBytes = vol.sizeGiB * GIB;
  const existing = ctx.snapshot.volumes.get(name);
  if (existing) {
    if (existing.capacityBytes >= wantBytes) return existing;
    const grown = await hv.resizeVolume(pool, name, wantBytes);
    ctx.event({ resourceKind: 'volumes', resource: vol.id, action: 'updated', reason: 'SpecChanged', message: `volume ${name} grown to ${vol.sizeGiB} GiB`, result: 'ok' });
    return grown;
  }
  let backingStore: { path: string; format: 'qcow2' | 'raw' } | undefined;
  let capacityBytes = wantBytes;
  if (vol.backingImage) {
    const img = ctx.ready.images.get(vol.backingImage);
    if (!img) {
      const why = ctx.observed.images[vol.backingImage]?.lastError?.message ?? 'not on this host';
      throw new DependencyNotReadyError(`image ${vol.backingImage}`, why);
    }
    if (img.capacityBytes > wantBytes && vol.role === 'data') {
      throw new UnsupportedSpecError('VolumeSmallerThanImage', `volume ${vol.id} (${vol.sizeGiB} GiB) is smaller than its image ${vol.backingImage}`);
    }
    backingStore = { path: img.path, format: img.format };
    capacityBytes = Math.max(wantBytes, img.capacityBytes);
  }
  const info = await hv.createVolume(pool, { name, format: 'qcow2', capacityBytes, ...(backingStore ? { backingStore } : {}) });
  ctx.snapshot.volumes.set(name, info);
  ctx.event({
    resourceKind: 'volumes', resource: vol.id, action: 'created', reason: 'Created',
    message: `volume ${name} created (${vol.sizeGiB} GiB${backingStore ? `, overlay on ${backingStore.path}` : ', blank'})`, result: 'ok',
  });
  return info;
}

/** Deletes volumes and seeds of ours that nothing desired and no domain uses (retained volumes stay). */
export async function deleteVolumes(ctx: PassContext): Promise<void> {
  if (!ctx.ready.pools) return;
  const { hv, naming, record } = ctx;
  const pool = naming.volumePool;
  const wanted = new Set(Object.values(ctx.desired.volumes).map((v) => naming.volume(v.id, v.name)));
  const used = new Set((await hv.listDomains()).flatMap((d) => d.disks.map((k) => k.path)));
  for (const v of await hv.listVolumes(pool)) {
    if (used.has(v.path)) continue;
    if (naming.isSeed(v.name)) {
      if (ctx.wantedSeeds.has(v.name)) continue;
      await remove(ctx, pool, v.name);
      continue;
    }
    if (!naming.isVolume(v.name) || wanted.has(v.name)) continue;
    const rec = record.volume(v.name);
    if (!rec || rec.retainOnDelete) continue;
    if (!(await remove(ctx, pool, v.name))) continue;
    record.forgetVolume(v.name);
    ctx.observed.volumes[rec.id] = ctx.entry('volumes', rec.id, 'DELETED');
    ctx.event({ resourceKind: 'volumes', resource: rec.id, action: 'deleted', reason: 'Removed', message: `volume ${v.name} deleted`, result: 'ok' });
  }
}

async function remove(ctx: PassContext, pool: string, name: string): Promise<boolean> {
  try {
    await ctx.hv.deleteVolume(pool, name);
    return true;
  } catch (e) {
    if (e instanceof ConnectionLostError) throw e;
    if (e instanceof NotFoundError) return true;
    ctx.hostError('DeleteFailed', `volume ${name}: ${(e as Error).message}`);
    return false;
  }
}
