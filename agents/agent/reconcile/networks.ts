/**
 * Networks: one libvirt network per desired network (nat or isolated, the controller's bridge
 * name, the gateway address, the DHCP range) with a static MAC -> IP host entry for every NIC
 * of this host's instances that has a fixed IP. Host entries are changed live; a changed range,
 * address or mode redefines the network and restarts it. A stopped network is started again
 * (drift). Deletes: networks of ours no desired resource names and no domain uses.
 *
 * Bridge mode: a libvirt network with forward mode 'bridge' on the existing host bridge the
 * desired network names. libvirt serves no DHCP there (the subnet belongs to the LAN), so the
 * range and the host entries are skipped; fixed IPs reach guests through cloud-init's
 * network-config, as for every network.
 *
 * A start that a leftover bridge blocks is handled in network-start.ts.
 */
import type { DesiredNetwork } from '../../contract/desired.js';
import { NotFoundError } from '../../hypervisor/errors.js';
import type { DhcpHost, NetworkInfo, NetworkSpec } from '../../hypervisor/hypervisor.js';
import type { PassContext } from '../context.js';
import { NameTakenError, UnsupportedSpecError } from '../errors.js';
import { startNetwork } from './network-start.js';

const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export async function reconcileNetworks(ctx: PassContext): Promise<void> {
  for (const net of Object.values(ctx.desired.networks)) {
    const name = ctx.naming.network(net.id, net.name);
    ctx.record.setName(name, net.id);
    const r = await ctx.attempt('networks', net, () => applyNetwork(ctx, net, name));
    if (!r.ok) continue;
    ctx.ready.networks.set(net.id, name);
    ctx.observed.networks[net.id] = { ...ctx.applied('networks', net, 'ACTIVE'), active: r.value.active, ...(r.value.bridge ? { bridge: r.value.bridge } : {}) };
  }
}

/** The fixed-IP host entries of a network: every NIC of this host's instances with an `ip`. */
export function dhcpHostsOf(ctx: PassContext, networkId: string): DhcpHost[] {
  const hosts: DhcpHost[] = [];
  for (const inst of Object.values(ctx.desired.instances)) {
    for (const nic of inst.nics) {
      if (nic.network !== networkId || !nic.ip) continue;
      // dnsmasq host names are DNS labels; other hostnames get the entry without a name.
      const name = DNS_LABEL.test(inst.hostname) ? { name: inst.hostname } : {};
      hosts.push({ mac: nic.mac.toLowerCase(), ip: nic.ip, ...name });
    }
  }
  return hosts.sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
}

function specOf(ctx: PassContext, net: DesiredNetwork, name: string): NetworkSpec {
  if (net.mode === 'bridge') {
    if (!net.bridge) throw new UnsupportedSpecError('BridgeWithoutDevice', `network ${net.id} (bridge) names no host bridge`);
    return { name, uuid: net.uuid, forward: 'bridge', bridge: net.bridge };
  }
  if (!net.gateway || net.prefixLength === undefined) {
    throw new UnsupportedSpecError('NetworkWithoutSubnet', `network ${net.id} (${net.mode}) has no cidr/gateway`);
  }
  const spec: NetworkSpec = { name, uuid: net.uuid, forward: net.mode, bridge: net.bridge, ipv4: { address: net.gateway, prefix: net.prefixLength } };
  if (net.dhcp) spec.ipv4.dhcp = { start: net.dhcp.start, end: net.dhcp.end, hosts: dhcpHostsOf(ctx, net.id) };
  return spec;
}

/** Differences that need a redefinition and a restart (host entries are changed live). */
function needsRedefine(actual: NetworkInfo, spec: NetworkSpec): boolean {
  const a = actual.ipv4;
  const s = spec.ipv4;
  return actual.forward !== spec.forward || actual.bridge !== spec.bridge || a?.address !== s?.address || a?.prefix !== s?.prefix
    || (a?.dhcp?.start ?? '') !== (s?.dhcp?.start ?? '') || (a?.dhcp?.end ?? '') !== (s?.dhcp?.end ?? '');
}

