import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildSeedIso, seedDigest, seedFiles, SeedError } from './seed.js';
import { buildIso, IsoError, SECTOR } from './iso9660.js';

const input = {
  instanceId: 'b4f0c9a2-1111-4222-8333-444455556666',
  hostname: 'web-1',
  userData: '#cloud-config\npackages: [nginx]\nssh_authorized_keys: ["ssh-ed25519 AAAA old"]\n',
  sshAuthorizedKeys: ['ssh-ed25519 AAAA new'],
  nics: [{ mac: '52:54:00:AA:BB:CC', address: '10.0.0.5/24', gateway: '10.0.0.1' }, { mac: '52:54:00:00:00:01' }],
};

const dir = mkdtempSync(join(tmpdir(), 'rs-seed-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function tool(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`]); return true; } catch { return false; }
}

t.test('seed files: cloud-config keys merged, network v2 by MAC, meta-data', async (t) => {
  const f = seedFiles(input);
  const ud = parse(f['user-data']);
  t.ok(f['user-data'].startsWith('#cloud-config\n'));
  t.same(ud.packages, ['nginx']);
  t.same(ud.ssh_authorized_keys, ['ssh-ed25519 AAAA old', 'ssh-ed25519 AAAA new']);
  const net = parse(f['network-config']);
  t.equal(net.version, 2);
  t.same(net.ethernets.eth0.match, { macaddress: '52:54:00:aa:bb:cc' });
  t.same(net.ethernets.eth0.addresses, ['10.0.0.5/24']);
  t.same(net.ethernets.eth0.routes, [{ to: 'default', via: '10.0.0.1' }]);
  t.equal(net.ethernets.eth1.dhcp4, true);
  t.same(parse(f['meta-data']), { 'instance-id': input.instanceId, 'local-hostname': 'web-1' });
});

t.test('bad user data is refused with a reason', async (t) => {
  t.throws(() => seedFiles({ ...input, userData: '#cloud-config\n: : [' }), SeedError);
  t.throws(() => seedFiles({ ...input, userData: '#!/bin/sh\necho hi' }), { message: /only be merged into a #cloud-config/ });
  t.equal(seedFiles({ ...input, userData: '#!/bin/sh\necho hi', sshAuthorizedKeys: [] })['user-data'], '#!/bin/sh\necho hi');
});

const toolsMissing = !tool('isoinfo') || !tool('blkid') ? 'isoinfo/blkid missing (genisoimage, util-linux)' : false;

t.test('the ISO is deterministic and readable by isoinfo and blkid', { skip: toolsMissing }, async (t) => {
  const iso = buildSeedIso(input);
  t.equal(iso.length % SECTOR, 0);
  t.same(buildSeedIso(input), iso, 'same input, same bytes');
  t.equal(seedDigest(input), seedDigest({ ...input }));
  t.not(seedDigest(input), seedDigest({ ...input, hostname: 'web-2' }));
  const path = join(dir, 'seed.iso');
  writeFileSync(path, iso);
  const label = execFileSync('blkid', ['-o', 'value', '-s', 'LABEL', path], { encoding: 'utf8' }).trim();
  t.equal(label, 'cidata');
  t.equal(execFileSync('blkid', ['-o', 'value', '-s', 'TYPE', path], { encoding: 'utf8' }).trim(), 'iso9660');
  const listing = execFileSync('isoinfo', ['-J', '-f', '-i', path], { encoding: 'utf8' });
  t.same(listing.trim().split('\n').sort(), ['/meta-data', '/network-config', '/user-data']);
  for (const [name, body] of Object.entries(seedFiles(input))) {
    const got = execFileSync('isoinfo', ['-J', '-x', `/${name}`, '-i', path], { encoding: 'utf8' });
    t.equal(got, body, `${name} reads back through Joliet`);
  }
  const primary = execFileSync('isoinfo', ['-f', '-i', path], { encoding: 'utf8' });
  t.match(primary, /USER_DATA\.;1/, 'primary tree has level-2 names');
});

t.test('iso writer rejects what it cannot represent', async (t) => {
  t.throws(() => buildIso([{ name: 'a/b', data: Buffer.alloc(1) }], { label: 'x' }), IsoError);
  t.throws(() => buildIso([{ name: 'a', data: Buffer.alloc(1) }, { name: 'A', data: Buffer.alloc(1) }], { label: 'x' }), { message: /duplicate/ });
  t.throws(() => buildIso([], { label: '' }), { message: /volume label/ });
  const big = buildIso([{ name: 'big', data: Buffer.alloc(SECTOR * 2 + 1, 7) }, { name: 'empty', data: Buffer.alloc(0) }], { label: 'data' });
  t.equal(big.length, (25 + 3 + 1) * SECTOR, 'a file spans whole sectors, an empty one takes one');
});
