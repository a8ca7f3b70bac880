/**
 * A host that lost power without its network namespace being cleaned keeps the Linux bridge of a
 * ringstack NAT network, with the gateway address and its route: libvirtd then refuses to start
 * the network ("Network is already in use by interface rs…"). On a real libvirtd
 * (qemu:///system), with the leftover made by `ip link`/`ip addr`:
 * - the bridge the controller named for this network, owned by no libvirt network, is removed by
 *   the agent, which says so in an event, starts the network and then the instance on it (with
 *   the gateway address: libvirt's route check refuses; without: its bridge creation does);
 * - a device that is not ours (another name, carrying the same subnet) is left alone: the network
 *   is ERROR with a Degraded condition naming the device and libvirt's message, retried with
 *   backoff, and the instance on it names the same reason; once the device is gone both recover.
 * Every libvirt object carries a per-run prefix; teardown removes them and the devices made here.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LibvirtHypervisor } from '../hypervisor/libvirt-hypervisor.js';
import { libvirtSkipReason, virsh } from '../hypervisor/libvirt-test-env.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import { Agent } from './agent.js';
import { hostDesired, image, instance } from './test-fixtures.js';
import { randomLan, removeAll, tinyImageStore } from './test-libvirt.js';

const run = promisify(execFile);
const URI = 'qemu:///system';
const HOST = 'kvm1';
/** Generous: the machine is shared; the agent's backoff starts at BACKOFF_BASE_MS. */
const RECOVERY_TIMEOUT_MS = 60_000;
const BACKOFF_BASE_MS = 200;
const skip = libvirtSkipReason();
if (skip) t.comment(`skipping libvirt tests: ${skip}`);

const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

