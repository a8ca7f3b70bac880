/**
 * The agent on a real libvirtd (qemu:///system, TCG guests without an OS) with an in-memory
 * store serving a tiny qcow2 image made by qemu-img, observed independently with `virsh` and
 * `qemu-img`: create (domain, overlay, seed cdrom, NAT network with DHCP range and host entry),
 * powerState Stopped and back, a `virsh destroy` repaired by the running loop, agents aborted
 * mid-apply followed by a new agent (exactly one of everything), and a delete that removes
 * domain, volumes, seeds, image and network, a guest on a bridge-mode network over a real host
 * bridge (made with `ip link`). Every name carries a per-run prefix; teardown
 * removes whatever is left.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LibvirtHypervisor } from '../hypervisor/libvirt-hypervisor.js';
import { hostBridges, libvirtSkipReason, virsh } from '../hypervisor/libvirt-test-env.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import { Agent } from './agent.js';
import { instrument } from './instrumented-hypervisor.js';
import { hostDesired, image, instance, network } from './test-fixtures.js';
import { holdings, randomLan, removeAll, tinyImageStore } from './test-libvirt.js';
import { LibvirtOutage } from './libvirt-outage.js';

const run = promisify(execFile);
const URI = 'qemu:///system';
const HOST = 'kvm1';
const MIB = 1024 * 1024;
const skip = libvirtSkipReason();
if (skip) t.comment(`skipping libvirt tests: ${skip}`);

t.test('agent on qemu:///system', { skip: skip ?? false }, async (t) => {
  const prefix = `rt${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'rstest-agent-lv-'));
  const opened: Hypervisor[] = [];
  const open = async () => {
    const hv = await LibvirtHypervisor.open({ uri: URI });
    opened.push(hv);
    return hv;
  };
  const admin = await open();
  t.teardown(async () => {
    await removeAll(admin, prefix);
    for (const hv of opened) await hv.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  // A tiny image, made by qemu-img, served by the store.
  const { bytes, store } = await tinyImageStore(dir);

  const { net, a, b } = randomLan('lan');
  const img = image(bytes);
  const vm = instance({ name: 'vm', ip: `10.${a}.${b}.10`, vcpus: 1, memoryMiB: 64, diskGiB: 1, dataVolumes: [{ name: 'vmdata', sizeGiB: 1 }] }, net, img);
  const desired = (rev: string, ...instances: Array<ReturnType<typeof instance>>) =>
    hostDesired(HOST, { networks: [net], images: [img], instances }, rev);

  const newAgent = (connect: () => Promise<Hypervisor>, pollIntervalMs = 1000) => Agent.create({
    host: HOST, zone: 'z1', store, connect, dataDir: dir, namePrefix: prefix, shutdownTimeoutMs: 1500, pollIntervalMs,
  });
  const agent = await newAgent(open, 300);
  t.teardown(() => agent.stop());

  const dom = agent.naming.domain(vm.instance.id, vm.instance.name);
  const netName = agent.naming.network(net.id, net.name);
  const ours = () => holdings(URI, prefix);

  await t.test('create from nothing', async (t) => {
    store.setDesired(HOST, desired('r1', vm));
    const r = await agent.sync();
    t.equal(r.pass?.failed, 0, JSON.stringify(r.observed.lastError ?? r.observed.instances[vm.instance.id]?.lastError ?? ''));
    t.equal(await virsh(URI, 'domstate', dom), 'running');
    const xml = await virsh(URI, 'dumpxml', '--inactive', dom);
    t.match(xml, /<vcpu[^>]*>1<\/vcpu>/, 'declared vcpus');
    t.match(xml, /<memory unit='KiB'>65536<\/memory>/, 'declared memory');
    t.match(xml, new RegExp(`<uuid>${vm.instance.uuid}</uuid>`), 'declared uuid');
    t.match(xml, new RegExp(`<mac address='${vm.instance.nics[0]!.mac}'/>`), 'declared MAC');
    t.match(xml, new RegExp(`<source network='${netName}'/>`), 'NIC on the network');
    t.match(xml, /<domain type='qemu'/, 'TCG domain');
    t.match(xml, /<ringstack:tag key="id">demo\/vm<\/ringstack:tag>/, 'tagged with the resource id');
    t.match(xml, new RegExp(`<ringstack:tag key="agent">${prefix}</ringstack:tag>`), 'tagged with the owning agent');
    const blk = await virsh(URI, 'domblklist', '--details', dom);
    const boot = /file\s+disk\s+vda\s+(\S+)/.exec(blk)?.[1];
    const data = /file\s+disk\s+vdb\s+(\S+)/.exec(blk)?.[1];
    const seed = /file\s+cdrom\s+sda\s+(\S+)/.exec(blk)?.[1];
    t.ok(boot && data && seed, 'boot disk, data disk and seed cdrom attached');
    const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', boot!])).stdout) as Record<string, unknown>;
    t.equal(info.format, 'qcow2');
    t.equal(info['virtual-size'], 1024 * MIB, 'boot disk grown to 1 GiB');
    t.match(String(info['backing-filename']), new RegExp(`^${dir}/images/${img.sha256.slice(0, 56)}\\.qcow2$`), 'overlay on the verified image');
    const dataInfo = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', data!])).stdout) as Record<string, unknown>;
    t.notOk(dataInfo['backing-filename'], 'data volume is blank');
    const iso = await readFile(seed!);
    t.equal(iso.subarray(32768 + 40, 32768 + 46).toString('latin1').toLowerCase(), 'cidata', 'seed ISO labelled cidata');
    const netXml = await virsh(URI, 'net-dumpxml', netName);
    t.match(netXml, new RegExp(`<range start='10.${a}.${b}.100' end='10.${a}.${b}.199'`), 'DHCP range');
    t.match(netXml, new RegExp(`<host mac='${vm.instance.nics[0]!.mac}' name='vm' ip='10.${a}.${b}.10'/>`), 'static host entry');
    t.match(netXml, /<forward mode='nat'/);
    t.match(await virsh(URI, 'net-info', netName), /Active:\s+yes/);
    const o = store.observed.get(HOST)!;
    t.equal(o.instances[vm.instance.id]!.state, 'ACTIVE');
    t.ok(o.instances[vm.instance.id]!.cpuTimeNs! > 0, 'cpu time reported');
    t.ok(o.volumes[`${vm.instance.id}/boot`]!.allocationBytes! > 0, 'allocation reported');
    t.equal(store.info.get(HOST)!.libvirtUri, URI);
  });

  await t.test('powerState Stopped shuts it down, Running starts it', async (t) => {
    const stopped = instance({ name: 'vm', ip: `10.${a}.${b}.10`, vcpus: 1, memoryMiB: 64, diskGiB: 1, powerState: 'Stopped', dataVolumes: [{ name: 'vmdata', sizeGiB: 1 }] }, net, img, 'r2');
    store.setDesired(HOST, desired('r2', stopped));
    await agent.sync();
    t.equal(await virsh(URI, 'domstate', dom), 'shut off');
    t.equal(store.observed.get(HOST)!.instances[vm.instance.id]!.state, 'SHUTOFF');
    store.setDesired(HOST, desired('r3', vm));
    await agent.sync();
    t.equal(await virsh(URI, 'domstate', dom), 'running');
  });

  await t.test('a change of vcpus and memory: shutdown (then power-off), redefine, start; UUID and MAC kept', async (t) => {
    const bigger = instance({ name: 'vm', ip: `10.${a}.${b}.10`, vcpus: 2, memoryMiB: 96, diskGiB: 1, dataVolumes: [{ name: 'vmdata', sizeGiB: 1 }] }, net, img, 'r4');
    store.setDesired(HOST, desired('r4', bigger));
    await agent.sync();
    t.equal(await virsh(URI, 'domstate', dom), 'running');
    const xml = await virsh(URI, 'dumpxml', dom);
    t.match(xml, /<vcpu[^>]*>2<\/vcpu>/);
    t.match(xml, /<memory unit='KiB'>98304<\/memory>/);
    t.match(xml, new RegExp(`<uuid>${vm.instance.uuid}</uuid>`));
    t.match(xml, new RegExp(`<mac address='${vm.instance.nics[0]!.mac}'/>`));
    t.ok(store.events.some((e) => e.event.action === 'restarted' && e.event.resource === vm.instance.id), 'restart recorded');
    store.setDesired(HOST, desired('r5', vm));
    await agent.sync();
    t.match(await virsh(URI, 'dumpxml', dom), /<vcpu[^>]*>1<\/vcpu>/, 'and back');
  });

  await t.test('a virsh destroy and a net-destroy are repaired by the running agent', async (t) => {
    agent.start();
    await virsh(URI, 'destroy', dom);
    let state = '';
    for (let i = 0; i < 300 && state !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = await virsh(URI, 'domstate', dom);
    }
    t.equal(state, 'running', 'running again');
    await virsh(URI, 'net-destroy', netName);
    let active = false;
    for (let i = 0; i < 300 && !active; i++) {
      await new Promise((r) => setTimeout(r, 100));
      active = /Active:\s+yes/.test(await virsh(URI, 'net-info', netName));
    }
    t.ok(active, 'a stopped network is started again');
    await agent.stop();
    t.ok(store.events.some((e) => e.event.reason === 'Drift' && e.event.resource === vm.instance.id), 'drift event recorded', {
      events: store.events.filter((e) => e.event.resource === vm.instance.id).map((e) => `${e.event.action} ${e.event.reason} ${e.event.message}`),
    });
  });

  await t.test('libvirtd going away and coming back: reported, reconnected, drift repaired, nothing doubled', async (t) => {
    const outage = new LibvirtOutage(join(dir, 'libvirt-proxy.sock'));
    await outage.up();
    t.teardown(() => outage.down());
    const viaProxy = async () => {
      const hv = await LibvirtHypervisor.open({ uri: URI, endpoint: { path: outage.path } });
      opened.push(hv);
      return hv;
    };
    const agent2 = await Agent.create({
      host: HOST, zone: 'z1', store, connect: viaProxy, dataDir: dir, namePrefix: prefix, shutdownTimeoutMs: 1500,
      pollIntervalMs: 300, reconnectBaseMs: 200, reconnectMaxMs: 1000,
    });
    t.teardown(() => agent2.stop());
    agent2.start();
    const waitFor = async (what: string, ok: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 300; i++) {
        if (await ok()) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      t.fail(`timed out waiting for ${what}`);
      return false;
    };
    await waitFor('the agent to run a pass through the proxy', () => store.observed.get(HOST)?.instances[vm.instance.id]?.state === 'ACTIVE');
    const before = await ours();

    await outage.down();
    await waitFor('the outage to be reported', () => store.observed.get(HOST)?.conditions?.some((c) => c.reason === 'ConnectionLost') ?? false);
    t.match(store.observed.get(HOST)!.lastError?.message ?? '', /libvirt/, 'observed state names the lost connection');
    await virsh(URI, 'destroy', dom); // drift while the agent cannot see libvirt

    await outage.up();
    t.ok(await waitFor('the domain to run again', async () => (await virsh(URI, 'domstate', dom)) === 'running'), 'repaired after the reconnect');
    await waitFor('the condition to clear', () => !(store.observed.get(HOST)?.conditions?.some((c) => c.reason === 'ConnectionLost') ?? true));
    t.same(await ours(), before, 'exactly the same objects as before the outage');
    t.ok(store.events.some((e) => e.event.reason === 'Reconnected'), 'a Reconnected event is recorded');
    await agent2.stop();
  });

  const second = instance({ name: 'vm2', vcpus: 1, memoryMiB: 64, diskGiB: 1 }, net, img);
  for (const k of [2, 4]) {
    await t.test(`an agent aborted after ${k} changes, then a new agent: exactly one of everything`, async (t) => {
      store.setDesired(HOST, desired(`r-abort-${k}`, vm, second));
      const dying = instrument(await open());
      dying.dieAfter(k);
      const aborted = await newAgent(async () => dying.hv);
      const r = await aborted.sync();
      t.equal(r.outcome, 'disconnected');
      const fresh = await newAgent(open);
      const r2 = await fresh.sync();
      t.equal(r2.pass?.failed, 0);
      const o = await ours();
      t.equal(o.domains.length, 2, 'two domains');
      t.equal(o.networks.length, 1, 'one network');
      t.equal(o.volumes.filter((v) => v.endsWith('.qcow2')).length, 3, 'two boot disks, one data volume');
      t.equal(o.volumes.filter((v) => v.endsWith('.iso')).length, 2, 'two seeds');
      t.same(o.images.length, 2, 'one image and its marker');
      await fresh.stop();
      // back to one instance for the next round
      store.setDesired(HOST, desired(`r-back-${k}`, vm));
      await (await newAgent(open)).sync();
      t.equal((await ours()).domains.length, 1);
    });
  }

  await t.test('removing it from the desired state removes domain, volumes, seed, image and network', async (t) => {
    store.setDesired(HOST, hostDesired(HOST, {}, 'r9'));
    const last = await newAgent(open);
    await last.sync();
    const o = await ours();
    t.same(o.domains, []);
    t.same(o.networks, []);
    t.same(o.volumes, []);
    t.same(o.images, []);
    t.equal(store.observed.get(HOST)!.instances[vm.instance.id]!.state, 'DELETED');
  });

  await t.test('refused images (wrong sha256, a backing file of their own) leave nothing in the pool', async (t) => {
    const evilPath = join(dir, 'evil.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/hostname', '-F', 'raw', evilPath, '64M']);
    const evilBytes = await readFile(evilPath);
    store.putImageBytes('images', 'evil.qcow2', evilBytes);
    const evil = image(evilBytes, { name: 'evil', key: 'evil.qcow2' });
    const wrong = image(bytes, { name: 'wrong', key: 'tiny.qcow2', sha256: '0'.repeat(64) });
    store.setDesired(HOST, hostDesired(HOST, { images: [evil, wrong] }, 'r10'));
    const r = await (await newAgent(open)).sync();
    t.equal(r.observed.images.evil!.conditions![0]!.reason, 'ImageHasBackingFile');
    t.equal(r.observed.images.wrong!.conditions![0]!.reason, 'ImageChecksumMismatch');
    t.same((await ours()).images, [], 'no volume left in the image pool');
  });

  await t.test('bridge mode: a network on a real host bridge, a guest with a fixed IP on it', async (t) => {
    const bridge = `${prefix}br`;
    try {
      await hostBridges.add(bridge);
    } catch (e) {
      if (process.env.CI) throw e;
      t.skip(`cannot create host bridge ${bridge} (needs root): ${(e as Error).message}`, () => undefined);
      return;
    }
    t.teardown(async () => {
      await removeAll(admin, prefix);
      await hostBridges.remove(bridge).catch(() => undefined);
    });
    const lan = network({ name: 'bridged', mode: 'bridge', bridge, subnet: [a, (b + 1) % 250] });
    const guest = instance({ name: 'onbridge', ip: `10.${a}.${(b + 1) % 250}.20`, vcpus: 1, memoryMiB: 64, diskGiB: 1 }, lan, img);
    store.putImageBytes('images', 'tiny.qcow2', bytes);
    store.setDesired(HOST, hostDesired(HOST, { networks: [lan], images: [img], instances: [guest] }, 'r12'));
    const counted = instrument(await open());
    const bridgeAgent = await newAgent(async () => counted.hv);
    t.teardown(() => bridgeAgent.stop());
    const r = await bridgeAgent.sync();
    t.equal(r.pass?.failed, 0, JSON.stringify(r.observed.networks[lan.id]?.lastError ?? r.observed.instances[guest.instance.id]?.lastError ?? ''));
    const lanName = bridgeAgent.naming.network(lan.id, lan.name);
    const xml = await virsh(URI, 'net-dumpxml', lanName);
    t.match(xml, /<forward mode=.bridge.\s*\/>/, 'libvirt network in forward mode bridge');
    t.match(xml, new RegExp(`<bridge name=.${bridge}.`), 'on the host bridge');
    t.notMatch(xml, /<dhcp|<host /, 'no DHCP service and no host entries');
    t.match(await virsh(URI, 'net-info', lanName), /Active:\s+yes/, 'network active');
    const domName = bridgeAgent.naming.domain(guest.instance.id, guest.instance.name);
    t.equal(await virsh(URI, 'domstate', domName), 'running');
    t.match(await virsh(URI, 'domiflist', domName), new RegExp(`${lanName}\\s+\\S+\\s+${guest.instance.nics[0]!.mac}`), 'the NIC is on the network');
    t.match(r.observed.networks[lan.id], { state: 'ACTIVE', bridge });
    const before = counted.mutations();
    const again = await bridgeAgent.sync();
    t.equal(again.pass?.failed, 0, 'second pass: nothing fails');
    t.equal(counted.mutations(), before, 'second pass changes nothing');

    store.setDesired(HOST, hostDesired(HOST, {}, 'r13'));
    await bridgeAgent.sync();
    t.same((await ours()).networks, [], 'bridge network removed with the desired state');
    t.match(await run('ip', ['-br', 'link', 'show', bridge]).then((o) => o.stdout), new RegExp(bridge), 'the host bridge itself is left alone');
  });

  await t.test('a pool out of space: ERROR NoSpace, no half-written image', async (t) => {
    const small = `${prefix}n`;
    const mnt = join(dir, 'small');
    await run('mkdir', ['-p', mnt]);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    t.teardown(async () => {
      await removeAll(admin, small);
      await run('umount', [mnt]).catch(() => undefined);
    });
    const big = randomBytes(2 * MIB);
    store.putImageBytes('images', 'big.raw', big);
    const raw = image(big, { name: 'big', key: 'big.raw', format: 'raw' });
    store.setDesired(HOST, hostDesired(HOST, { images: [raw] }, 'r11'));
    const tight = await Agent.create({ host: HOST, zone: 'z1', store, connect: open, dataDir: mnt, namePrefix: small });
    const r = await tight.sync();
    t.equal(r.observed.images.big!.state, 'ERROR');
    t.equal(r.observed.images.big!.conditions![0]!.reason, 'NoSpace');
    t.match(r.observed.images.big!.lastError!.message, /bytes free/);
    t.same((await holdings(URI, small)).images, [], 'nothing left in the image pool');
  });
});
