/**
 * LibvirtConnection against the real libvirtd: the handshake with both drivers, host queries
 * compared with virsh, many concurrent calls, and libvirt's error codes as typed errors.
 */
import t from 'tap';
import { hostname } from 'node:os';
import { LibvirtConnection, formatVersion } from './connection.js';
import { ErrorCode, LibvirtNotFoundError } from './errors.js';
import { libvirtSkipReason, virsh } from '../libvirt-test-env.js';

const skip = libvirtSkipReason();
if (skip) t.comment(`skipping libvirt tests: ${skip}`);

t.test('formatVersion', async (t) => {
  t.equal(formatVersion(9000000), '9.0.0');
  t.equal(formatVersion(7002022), '7.2.22');
});

for (const uri of ['qemu:///system', 'test:///default']) {
  t.test(`handshake and host queries on ${uri}`, { skip: skip ?? false }, async (t) => {
    const conn = await LibvirtConnection.open({ uri });
    t.teardown(() => conn.close());
    t.equal(await conn.getUri(), uri, 'libvirtd opened the requested driver');
    t.equal(await conn.getType(), uri.startsWith('qemu') ? 'QEMU' : 'TEST');
    const lib = formatVersion(await conn.getLibVersion());
    t.match(await virsh('qemu:///system', 'version'), new RegExp(`Using library: libvirt ${lib.replace(/\./g, '\\.')}`));
    const node = await conn.nodeGetInfo();
    t.ok(node.cpus >= 1 && node.memoryKiB > 0, 'node info');
    if (uri.startsWith('qemu')) {
      t.equal(await conn.getHostname(), hostname());
      const nodeinfo = await virsh(uri, 'nodeinfo');
      t.match(nodeinfo, new RegExp(`CPU\\(s\\):\\s+${node.cpus}\\b`), 'same CPU count as virsh');
      t.match(nodeinfo, new RegExp(`Memory size:\\s+${node.memoryKiB} KiB`), 'same memory as virsh');
      const free = await conn.nodeGetFreeMemory();
      t.ok(free > 0 && free <= node.memoryKiB * 1024, 'free memory within total');
    }
  });
}

t.test('many concurrent calls on one connection', { skip: skip ?? false }, async (t) => {
  const conn = await LibvirtConnection.open({ uri: 'test:///default' });
  t.teardown(() => conn.close());
  const names = await Promise.all(Array.from({ length: 200 }, () => conn.domains.lookupByName('test').then((d) => d.name)));
  t.equal(names.length, 200);
  t.ok(names.every((n) => n === 'test'));
});

t.test('libvirt errors keep their code and class', { skip: skip ?? false }, async (t) => {
  const conn = await LibvirtConnection.open({ uri: 'qemu:///system' });
  t.teardown(() => conn.close());
  const lookups: [() => Promise<unknown>, number][] = [
    [() => conn.domains.lookupByName('rstest-no-such-domain'), ErrorCode.NO_DOMAIN],
    [() => conn.networks.lookupByName('rstest-no-such-network'), ErrorCode.NO_NETWORK],
    [() => conn.storage.poolLookupByName('rstest-no-such-pool'), ErrorCode.NO_STORAGE_POOL],
    [() => conn.storage.volLookupByPath('/nonexistent/rstest-no-such-volume'), ErrorCode.NO_STORAGE_VOL],
  ];
  for (const [lookup, code] of lookups) {
    const err = await lookup().catch((e: unknown) => e);
    t.type(err, LibvirtNotFoundError);
    t.equal((err as LibvirtNotFoundError).code, code);
  }
});

t.test('closing twice is harmless and later calls fail', { skip: skip ?? false }, async (t) => {
  const conn = await LibvirtConnection.open({ uri: 'test:///default' });
  await conn.close();
  await conn.close();
  t.ok(conn.closed);
  await t.rejects(conn.getHostname(), { name: 'RpcConnectionClosedError' });
});
