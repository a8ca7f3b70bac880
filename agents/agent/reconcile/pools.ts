/**
 * Pools: the agent's two directory pools under its data dir, `<prefix>-images` (verified
 * images keyed by sha256) and `<prefix>-volumes` (instance disks, data volumes, seeds).
 * A pool that exists but is inactive is re-created (its files stay on disk). Pools are never
 * deleted by the agent.
 */
import { join } from 'node:path';
import { ConnectionLostError } from '../../hypervisor/errors.js';
import type { VolumeInfo } from '../../hypervisor/hypervisor.js';
import type { PassContext } from '../context.js';
import { UnsupportedSpecError } from '../errors.js';

export const IMAGE_POOL_DIR = 'images';
export const VOLUME_POOL_DIR = 'volumes';

export async function reconcilePools(ctx: PassContext): Promise<void> {
  try {
    if (await ensurePool(ctx, ctx.naming.imagePool, join(ctx.settings.dataDir, IMAGE_POOL_DIR))) {
      await relist(ctx, ctx.naming.imagePool, ctx.snapshot.images);
    }
    if (await ensurePool(ctx, ctx.naming.volumePool, join(ctx.settings.dataDir, VOLUME_POOL_DIR))) {
      await relist(ctx, ctx.naming.volumePool, ctx.snapshot.volumes);
    }
    ctx.ready.pools = true;
  } catch (e) {
    if (e instanceof ConnectionLostError) throw e;
    ctx.hostError('PoolNotReady', (e as Error).message);
  }
}

async function relist(ctx: PassContext, pool: string, into: Map<string, VolumeInfo>): Promise<void> {
  into.clear();
  for (const v of await ctx.hv.listVolumes(pool)) into.set(v.name, v);
}

/** Makes sure the pool exists and is active; true when it had to be (re-)created. */
async function ensurePool(ctx: PassContext, name: string, path: string): Promise<boolean> {
  const actual = ctx.snapshot.pools.get(name);
  if (actual && actual.path.replace(/\/$/, '') !== path) {
    throw new UnsupportedSpecError('PoolPathMismatch', `pool ${name} exists at ${actual.path}, but this agent's data dir needs it at ${path}`);
  }
  if (actual?.active) return false;
  if (actual) await ctx.hv.deletePool(name);
  const pool = await ctx.hv.createPool({ name, path });
  ctx.snapshot.pools.set(name, pool);
  ctx.event({
    resourceKind: 'pools', resource: name, action: actual ? 'repaired' : 'created', reason: actual ? 'Drift' : 'Created',
    message: `pool ${name} at ${path} ${actual ? 'was inactive; re-created' : 'created'}`, result: 'ok',
  });
  return true;
}
