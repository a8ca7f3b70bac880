/**
 * One reconcile pass over the whole host: read what libvirt holds, apply the desired state in
 * order (networks, pools, images, volumes, instances), then delete what is no longer desired in
 * reverse order (instances, volumes and seeds, images, networks), and return the observed
 * state. Every kind has its own reconcile function in reconcile/; this file only orders them.
 * A lost libvirt connection ends the pass (ConnectionLostError) for the agent to reconnect.
 */
import { STATE_FORMAT_VERSION, type HostDesiredState } from '../contract/desired.js';
import type { HostObservedState, HostTotals, ObservedError } from '../contract/observed.js';
import type { Hypervisor, PoolInfo } from '../hypervisor/hypervisor.js';
import type { Backoff } from './backoff.js';
import { PassContext, type PassSettings, type Snapshot } from './context.js';
import type { EventLog } from './events.js';
import type { Naming } from './naming.js';
import type { LocalRecord } from './record.js';
import { withListingCache } from './listing-cache.js';
import { deleteImages, reconcileImages } from './reconcile/images.js';
import { deleteInstances, reconcileInstances } from './reconcile/instances.js';
import { deleteNetworks, reconcileNetworks } from './reconcile/networks.js';
import { reconcilePools } from './reconcile/pools.js';
import { deleteVolumes, GIB, reconcileVolumes } from './reconcile/volumes.js';
import type { AgentStore } from './store.js';

export interface PassInput {
  hv: Hypervisor;
  host: string;
  desired: HostDesiredState;
  naming: Naming;
  store: AgentStore;
  record: LocalRecord;
  backoff: Backoff;
  events: EventLog;
  settings: PassSettings;
  previous: HostObservedState | undefined;
  /** Host capacity (from hostInfo at connect). */
  capacity: { vcpus: number; memoryMiB: number };
  now: () => Date;
}

export interface PassResult {
  observed: HostObservedState;
  /** Resources in ERROR or waiting for a retry. */
  failed: number;
  hostErrors: Array<{ reason: string; message: string }>;
}

async function snapshot(hv: Hypervisor, naming: Naming): Promise<Snapshot> {
  const [networks, pools, domains] = await Promise.all([hv.listNetworks(), hv.listPools(), hv.listDomains()]);
  const poolMap = new Map(pools.map((p) => [p.name, p]));
  const volumesOf = async (pool: PoolInfo | undefined) =>
    pool?.active ? new Map((await hv.listVolumes(pool.name)).map((v) => [v.name, v])) : new Map();
  return {
    networks: new Map(networks.map((n) => [n.name, n])),
    pools: poolMap,
    images: await volumesOf(poolMap.get(naming.imagePool)),
    volumes: await volumesOf(poolMap.get(naming.volumePool)),
    domains: new Map(domains.map((d) => [d.name, d])),
  };
}

export async function runPass(input: PassInput): Promise<PassResult> {
  const { naming } = input;
  const hv = withListingCache(input.hv);
  const snap = await snapshot(hv, naming);
  const ctx = new PassContext(
    hv, input.desired, snap, naming, input.store, input.record, input.backoff, input.events, input.settings, input.previous, input.now,
  );
  await reconcileNetworks(ctx);
  await reconcilePools(ctx);
  await reconcileImages(ctx);
  await reconcileVolumes(ctx);
  await input.record.save();
  await reconcileInstances(ctx);

  await deleteInstances(ctx);
  await deleteVolumes(ctx);
  await deleteImages(ctx);
  await deleteNetworks(ctx);
  await input.record.save();

  keepRecentlyDeleted(ctx, input);
  const totals = await hostTotals(hv, naming, input.capacity);
  const now = input.now().toISOString();
  const complete = ctx.failed === 0 && ctx.hostErrors.length === 0;
  const observed: HostObservedState = {
    formatVersion: STATE_FORMAT_VERSION,
    kind: 'HostObservedState',
    host: input.host,
    heartbeat: now,
    seenRevision: input.desired.revision,
    ...(complete ? { appliedRevision: input.desired.revision } : input.previous?.appliedRevision ? { appliedRevision: input.previous.appliedRevision } : {}),
    totals,
    ...ctx.observed,
    ...(ctx.hostErrors.length > 0 ? { lastError: hostError(ctx.hostErrors, now) } : {}),
    conditions: [{
      type: 'Ready',
      status: complete ? 'True' : 'False',
      reason: complete ? 'Reconciled' : ctx.hostErrors[0]?.reason ?? 'ResourcesFailing',
      message: complete ? `applied revision ${input.desired.revision}` : ctx.hostErrors[0]?.message ?? `${ctx.failed} resource(s) failing`,
      observedRevision: input.desired.revision,
      lastTransitionTime: sameStatus(input.previous, complete) ?? now,
    }],
  };
  return { observed, failed: ctx.failed, hostErrors: ctx.hostErrors };
}

function sameStatus(prev: HostObservedState | undefined, complete: boolean): string | undefined {
  const c = prev?.conditions?.find((x) => x.type === 'Ready');
  return c && c.status === (complete ? 'True' : 'False') ? c.lastTransitionTime : undefined;
}

function hostError(errors: Array<{ message: string }>, time: string): ObservedError {
  return { message: errors.map((e) => e.message).join('; '), time };
}

/** DELETED entries of earlier passes stay visible for a while, then drop out. */
function keepRecentlyDeleted(ctx: PassContext, input: PassInput): void {
  const cutoff = input.now().getTime() - input.settings.deletedRetentionMs;
  for (const kind of ['networks', 'images', 'volumes', 'instances'] as const) {
    for (const [id, o] of Object.entries(input.previous?.[kind] ?? {})) {
      if (o.state !== 'DELETED' || ctx.observed[kind][id] || Date.parse(o.updatedAt) < cutoff) continue;
      (ctx.observed[kind] as Record<string, unknown>)[id] = o;
    }
  }
}

/** Capacity and what this agent's domains and volumes take of it. */
async function hostTotals(hv: Hypervisor, naming: Naming, capacity: { vcpus: number; memoryMiB: number }): Promise<HostTotals> {
  const domains = (await hv.listDomains()).filter((d) => naming.owns(d.name));
  let diskBytes = 0;
  let usedBytes = 0;
  const pools = await hv.listPools();
  const volPool = pools.find((p) => p.name === naming.volumePool);
  if (volPool) diskBytes = volPool.capacityBytes;
  for (const p of pools) {
    if (p.name !== naming.volumePool && p.name !== naming.imagePool) continue;
    if (!p.active) continue;
    for (const v of await hv.listVolumes(p.name)) usedBytes += p.name === naming.volumePool ? v.capacityBytes : v.allocationBytes;
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    vcpus: capacity.vcpus,
    memoryMiB: capacity.memoryMiB,
    diskGiB: round(diskBytes / GIB),
    usedVcpus: domains.reduce((a, d) => a + d.vcpus, 0),
    usedMemoryMiB: domains.reduce((a, d) => a + d.memoryMiB, 0),
    usedDiskGiB: round(usedBytes / GIB),
  };
}