async function applyNetwork(ctx: PassContext, net: DesiredNetwork, name: string): Promise<NetworkInfo> {
  const { hv } = ctx;
  const spec = specOf(ctx, net, name);
  let actual = ctx.snapshot.networks.get(name);
  if (actual && actual.uuid !== net.uuid) throw new NameTakenError('network', name);
  const seenBefore = ctx.previous?.networks[net.id]?.appliedHash !== undefined;
  if (!actual) {
    actual = await hv.defineNetwork(spec);
    ctx.event({
      resourceKind: 'networks', resource: net.id, action: seenBefore ? 'repaired' : 'created',
      reason: seenBefore ? 'Drift' : 'Created', message: `network ${name} ${seenBefore ? 'was undefined outside ringstack; defined again' : `defined (${net.mode}, ${net.mode === 'bridge' ? 'host ' : ''}bridge ${net.bridge})`}`, result: 'ok',
    });
  } else if (needsRedefine(actual, spec)) {
    actual = await hv.defineNetwork(spec);
    if (actual.active) {
      await hv.stopNetwork(name);
      await startNetwork(ctx, net.id, spec, name);
    }
    ctx.event({ resourceKind: 'networks', resource: net.id, action: 'updated', reason: 'SpecChanged', message: `network ${name} redefined and restarted`, result: 'ok' });
    actual = await hv.getNetwork(name);
  }
  if (spec.forward !== 'bridge' && spec.ipv4.dhcp) {
    const want = new Map((spec.ipv4.dhcp.hosts ?? []).map((h) => [h.mac, h]));
    const have = new Map((actual.ipv4?.dhcp?.hosts ?? []).map((h) => [h.mac, h]));
    for (const [mac, h] of have) {
      if (want.has(mac)) continue;
      await hv.removeDhcpHost(name, mac).catch((e) => {
        if (!(e instanceof NotFoundError)) throw e;
      });
    }
    for (const [mac, h] of want) {
      const cur = have.get(mac);
      if (cur && cur.ip === h.ip && (cur.name ?? '') === (h.name ?? '')) continue;
      await hv.setDhcpHost(name, h);
    }
  }
  if (!actual.active) {
    await startNetwork(ctx, net.id, spec, name);
    const wasActive = ctx.previous?.networks[net.id]?.active === true;
    ctx.event({
      resourceKind: 'networks', resource: net.id, action: wasActive ? 'repaired' : 'started',
      reason: wasActive ? 'Drift' : 'Created', message: `network ${name} ${wasActive ? 'was stopped outside ringstack; started again' : 'started'}`, result: 'ok',
    });
  }
  return hv.getNetwork(name);
}

/** Deletes networks of ours that are no longer desired and no domain uses. */
export async function deleteNetworks(ctx: PassContext): Promise<void> {
  const wanted = new Set(Object.values(ctx.desired.networks).map((n) => ctx.naming.network(n.id, n.name)));
  const domains = await ctx.hv.listDomains();
  const used = new Set(domains.flatMap((d) => d.nics.map((n) => n.network)));
  for (const name of (await ctx.hv.listNetworks()).map((n) => n.name)) {
    if (!ctx.naming.owns(name) || wanted.has(name) || used.has(name)) continue;
    const id = ctx.record.idOf(name) ?? name;
    try {
      await ctx.hv.deleteNetwork(name);
    } catch (e) {
      if (e instanceof NotFoundError) continue;
      ctx.hostError('DeleteFailed', `network ${name}: ${(e as Error).message}`);
      continue;
    }
    ctx.record.forgetName(name);
    ctx.observed.networks[id] = { ...ctx.entry('networks', id, 'DELETED'), active: false };
    ctx.event({ resourceKind: 'networks', resource: id, action: 'deleted', reason: 'Removed', message: `network ${name} deleted`, result: 'ok' });
  }
}
