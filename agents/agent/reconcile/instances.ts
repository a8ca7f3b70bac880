/**
 * Instances: one domain per desired instance, with the desired UUID and MACs, its disks
 * (boot overlay first, then data volumes), a cloud-init NoCloud seed attached as a cdrom, and
 * ringstack tags in <metadata> (resource id, project, revision, hash, owning agent).
 *
 * - The seed's volume name carries the digest of its content, so a changed seed is a new
 *   volume; a seed the domain does not reference yet may be a half-written one and is rebuilt.
 * - Changes of vcpus, memory, disks or NICs on a running domain: graceful shutdown (with a
 *   timeout, then power-off), redefine, start. Metadata, seed and autostart changes are
 *   redefined in place and take effect at the next boot.
 * - powerState Running/Stopped is honoured; a domain stopped or undefined outside ringstack
 *   is started or defined again (an event with reason Drift records it).
 * - A domain created in this attempt that fails to start is undefined again, with its new seed.
 * Deletes: tagged domains of this agent whose instance is no longer desired (graceful
 * shutdown, power-off, undefine).
 */
import type { DesiredInstance } from '../../contract/desired.js';
import type { LibvirtDomainState, ObservedInstance, ResourceState } from '../../contract/observed.js';
import { buildSeedIso, seedDigest, type SeedInput } from '../../cloudinit/seed.js';
import { ConnectionLostError, NotFoundError } from '../../hypervisor/errors.js';
import type { DiskSpec, DomainInfo, DomainSpec, NicSpec, VolumeInfo } from '../../hypervisor/hypervisor.js';
import { stopDomainGracefully } from '../../hypervisor/stop-domain.js';
import type { PassContext } from '../context.js';
import { forEachLimit } from '../limit.js';
import { DependencyNotReadyError, NameTakenError, StartFailedError } from '../errors.js';
import { TAG_AGENT, TAG_HASH, TAG_ID, TAG_PROJECT, TAG_REVISION, TAG_SEED } from '../naming.js';

/** Guest device of the seed cdrom. */
export const SEED_TARGET = 'sda';
const SEED_DIGEST_TAG_HEX = 12;

export async function reconcileInstances(ctx: PassContext): Promise<void> {
  await forEachLimit(Object.values(ctx.desired.instances), ctx.settings.instanceConcurrency, async (inst) => {
    const name = ctx.naming.domain(inst.id, inst.name);
    ctx.record.setName(name, inst.id);
    const r = await ctx.attempt('instances', inst, () => applyInstance(ctx, inst, name));
    if (!r.ok) return;
    const state = publicState(r.value.state, inst.powerState);
    ctx.observed.instances[inst.id] = { ...ctx.applied('instances', inst, state), ...(await describe(ctx, inst, r.value)) };
  });
}

/** Nova-style state from libvirt's domain state. */
export function publicState(state: LibvirtDomainState, want: DesiredInstance['powerState']): ResourceState {
  switch (state) {
    case 'running':
    case 'blocked':
      return want === 'Running' ? 'ACTIVE' : 'BUILD';
    case 'shutoff':
      return want === 'Stopped' ? 'SHUTOFF' : 'BUILD';
    case 'shutdown':
    case 'paused':
    case 'pmsuspended':
      return 'SHUTOFF';
    case 'crashed':
      return 'ERROR';
    default:
      return 'BUILD';
  }
}

/** The observed fields of a domain: libvirt state, IPs (fixed and from DHCP leases), CPU, memory. */
async function describe(ctx: PassContext, inst: DesiredInstance, dom: DomainInfo): Promise<Omit<ObservedInstance, 'id' | 'state' | 'updatedAt'>> {
  const ips: ObservedInstance['ips'] = [];
  const seen = new Set<string>();
  for (const nic of inst.nics) {
    const add = (ip: string) => {
      const key = `${nic.mac}/${ip}`;
      if (seen.has(key)) return;
      seen.add(key);
      ips.push({ network: nic.network, mac: nic.mac, ip });
    };
    if (nic.ip) add(nic.ip);
    const netName = ctx.ready.networks.get(nic.network);
    if (netName && dom.state === 'running') {
      for (const lease of await ctx.leases(netName)) if (lease.mac === nic.mac.toLowerCase()) add(lease.ip);
    }
  }
  return {
    libvirtState: dom.state, uuid: dom.uuid, ips, vcpus: dom.vcpus, memoryMiB: dom.memoryMiB,
    ...(dom.state === 'running' ? { cpuTimeNs: dom.cpuTimeNs } : {}),
  };
}

/**
 * The cloud-init input of an instance. A fixed address gets the network's gateway as default
 * route where the network has a router: the host itself (nat) or the LAN's router (bridge);
 * an isolated network has none.
 */
