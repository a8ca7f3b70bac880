/**
 * LibvirtHypervisor against the shared Hypervisor suite on a real libvirtd, with both the
 * qemu driver (real TCG guests, NAT networks with dnsmasq, dir pools on disk) and the test
 * driver, observed with virsh and the file system; then what only a real host shows:
 * a qemu-img image uploaded and probed, an overlay checked with qemu-img, and connection loss.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { LibvirtHypervisor, capabilitiesOfferKvm } from './libvirt-hypervisor.js';
import { hypervisorSuite } from './hypervisor-suite.js';
import { ConnectionLostError, NotFoundError } from './errors.js';
import { hostBridges, libvirtSkipReason, observerUri, virsh } from './libvirt-test-env.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const skip = libvirtSkipReason();
if (skip) t.comment(`skipping libvirt tests: ${skip}`);

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-hv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

for (const uri of ['qemu:///system', 'test:///default']) {
  const real = uri.startsWith('qemu');
  t.test(`shared suite on ${uri}`, { skip: skip ?? false }, async (t) => {
    const dir = await tempDir(t);
    const obs = observerUri(uri);
    hypervisorSuite(t, async () => ({
      hv: await LibvirtHypervisor.open({ uri }),
      poolDir: join(dir, 'pool'),
      // The test driver lacks these (and drops a redefinition made while a network is active).
      unsupported: real ? {} : { upload: true, resize: true, leases: true, redefineActiveNetwork: true },
      // A guest without an OS ignores ACPI; the test driver powers off at once.
      guestObeysShutdown: !real,
      observer: {
        domainState: (name) => virsh(obs, 'domstate', name),
        // The test driver refuses --inactive; its XML has no live-only parts anyway.
        networkXml: (name) => (real ? virsh(obs, 'net-dumpxml', '--inactive', name) : virsh(obs, 'net-dumpxml', name)),
        readVolume: (info) => readFile(info.path),
        powerOff: async (name) => {
          await virsh(obs, 'destroy', name);
        },
        domainInterfaces: (name) => virsh(obs, 'domiflist', name),
      },
      hostBridges,
    }));
  });
}

t.test('qemu: image made by qemu-img, uploaded, probed, used as a backing store', { skip: skip ?? false }, async (t) => {
  const dir = await tempDir(t);
  const id = `rstest-${randomBytes(3).toString('hex')}`;
  const hv = await LibvirtHypervisor.open({ uri: 'qemu:///system' });
  t.teardown(async () => {
    await hv.deleteDomain(`${id}-vm`).catch(() => undefined);
    for (const v of await hv.listVolumes(`${id}-pool`).catch(() => [])) await hv.deleteVolume(`${id}-pool`, v.name).catch(() => undefined);
    await hv.deletePool(`${id}-pool`).catch(() => undefined);
    await hv.close();
  });

  const image = join(dir, 'image.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '48M']);
  const size = (await stat(image)).size;
  await hv.createPool({ name: `${id}-pool`, path: join(dir, 'pool') });
  await hv.createVolume(`${id}-pool`, { name: 'base', format: 'raw', capacityBytes: size });
  const base = await hv.uploadVolume(`${id}-pool`, 'base', createReadStream(image), size);
  t.equal(base.format, 'qcow2', 'libvirt probed the uploaded image');
  t.equal(base.capacityBytes, 48 * MIB, 'virtual size of the image');
  t.ok((await readFile(base.path)).equals(await readFile(image)), 'bytes on disk equal the image');

  const disk = await hv.createVolume(`${id}-pool`, {
    name: 'vm.qcow2',
    format: 'qcow2',
    capacityBytes: 96 * MIB,
    backingStore: { path: base.path, format: 'qcow2' },
  });
  const { stdout } = await run('qemu-img', ['info', '--output=json', disk.path]);
  const info = JSON.parse(stdout) as Record<string, unknown>;
  t.match(info, { format: 'qcow2', 'virtual-size': 96 * MIB, 'backing-filename': base.path, 'backing-filename-format': 'qcow2' });

  // A cdrom as the agent attaches cloud-init seeds (any file serves as the medium here).
  const seed = join(dir, 'seed.iso');
  await writeFile(seed, Buffer.alloc(MIB));
  await hv.defineDomain({
    name: `${id}-vm`,
    vcpus: 1,
    memoryMiB: 64,
    disks: [
      { path: disk.path, format: 'qcow2', target: 'vda' },
      { path: seed, format: 'raw', target: 'sda', device: 'cdrom' },
    ],
    nics: [],
  });
  await hv.startDomain(`${id}-vm`);
  t.equal(await virsh('qemu:///system', 'domstate', `${id}-vm`), 'running');
  const blk = await virsh('qemu:///system', 'domblklist', '--details', `${id}-vm`);
  t.match(blk, new RegExp(`file\\s+disk\\s+vda\\s+${disk.path}`), 'virsh sees the overlay as vda');
  t.match(blk, new RegExp(`file\\s+cdrom\\s+sda\\s+${seed}`), 'virsh sees the seed as a cdrom');
  t.ok((await hv.getDomain(`${id}-vm`)).cpuTimeNs > 0, 'the guest used CPU');
  await hv.deleteDomain(`${id}-vm`);
  await t.rejects(virsh('qemu:///system', 'domstate', `${id}-vm`), Error, 'virsh no longer finds it');
  await t.rejects(hv.getDomain(`${id}-vm`), NotFoundError);
});

t.test('connection loss is reported and later calls fail with ConnectionLostError', { skip: skip ?? false }, async (t) => {
  const hv = await LibvirtHypervisor.open({ uri: 'test:///default' });
  const lost = new Promise<Error>((resolve) => hv.onConnectionLost(resolve));
  const pending = hv.listDomains().then(
    () => null,
    (err: unknown) => err,
  );
  hv.connection.rpc.destroy();
  t.type(await lost, ConnectionLostError);
  t.type(await pending, ConnectionLostError, 'a call in flight fails');
  await t.rejects(hv.hostInfo(), ConnectionLostError, 'a later call fails');
});

t.test('opening a socket that does not exist fails with ConnectionLostError', async (t) => {
  await t.rejects(
    LibvirtHypervisor.open({ endpoint: { path: join(tmpdir(), `rstest-no-such-${randomBytes(4).toString('hex')}.sock`) } }),
    ConnectionLostError,
  );
});

t.test('listings leave out objects deleted between the list and the look-up', { skip: skip ?? false }, async (t) => {
  const hv = await LibvirtHypervisor.open({ uri: 'test:///default' });
  t.teardown(() => hv.close());
  const calls = hv.connection.domains;
  const realListAll = calls.listAll.bind(calls);
  // As if another client undefined this domain right after libvirt listed it.
  calls.listAll = async () => [...(await realListAll()), { name: 'rstest-gone', uuid: Buffer.alloc(16), id: -1 }];
  const names = (await hv.listDomains()).map((d) => d.name);
  t.ok(names.includes('test'), 'the test driver domain is listed');
  t.notOk(names.includes('rstest-gone'), 'the vanished one is not');
  const nets = hv.connection.networks;
  const realNets = nets.listAll.bind(nets);
  nets.listAll = async () => [...(await realNets()), { name: 'rstest-gone', uuid: Buffer.alloc(16) }];
  t.notOk((await hv.listNetworks()).some((n) => n.name === 'rstest-gone'));
});

t.test("domainType 'auto' picks kvm exactly when the capabilities offer it", { skip: skip ?? false }, async (t) => {
  for (const uri of ['qemu:///system', 'test:///default']) {
    const hv = await LibvirtHypervisor.open({ uri, domainType: 'auto' });
    const caps = await virsh(observerUri(uri), 'capabilities');
    await hv.close();
    t.equal(hv.virtType, capabilitiesOfferKvm(caps) ? 'kvm' : 'qemu', uri);
  }
  t.equal(capabilitiesOfferKvm("<capabilities><guest><arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>"), false);
  t.equal(capabilitiesOfferKvm("<capabilities><guest><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>"), true);
  t.equal((await LibvirtHypervisor.open({ uri: 'test:///default' }).then(async (hv) => { await hv.close(); return hv.virtType; })), 'qemu', 'default is TCG');
});
