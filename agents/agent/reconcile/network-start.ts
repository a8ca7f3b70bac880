/**
 * Starting a network libvirt routes itself (nat, isolated), recovering from a leftover bridge.
 *
 * A host that lost power without its network namespace being cleaned keeps the bridge of a
 * network, with the gateway address and its route; libvirtd then refuses to start the network
 * ("Network is already in use by interface …" or "error creating bridge …: File exists").
 * libvirt's error code does not say which (an internal or system error), so after a failed
 * start the agent looks at the host's facts instead of the message: a device with the network's
 * bridge name, and devices routing the network's subnet.
 *
 * - The device is ours when its name is the bridge the controller chose for this network, it is
 *   a Linux bridge, and no running libvirt network declares it: the agent removes it, records an
 *   event saying what and why, and starts the network again.
 * - Any other device in the way is not ours: the start fails with NetworkDeviceInUseError naming
 *   it (the network's condition, and its instances', say NetworkDeviceInUse); the agent's
 *   backoff retries, and the network starts once someone removes the device.
 * - Nothing in the way: libvirt's own error is thrown, reported as is and retried with backoff.
 */
import { ConnectionLostError } from '../../hypervisor/errors.js';
import type { NetworkSpec } from '../../hypervisor/hypervisor.js';
import type { PassContext } from '../context.js';
import { NetworkDeviceInUseError } from '../errors.js';
import { kernelLinks, type HostLinks } from '../host-links.js';

type Blocker = { device: string; ours: true } | { device: string; ours: false; why: string };

/** What keeps network `name` (spec) from starting, if a host device does; ours first only if alone. */
async function findBlocker(ctx: PassContext, links: HostLinks, spec: NetworkSpec, name: string): Promise<Blocker | undefined> {
  if (spec.forward === 'bridge' || !spec.bridge) return undefined;
  const bridge = spec.bridge;
  const blockers: Blocker[] = [];
  if (await links.exists(bridge)) {
    const owner = (await ctx.hv.listNetworks()).find((n) => n.name !== name && n.active && n.bridge === bridge);
    if (owner) blockers.push({ device: bridge, ours: false, why: `is the bridge of running libvirt network ${owner.name}` });
    else if (!(await links.isBridge(bridge))) blockers.push({ device: bridge, ours: false, why: 'has the bridge name of this network but is not a bridge' });
    else blockers.push({ device: bridge, ours: true });
  }
  for (const dev of await links.routing(spec.ipv4.address, spec.ipv4.prefix)) {
    if (dev === bridge) continue;
    blockers.push({ device: dev, ours: false, why: `routes the network's subnet ${spec.ipv4.address}/${spec.ipv4.prefix}` });
  }
  // A foreign device would still block after removing our leftover: name it, remove nothing.
  return blockers.find((b) => !b.ours) ?? blockers[0];
}

/** Starts network `name`; see the module comment for what happens when a host device blocks it. */
export async function startNetwork(ctx: PassContext, resourceId: string, spec: NetworkSpec, name: string): Promise<void> {
  try {
    await ctx.hv.startNetwork(name);
    return;
  } catch (err) {
    if (err instanceof ConnectionLostError) throw err;
    const links = ctx.settings.hostLinks ?? kernelLinks;
    const blocker = await findBlocker(ctx, links, spec, name);
    if (!blocker) throw err;
    if (!blocker.ours) throw new NetworkDeviceInUseError(name, blocker.device, blocker.why, err as Error);
    await links.removeBridge(blocker.device);
    ctx.event({
      resourceKind: 'networks', resource: resourceId, action: 'repaired', reason: 'StaleBridge', result: 'ok',
      message: `removed leftover bridge ${blocker.device}: it is the bridge of network ${name}, no libvirt network runs it, and it kept libvirt from starting the network (${(err as Error).message})`,
    });
  }
  await ctx.hv.startNetwork(name);
}