export function seedInput(ctx: Pick<PassContext, 'desired'>, inst: DesiredInstance): SeedInput {
  return {
    instanceId: inst.uuid,
    hostname: inst.hostname,
    ...(inst.userData !== undefined ? { userData: inst.userData } : {}),
    sshAuthorizedKeys: inst.sshAuthorizedKeys,
    nics: inst.nics.map((nic) => {
      const net = ctx.desired.networks[nic.network];
      if (!nic.ip || !net?.prefixLength) return { mac: nic.mac };
      return { mac: nic.mac, address: `${nic.ip}/${net.prefixLength}`, ...(net.mode !== 'isolated' && net.gateway ? { gateway: net.gateway } : {}) };
    }),
  };
}

function diskKey(d: DiskSpec): string {
  return `${d.target}|${d.path}|${d.format}|${d.device ?? 'disk'}`;
}

function nicKey(n: NicSpec): string {
  return `${n.network}|${n.mac ?? ''}|${n.model ?? 'virtio'}`;
}

/** 'reboot' when the guest's hardware changes, 'live' for what a redefinition alone applies. */
export function domainChange(actual: DomainInfo, spec: DomainSpec): 'none' | 'live' | 'reboot' {
  const disks = (d: DiskSpec[]) => d.filter((x) => x.device !== 'cdrom').map(diskKey).join(',');
  const cdroms = (d: DiskSpec[]) => d.filter((x) => x.device === 'cdrom').map(diskKey).join(',');
  if (actual.vcpus !== spec.vcpus || actual.memoryMiB !== spec.memoryMiB || disks(actual.disks) !== disks(spec.disks)
    || actual.nics.map(nicKey).join(',') !== spec.nics.map(nicKey).join(',')) return 'reboot';
  const meta = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  if (cdroms(actual.disks) !== cdroms(spec.disks) || meta(actual.metadata) !== meta(spec.metadata ?? {})
    || actual.autostart !== (spec.autostart ?? false)) return 'live';
  return 'none';
}

async function applyInstance(ctx: PassContext, inst: DesiredInstance, name: string): Promise<DomainInfo> {
  const { hv, naming } = ctx;
  const pool = naming.volumePool;
  const disks: DiskSpec[] = inst.disks.map((d) => {
    const vol = ctx.ready.volumes.get(d.volume);
    if (!vol) throw new DependencyNotReadyError(`volume ${d.volume}`, ctx.observed.volumes[d.volume]?.lastError?.message ?? 'not on this host');
    return { path: vol.path, format: 'qcow2', target: d.device, device: 'disk', bus: 'virtio' };
  });
  const nics: NicSpec[] = inst.nics.map((n) => {
    const net = ctx.ready.networks.get(n.network);
    if (!net) {
      const o = ctx.observed.networks[n.network];
      // The network's own reason (NetworkDeviceInUse…) tells the user more than DependencyNotReady.
      const reason = o?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False')?.reason;
      throw new DependencyNotReadyError(`network ${n.network}`, o?.lastError?.message ?? 'not on this host', reason);
    }
    return { network: net, mac: n.mac.toLowerCase(), model: 'virtio' };
  });

  const existing = ctx.snapshot.domains.get(name);
  if (existing && (existing.metadata[TAG_AGENT] !== naming.prefix || existing.metadata[TAG_ID] !== inst.id)) {
    throw new NameTakenError('domain', name);
  }

  // The seed: rebuilt unless the domain already references it (then it is complete).
  const input = seedInput(ctx, inst);
  const digest = seedDigest(input);
  const seedName = naming.seed(inst.id, inst.name, digest);
  ctx.wantedSeeds.add(seedName);
  let seed: VolumeInfo | undefined = ctx.snapshot.volumes.get(seedName);
  if (seed && !existing?.disks.some((d) => d.path === seed!.path)) {
    await hv.deleteVolume(pool, seedName).catch(ignoreNotFound);
    seed = undefined;
  }
  let seedCreated = false;
  if (!seed) {
    seed = await uploadSeed(ctx, seedName, buildSeedIso(input));
    seedCreated = true;
  }

  const spec: DomainSpec = {
    name,
    uuid: inst.uuid,
    vcpus: inst.vcpus,
    memoryMiB: inst.memoryMiB,
    disks: [...disks, { path: seed.path, format: 'raw', target: SEED_TARGET, device: 'cdrom', bus: 'sata', readonly: true }],
    nics,
    autostart: inst.powerState === 'Running',
    metadata: {
      [TAG_ID]: inst.id, [TAG_AGENT]: naming.prefix, [TAG_REVISION]: inst.revision, [TAG_HASH]: inst.hash,
      [TAG_SEED]: digest.slice(0, SEED_DIGEST_TAG_HEX), ...(inst.project ? { [TAG_PROJECT]: inst.project } : {}),
    },
  };

  const ev = (action: 'created' | 'updated' | 'started' | 'stopped' | 'restarted' | 'repaired', reason: string, message: string) =>
    ctx.event({ resourceKind: 'instances', resource: inst.id, action, reason, message: `domain ${name}: ${message}`, result: 'ok' });
  const hadIt = ctx.previous?.instances[inst.id]?.appliedHash !== undefined;

  if (!existing) {
    await hv.defineDomain(spec);
    ev(hadIt ? 'repaired' : 'created', hadIt ? 'Drift' : 'Created', hadIt ? 'was undefined outside ringstack; defined again' : 'defined');
    if (inst.powerState === 'Running') {
      try {
        await hv.startDomain(name);
      } catch (e) {
        if (e instanceof ConnectionLostError) throw e;
        await hv.deleteDomain(name).catch(() => undefined);
        if (seedCreated) await hv.deleteVolume(pool, seedName).catch(() => undefined);
        throw new StartFailedError(name, e as Error);
      }
      ev('started', 'PowerState', 'started');
    }
    return hv.getDomain(name);
  }

  const change = domainChange(existing, spec);
  let state = existing.state;
  let rebooted = false;
  if (change === 'reboot' && state !== 'shutoff') {
    const outcome = await stopDomainGracefully(hv, name, { graceMs: ctx.settings.shutdownTimeoutMs });
    rebooted = inst.powerState === 'Running';
    ev('stopped', 'SpecChanged', `stopped for a change of hardware (${outcome})`);
    state = 'shutoff';
  }
  if (change !== 'none') {
    await hv.defineDomain(spec);
    ev('updated', 'SpecChanged', change === 'reboot' ? 'redefined (vcpus, memory, disks or NICs changed)' : 'redefined (takes effect at next boot)');
  }
  if (inst.powerState === 'Running' && state === 'shutoff') {
    try {
      await hv.startDomain(name);
    } catch (e) {
      if (e instanceof ConnectionLostError) throw e;
      throw new StartFailedError(name, e as Error);
    }
    // Running under this very spec before (or seen running): someone else stopped it.
    const prev = ctx.previous?.instances[inst.id];
    const wasActive = prev?.libvirtState === 'running' || (prev?.appliedHash === inst.hash && change === 'none');
    if (rebooted) ev('restarted', 'SpecChanged', 'started with the new definition');
    else if (wasActive) ev('repaired', 'Drift', 'was stopped outside ringstack; started again');
    else ev('started', 'PowerState', 'started');
  } else if (inst.powerState === 'Stopped' && state !== 'shutoff') {
    const outcome = await stopDomainGracefully(hv, name, { graceMs: ctx.settings.shutdownTimeoutMs });
    ev('stopped', 'PowerState', `stopped (${outcome})`);
  }
  return hv.getDomain(name);
}