/** A bridge device holding `address/24` (its kernel route collides with the network's subnet). */
async function leftoverBridge(name: string, address: string): Promise<void> {
  await run('ip', ['link', 'add', name, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${address}/24`, 'dev', name]);
  await run('ip', ['link', 'set', name, 'up']);
}

t.test('agent recovers from a leftover network bridge', { skip: skip ?? false }, async (t) => {
  const prefix = `rt${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'rstest-agent-stale-'));
  const made: string[] = [];
  const opened: Hypervisor[] = [];
  const open = async () => {
    const hv = await LibvirtHypervisor.open({ uri: URI });
    opened.push(hv);
    return hv;
  };
  const admin = await open();
  t.teardown(async () => {
    await removeAll(admin, prefix);
    for (const dev of made) if (linkExists(dev)) await run('ip', ['link', 'del', dev]).catch(() => undefined);
    for (const hv of opened) await hv.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const { bytes, store } = await tinyImageStore(dir);

  // Names of their own: libvirt UUIDs come from the ids, and other libvirt suites may run at the same time.
  const { net, a, b, bridge } = randomLan('stale-lan');
  made.push(bridge);
  const img = image(bytes);
  const vm = instance({ name: 'stale-vm', ip: `10.${a}.${b}.10`, vcpus: 1, memoryMiB: 64, diskGiB: 1 }, net, img);
  store.setDesired(HOST, hostDesired(HOST, { networks: [net], images: [img], instances: [vm] }, 'r1'));

  const agent = await Agent.create({
    host: HOST, zone: 'z1', store, connect: open, dataDir: dir, namePrefix: prefix, shutdownTimeoutMs: 1500,
    backoffBaseMs: BACKOFF_BASE_MS, backoffMaxMs: 4 * BACKOFF_BASE_MS,
  });
  t.teardown(() => agent.stop());
  const netName = agent.naming.network(net.id, net.name);
  const dom = agent.naming.domain(vm.instance.id, vm.instance.name);

  const first = await agent.sync();
  t.equal(first.pass?.failed, 0, `created from nothing ${JSON.stringify([first.observed.networks[net.id]?.lastError, first.observed.instances[vm.instance.id]?.lastError])}`);
  t.equal(await virsh(URI, 'domstate', dom), 'running');

  /** The power loss: domain and network gone from libvirt's runtime state, the bridge left behind. */
  const losePower = async (t: Test) => {
    t.equal(await virsh(URI, 'domstate', dom), 'running', 'the instance ran before');
    await virsh(URI, 'destroy', dom);
    await virsh(URI, 'net-destroy', netName);
    t.notOk(linkExists(bridge), 'libvirt removed its bridge');
  };
  const syncUntil = (what: string, ok: (o: Awaited<ReturnType<Agent['sync']>>['observed']) => boolean) => {
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    const loop = async (): Promise<void> => {
      const r = await agent.sync();
      if (ok(r.observed)) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(r.observed.networks[net.id])}`);
      await new Promise((res) => setTimeout(res, BACKOFF_BASE_MS));
      return loop();
    };
    return loop();
  };

  await t.test('our own leftover bridge is removed, then network and instance start', async (t) => {
    await losePower(t);
    await leftoverBridge(bridge, net.gateway!);
    await t.rejects(virsh(URI, 'net-start', netName), 'libvirt itself refuses to start the network');

    const r = await agent.sync();
    const o = r.observed;
    t.equal(o.networks[net.id]?.state, 'ACTIVE', `network active (${o.networks[net.id]?.lastError?.message ?? ''})`);
    t.equal(o.instances[vm.instance.id]?.state, 'ACTIVE', `instance active (${o.instances[vm.instance.id]?.lastError?.message ?? ''})`);
    t.match(await virsh(URI, 'net-info', netName), /Active:\s+yes/);
    t.equal(await virsh(URI, 'domstate', dom), 'running');
    const ev = store.events.map((e) => e.event).find((e) => e.resource === net.id && e.reason === 'StaleBridge');
    t.ok(ev, 'an event says what was removed');
    t.match(ev?.message, bridge, 'naming the bridge');
    t.match(ev?.message, /no libvirt network/, 'and why');
  });

  await t.test('our leftover bridge without an address (libvirt: "File exists") is removed too', async (t) => {
    await losePower(t);
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    const before = store.events.filter((e) => e.event.reason === 'StaleBridge').length;
    const r = await agent.sync();
    t.equal(r.observed.networks[net.id]?.state, 'ACTIVE', `network active (${r.observed.networks[net.id]?.lastError?.message ?? ''})`);
    t.equal(r.observed.instances[vm.instance.id]?.state, 'ACTIVE');
    t.equal(store.events.filter((e) => e.event.reason === 'StaleBridge').length, before + 1, 'one more StaleBridge event');
    t.equal(await virsh(URI, 'domstate', dom), 'running');
  });

  await t.test('a device that is not ours is left alone; network and instance say which one blocks', async (t) => {
    const foreign = `gx${randomBytes(4).toString('hex')}`;
    made.push(foreign);
    await losePower(t);
    await leftoverBridge(foreign, `10.${a}.${b}.2`);

    const r = await agent.sync();
    const n = r.observed.networks[net.id]!;
    t.equal(n.state, 'ERROR');
    t.equal(n.active, false);
    t.match(n.lastError?.message, /already in use by interface/, "libvirt's own message");
    const degraded = n.conditions?.find((c) => c.type === 'Degraded');
    t.equal(degraded?.status, 'True');
    t.equal(degraded?.reason, 'NetworkDeviceInUse');
    t.match(degraded?.message, foreign, 'the condition names the device');
    const i = r.observed.instances[vm.instance.id]!;
    t.equal(i.state, 'ERROR');
    const iReady = i.conditions?.find((c) => c.type === 'Ready');
    t.equal(iReady?.reason, 'NetworkDeviceInUse', 'the instance names the same reason');
    t.match(i.lastError?.message, foreign, 'and the device');
    t.ok(linkExists(foreign), 'the foreign device is not removed');
    t.ok(store.events.some((e) => e.event.resource === net.id && e.event.action === 'failed' && /next attempt in/.test(e.event.message)),
      'retried with backoff');

    await run('ip', ['link', 'del', foreign]);
    await syncUntil('network and instance to recover', (o) =>
      o.networks[net.id]?.state === 'ACTIVE' && o.instances[vm.instance.id]?.state === 'ACTIVE');
    t.equal(await virsh(URI, 'domstate', dom), 'running');
  });
});