async function uploadSeed(ctx: PassContext, name: string, iso: Buffer): Promise<VolumeInfo> {
  const pool = ctx.naming.volumePool;
  await ctx.hv.createVolume(pool, { name, format: 'raw', capacityBytes: iso.length });
  try {
    const info = await ctx.hv.uploadVolume(pool, name, (async function* () { yield iso; })(), iso.length);
    ctx.snapshot.volumes.set(name, info);
    return info;
  } catch (e) {
    if (!(e instanceof ConnectionLostError)) await ctx.hv.deleteVolume(pool, name).catch(() => undefined);
    throw e;
  }
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof NotFoundError)) throw e;
}

/** Deletes this agent's domains whose instance is no longer desired here. */
export async function deleteInstances(ctx: PassContext): Promise<void> {
  const wanted = new Set(Object.values(ctx.desired.instances).map((i) => ctx.naming.domain(i.id, i.name)));
  const gone = [...ctx.snapshot.domains.values()].filter((dom) =>
    ctx.naming.owns(dom.name) && dom.metadata[TAG_AGENT] === ctx.naming.prefix && !wanted.has(dom.name));
  await forEachLimit(gone, ctx.settings.instanceConcurrency, async (dom) => {
    const id = dom.metadata[TAG_ID] ?? dom.name;
    try {
      if (dom.state !== 'shutoff') await stopDomainGracefully(ctx.hv, dom.name, { graceMs: ctx.settings.shutdownTimeoutMs });
      await ctx.hv.deleteDomain(dom.name);
    } catch (e) {
      if (e instanceof ConnectionLostError) throw e;
      if (!(e instanceof NotFoundError)) {
        ctx.hostError('DeleteFailed', `domain ${dom.name}: ${(e as Error).message}`);
        return;
      }
    }
    ctx.record.forgetName(dom.name);
    ctx.snapshot.domains.delete(dom.name);
    ctx.observed.instances[id] = { ...ctx.entry('instances', id, 'DELETED'), libvirtState: 'shutoff', ips: [] };
    ctx.event({ resourceKind: 'instances', resource: id, action: 'deleted', reason: 'Removed', message: `domain ${dom.name} shut down and undefined`, result: 'ok' });
  });
}
