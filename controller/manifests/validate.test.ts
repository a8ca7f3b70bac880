/** Every validation error of a commit: exact message and position. */
import t from 'tap';
import { BASE, check, instance, SHA } from './test-fixtures.js';

t.test('the base set and a plain instance are valid', async (t) => {
  const r = await check({ 'i.yaml': instance('web') });
  t.same(r.lines, []);
  t.equal(r.ok, true);
  t.same(r.counts, { Instance: 1, Network: 1, Volume: 0, Image: 1, Flavor: 1, Project: 1 });
  t.equal(r.catalog.instances[0]!.vcpus, 1);
  t.equal(r.catalog.instances[0]!.diskGiB, 10);
});

t.test('non-YAML files, dot-folders and empty documents are ignored', async (t) => {
  const r = await check({
    'README.md': 'kind: nonsense', '.github/ci.yaml': 'on: [push]', 'dir/.hidden.yml': ': :',
    'empty.yaml': '# only a comment\n---\n---\n',
  });
  t.same(r.lines, []);
  t.equal(r.files, 4);
});

t.test('YAML syntax errors carry the position', async (t) => {
  const r = await check({ 'bad.yaml': 'a: [1\nb: c: d\n', 'dup.yaml': 'kind: Flavor\nkind: Image\n' });
  t.same(r.lines, [
    'bad.yaml:2:1 YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    'bad.yaml:2:4 YAML: Nested mappings are not allowed in compact mappings',
    'dup.yaml:2:1 YAML: Map keys must be unique',
  ]);
});

t.test('document shape: not a mapping, missing or unknown kind, wrong apiVersion', async (t) => {
  const r = await check({
    'list.yaml': '- a\n- b\n',
    'nokind.yaml': 'apiVersion: ringstack.dev/v1\nmetadata: {name: x}\n',
    'kind.yaml': 'apiVersion: ringstack.dev/v1\nkind: Instanse\n',
    'api.yaml': 'apiVersion: v1\nkind: Flavor\nmetadata: {name: f}\nspec: {vcpus: 1, memoryMiB: 64, diskGiB: 1}\n',
  });
  t.same(r.lines, [
    'api.yaml:1:13 apiVersion: must be "ringstack.dev/v1", got "v1"',
    'kind.yaml:2:7 kind: unknown kind "Instanse" (expected one of Instance, Network, Volume, Image, Flavor, Project)',
    'list.yaml:1:1 a manifest must be a mapping with apiVersion, kind, metadata and spec',
    'nokind.yaml:1:1 kind: missing required field "kind" (one of Instance, Network, Volume, Image, Flavor, Project)',
  ]);
});

t.test('schema: unknown field with suggestion, wrong types, bad enum, missing fields', async (t) => {
  const r = await check({
    'i.yaml': instance('web', '  flavour: small\n  powerState: Paused\n  networks: {network: net}\n'),
    'v.yaml': 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata:\n  name: v\n  project: demo\nspec:\n  sizeGiB: "10"\n  retainOnDelete: yes\n',
    'f.yaml': 'apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata:\n  name: f\nspec:\n  vcpus: 1.5\n  memoryMiB: 32\n',
  });
  t.same(r.lines, [
    'f.yaml:5:1 spec.diskGiB: missing required field "diskGiB"',
    'f.yaml:6:10 spec.vcpus: must be a whole number, got number 1.5',
    'f.yaml:7:14 spec.memoryMiB: must be at least 64, got 32',
    'i.yaml:8:3 spec.flavour: unknown field; did you mean "flavor"?',
    'i.yaml:9:15 spec.powerState: must be one of "Running", "Stopped", got "Paused"',
    'i.yaml:10:13 spec.networks: must be a list, got a mapping',
    'v.yaml:7:12 spec.sizeGiB: must be a whole number, got string "10"',
    'v.yaml:8:19 spec.retainOnDelete: must be true or false, got string "yes"',
  ]);
});

t.test('string formats: names, CIDR, IP, MAC, sha256, ssh keys, labels', async (t) => {
  const r = await check({
    'n.yaml': 'apiVersion: ringstack.dev/v1\nkind: Network\nmetadata:\n  name: Net_1\n  project: demo\nspec:\n  cidr: 10.0.0.1/24\n',
    'n2.yaml': 'apiVersion: ringstack.dev/v1\nkind: Network\nmetadata: {name: n2}\nspec: {cidr: "fd00::/64"}\n',
    'img.yaml': `apiVersion: ringstack.dev/v1\nkind: Image\nmetadata: {name: img}\nspec:\n  source: {bucket: images, key: k}\n  format: vmdk\n  sha256: ${SHA.slice(1)}\n`,
    'i.yaml': instance('web', '  flavor: small\n  networks:\n    - {network: net, ip: 10.0.0.300, mac: "01:00:5e:00:00:01"}\n    - {network: net, mac: zz}\n  sshAuthorizedKeys: ["hello"]\n',
      '  labels: {tier: 3, "bad key!": x}\n'),
  });
  t.same(r.lines, [
    'i.yaml:6:18 metadata.labels.tier: must be a string, got number 3 (quote it)',
    'i.yaml:6:21 metadata.labels.bad key!: "bad key!" is not a valid label key (like "tier" or "example.com/tier")',
    'i.yaml:11:26 spec.networks[0].ip: "10.0.0.300" must be an IPv4 address like 10.0.0.5',
    'i.yaml:11:43 spec.networks[0].mac: "01:00:5e:00:00:01" is a multicast MAC address; a NIC needs a unicast one',
    'i.yaml:12:27 spec.networks[1].mac: "zz" must be a MAC address like 52:54:00:12:34:56',
    'i.yaml:13:23 spec.sshAuthorizedKeys[0]: "hello" is not an SSH public key (expected "ssh-ed25519 AAAA... comment")',
    'img.yaml:6:11 spec.format: must be one of "qcow2", "raw", got "vmdk"',
    `img.yaml:7:11 spec.sha256: "${SHA.slice(1, 61)}…" must be 64 lowercase hex digits`,
    'n.yaml:4:9 metadata.name: "Net_1" must be a DNS label: lowercase letters, digits and "-", 1-63 characters, starting and ending with a letter or digit',
    'n.yaml:7:9 spec.cidr: "10.0.0.1/24" host bits are set; did you mean 10.0.0.0/24?',
    'n2.yaml:4:14 spec.cidr: "fd00::/64" only IPv4 CIDRs are supported',
  ]);
});

t.test('instance size: flavor or explicit size, not both, not partial', async (t) => {
  const r = await check({
    'a.yaml': instance('a', '  flavor: small\n  vcpus: 2\n'),
    'b.yaml': instance('b', ''),
    'c.yaml': instance('c', '  vcpus: 2\n  memoryMiB: 1024\n'),
  });
  t.same(r.lines, [
    'a.yaml:9:10 spec.vcpus: give either spec.flavor or spec.vcpus/memoryMiB/diskGiB, not both',
    'b.yaml:6:1 spec.flavor: missing required field "flavor" (or all of vcpus, memoryMiB and diskGiB)',
    'c.yaml:6:1 spec.diskGiB: missing required field "diskGiB" (spec.vcpus is set and there is no flavor)',
  ]);
});

t.test('network rules: mode fields, gateway and DHCP range inside the CIDR', async (t) => {
  const net = (name: string, spec: string) => `apiVersion: ringstack.dev/v1\nkind: Network\nmetadata: {name: ${name}}\nspec:\n${spec}`;
  const r = await check({
    'a.yaml': net('a', '  mode: bridge\n'),
    'b.yaml': net('b', '  mode: isolated\n  bridge: br0\n'),
    'c.yaml': net('c', '  cidr: 10.1.0.0/24\n  gateway: 10.2.0.1\n'),
    'd.yaml': net('d', '  cidr: 10.1.0.0/24\n  dhcp: {start: 10.1.0.50, end: 10.1.0.10}\n'),
    'e.yaml': net('e', '  cidr: 10.1.0.0/24\n  dhcp: {start: 10.1.0.1, end: 10.1.0.255}\n'),
    'f.yaml': net('f', '  cidr: 10.1.0.0/24\n  dhcp: {start: 10.1.0.1, end: 10.1.0.20}\n'),
    'g.yaml': net('g', '  mode: bridge\n  bridge: br0\n  dhcp: {start: 10.1.0.1, end: 10.1.0.20}\n'),
  });
  t.same(r.lines, [
    'a.yaml:4:1 spec.bridge: missing required field "bridge" (the host bridge, e.g. br0) for mode bridge',
    'b.yaml:4:1 spec.cidr: missing required field "cidr" for mode isolated',
    'b.yaml:6:11 spec.bridge: only bridge networks name a host bridge; mode is isolated',
    'c.yaml:6:12 spec.gateway: 10.2.0.1 is outside 10.1.0.0/24',
    'd.yaml:6:33 spec.dhcp.end: 10.1.0.10 is before the range start 10.1.0.50',
    'e.yaml:6:32 spec.dhcp.end: 10.1.0.255 is the broadcast address of 10.1.0.0/24',
    'f.yaml:6:9 spec.dhcp: the DHCP range 10.1.0.1-10.1.0.20 contains the gateway 10.1.0.1',
    'g.yaml:7:9 spec.dhcp: bridge networks get DHCP from the LAN; remove spec.dhcp',
  ]);
});

t.test('references: missing image, flavor, network, volume, project; broken targets are not reported twice', async (t) => {
  const r = await check({
    'i.yaml': instance('web', '  flavor: huge\n  networks: [{network: nope}]\n  volumes: [data]\n'),
    'j.yaml': instance('db', '  flavor: small\n').replace('image: debian', 'image: ubuntu').replace('project: demo', 'project: other'),
    'v.yaml': 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: v, project: demo}\nspec: {sizeGiB: 1, sourceImage: gone}\n',
    'broken-flavor.yaml': 'apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata: {name: big}\nspec: {vcpus: 0, memoryMiB: 64, diskGiB: 1}\n',
    'k.yaml': instance('k', '  flavor: big\n'),
  });
  t.same(r.lines, [
    'broken-flavor.yaml:4:15 spec.vcpus: must be at least 1, got 0',
    'i.yaml:8:11 spec.flavor: no Flavor named "huge" in project "demo" or shared',
    'i.yaml:9:24 spec.networks[0].network: no Network named "nope" in project "demo" or shared',
    'i.yaml:10:13 spec.volumes[0]: no Volume named "data" in project "demo"',
    'j.yaml:5:12 metadata.project: no Project named "other"',
    'j.yaml:7:10 spec.image: no Image named "ubuntu" in project "other" or shared',
    'v.yaml:4:33 spec.sourceImage: no Image named "gone" in project "demo" or shared',
  ]);
});

t.test('duplicates: names unique per kind and project, same name allowed across kinds and projects', async (t) => {
  const other = 'apiVersion: ringstack.dev/v1\nkind: Project\nmetadata: {name: other}\n';
  const r = await check({
    'a.yaml': instance('web'),
    'b.yaml': `${instance('web')}---\n${instance('web').replace('project: demo', 'project: other')}`,
    'p.yaml': other,
    'v.yaml': 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: web, project: demo}\nspec: {sizeGiB: 1}\n',
  });
  t.same(r.lines, ['b.yaml:4:9 metadata.name: duplicate Instance "demo/web" (first defined at a.yaml:4:9)']);
});

t.test('fixed IPs: inside the CIDR, not the gateway, not reused; MACs unique; volumes attached once', async (t) => {
  const vol = 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: data, project: demo}\nspec: {sizeGiB: 1}\n';
  const nic = (ip: string, mac = '') => `  networks: [{network: net, ip: ${ip}${mac ? `, mac: "${mac}"` : ''}}]\n`;
  const r = await check({
    'a.yaml': instance('a', `  flavor: small\n${nic('10.0.0.5', '52:54:00:00:00:01')}  volumes: [data]\n`),
    'b.yaml': instance('b', `  flavor: small\n${nic('10.0.0.5', '52:54:00:00:00:01')}  volumes: [data]\n`),
    'c.yaml': instance('c', `  flavor: small\n${nic('10.0.1.5')}`),
    'd.yaml': instance('d', `  flavor: small\n${nic('10.0.0.1')}`),
    'e.yaml': instance('e', `  flavor: small\n${nic('10.0.0.255')}`),
    'v.yaml': vol,
  });
  t.same(r.lines, [
    'b.yaml:9:33 spec.networks[0].ip: 10.0.0.5 on Network "net" is already used at a.yaml:9:33',
    'b.yaml:9:48 spec.networks[0].mac: MAC 52:54:00:00:00:01 is already used at a.yaml:9:48',
    'b.yaml:10:13 spec.volumes[0]: Volume "data" is already attached to Instance "a" (a.yaml:4:9)',
    'c.yaml:9:33 spec.networks[0].ip: 10.0.1.5 is outside 10.0.0.0/24 of Network "net"',
    'd.yaml:9:33 spec.networks[0].ip: 10.0.0.1 is the gateway of Network "net"',
    'e.yaml:9:33 spec.networks[0].ip: 10.0.0.255 is the broadcast address of 10.0.0.0/24',
  ]);
});

t.test('image minimums for instances and volumes', async (t) => {
  const r = await check({
    'a.yaml': instance('a', '  vcpus: 1\n  memoryMiB: 256\n  diskGiB: 2\n'),
    'v.yaml': 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: v, project: demo}\nspec: {sizeGiB: 1, sourceImage: debian}\n',
  });
  t.same(r.lines, [
    'a.yaml:9:14 spec.memoryMiB: memory of 256 MiB is less than the 512 MiB Image "debian" needs',
    'a.yaml:10:12 spec.diskGiB: disk of 2 GiB is smaller than the 5 GiB Image "debian" needs',
    'v.yaml:4:17 spec.sizeGiB: 1 GiB is smaller than the 5 GiB Image "debian" needs',
  ]);
});

t.test('quotas per project: set ones point at the quota, default ones at spec.quotas', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 9; i++) files[`i${i}.yaml`] = instance(`web-${i}`);
  const r = await check(files);
  t.same(r.lines, [
    'projects/demo.yaml:7:16 spec.quotas.instances: project "demo" needs 9 instances, over its quota of 5',
    'projects/demo.yaml:8:12 spec.quotas.vcpus: project "demo" needs 9 vcpus, over its quota of 8',
  ]);
  const r2 = await check({
    'v.yaml': 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: v, project: demo}\nspec: {sizeGiB: 1001}\n',
  });
  t.same(r2.lines, ['projects/demo.yaml:6:3 spec.quotas.volumeGiB: project "demo" needs 1001 GiB of volumes, over its default quota of 1000']);
  t.same(r2.usage.get('demo')!.usage, { instances: 0, vcpus: 0, memoryMiB: 0, volumeGiB: 1001, networks: 1 });
});

t.test('robustness: oversized, binary, non-UTF-8 files and symlinks never crash', async (t) => {
  const big = Buffer.alloc(2048, 0x61);
  const r = await check({
    'big.yaml': big, 'bin.yaml': Buffer.from([0x6b, 0x00, 0x01]), 'latin.yml': Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]),
    'bom.yaml': `\ufeff${instance('bom')}`,
  }, { maxFileBytes: 1024 }, { 'link.yaml': 'images/debian.yaml', 'etc': '../../etc', 'abs.txt': '/etc/passwd', 'inside': 'images' });
  t.same(r.lines, [
    'abs.txt:1:1 symbolic link to "/etc/passwd" points outside the repository; it is not followed',
    'big.yaml:1:1 file is 2048 bytes, over the 1024-byte limit for a manifest; split it',
    'bin.yaml:1:1 is a binary file (NUL byte at offset 1), not YAML',
    'etc:1:1 symbolic link to "../../etc" points outside the repository; it is not followed',
    'latin.yml:1:1 is not valid UTF-8 text',
    'link.yaml:1:1 is a symbolic link to "images/debian.yaml"; manifests must be regular files (links are not followed)',
  ]);
  t.equal(r.catalog.instances.length, 1, 'a file with a BOM parses');
});

t.test('aliases are refused instead of expanded', async (t) => {
  const r = await check({
    'a.yaml': 'apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata: {name: f}\nspec: {vcpus: &n 1, memoryMiB: 64, diskGiB: *n}\n',
  });
  t.same(r.lines, ['a.yaml:4:45 spec.diskGiB: aliases (*name) are not supported; write the value out']);
});

t.test('shared and project resources: project first, then shared', async (t) => {
  const projectImage = BASE['images/debian.yaml']!.split('---')[0]!.replace('name: debian', 'name: debian\n  project: demo').replace('minDiskGiB: 5', 'minDiskGiB: 50');
  const r = await check({ 'pi.yaml': projectImage, 'a.yaml': instance('a') });
  t.same(r.lines, ['a.yaml:8:11 spec.flavor: disk of 10 GiB is smaller than the 50 GiB Image "debian" needs']);
  t.equal(r.catalog.instances[0]?.image.project, 'demo', 'the project image wins over the shared one');
});

t.test('parse cache: unchanged files are not parsed again, their errors are replayed', async (t) => {
  const { ParseCache } = await import('./parse-cache.js');
  const cache = new ParseCache();
  const files = { 'a.yaml': instance('a'), 'bad.yaml': instance('b', '  flavor: small\n  colour: red\n') };
  const first = await check(files, { cache });
  t.equal(cache.misses, 5);
  t.same(first.lines, ['bad.yaml:9:3 spec.colour: unknown field (known fields: image, flavor, vcpus, memoryMiB, diskGiB, powerState, networks, volumes, userData, sshAuthorizedKeys, placement)']);
  const second = await check(files, { cache });
  t.same([cache.hits, cache.misses], [5, 0]);
  t.same(second.lines, first.lines);
  t.same(second.catalog.instances.map((i) => i.manifest.name), ['a', 'b']);
  const third = await check({ ...files, 'a.yaml': instance('a', '  flavor: nope\n') }, { cache });
  t.same([cache.hits, cache.misses], [4, 1]);
  t.same(third.lines, ['a.yaml:8:11 spec.flavor: no Flavor named "nope" in project "demo" or shared', ...first.lines]);
  for (let i = 0; i < 3; i++) await check({ 'only.yaml': instance('o') }, { cache });
  t.ok(cache.size <= 5 + 1, `old entries are dropped (size ${cache.size})`);
});

t.test('hostile YAML: deep nesting, inherited property names as fields', async (t) => {
  const deep = `a: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
  const r = await check({
    'deep.yaml': deep,
    'ctor.yaml': 'apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata: {name: constructor}\nspec: {vcpus: 1, memoryMiB: 64, diskGiB: 1, constructor: 1, toString: 2}\n',
  }, { maxFileBytes: 1 << 20 });
  const deepErrors = r.lines.filter((l) => l.startsWith('deep.yaml'));
  t.ok(deepErrors.length >= 1 && deepErrors.length <= 11, `a bounded number of errors (${deepErrors.length})`);
  t.same(r.lines.filter((l) => l.startsWith('ctor.yaml')), [
    'ctor.yaml:4:45 spec.constructor: unknown field (known fields: vcpus, memoryMiB, diskGiB)',
    'ctor.yaml:4:61 spec.toString: unknown field (known fields: vcpus, memoryMiB, diskGiB)',
  ]);
  t.same(r.catalog.flavors.map((f) => f.name), ['constructor', 'small'], 'a manifest may be named "constructor"');
});

t.test('more schema rules: limits, duplicates in lists, key types, forbidden project, zones', async (t) => {
  const zoned = 'apiVersion: ringstack.dev/v1\nkind: Network\nmetadata: {name: zn, project: demo}\nspec: {cidr: 10.9.0.0/24, zones: [a, b]}\n';
  const r = await check({
    'big-userdata.yaml': instance('u', `  flavor: small\n  userData: "${'x'.repeat(70_000)}"\n`),
    'dup-volumes.yaml': instance('d', '  flavor: small\n  volumes: [v1, v1]\n'),
    'key.yaml': 'apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata: {name: k}\nspec: {vcpus: 1, memoryMiB: 64, diskGiB: 1, 7: x}\n',
    'proj.yaml': 'apiVersion: ringstack.dev/v1\nkind: Project\nmetadata: {name: p2, project: demo}\n',
    'zone.yaml': `${zoned}---\n${instance('z', '  flavor: small\n  networks: [{network: zn}]\n  placement: {zone: c}\n')}`,
    'label.yaml': instance('l', '  flavor: small\n', `  labels: {note: "${'y'.repeat(300)}"}\n`),
    'nics.yaml': instance('n', `  flavor: small\n  networks: [${Array.from({ length: 17 }, () => '{network: net}').join(', ')}]\n`),
  });
  t.same(r.lines, [
    'big-userdata.yaml:9:13 spec.userData: "' + 'x'.repeat(60) + '…" is 70000 bytes, over the 65535-byte limit',
    'dup-volumes.yaml:9:17 spec.volumes[1]: "v1" is listed twice',
    'key.yaml:4:45 spec: keys must be strings, got number 7',
    'label.yaml:6:18 metadata.labels.note: is 300 characters, over the limit of 256',
    'nics.yaml:9:13 spec.networks: has 17 items, over the limit of 16',
    'proj.yaml:3:22 metadata.project: unknown field (known fields: name, labels)',
    'zone.yaml:14:24 spec.networks[0].network: Network "zn" does not exist in zone "c" (its zones: a, b)',
  ]);
});

t.test('placement.antiAffinityPolicy: Strict or Soft, only with a group', async (t) => {
  const r = await check({
    'soft.yaml': instance('s', '  flavor: small\n  placement: {antiAffinityGroup: web, antiAffinityPolicy: Soft}\n'),
    'bad.yaml': instance('b', '  flavor: small\n  placement: {antiAffinityGroup: web, antiAffinityPolicy: soft}\n'),
    'alone.yaml': instance('a', '  flavor: small\n  placement:\n    antiAffinityPolicy: Strict\n'),
  });
  t.same(r.lines, [
    'alone.yaml:10:25 spec.placement.antiAffinityPolicy: a policy needs spec.placement.antiAffinityGroup',
    'bad.yaml:9:59 spec.placement.antiAffinityPolicy: must be one of "Strict", "Soft", got "soft"',
  ]);
  t.same(r.catalog.instances.map((i) => [i.manifest.name, i.manifest.spec.placement]), [['s', { antiAffinityGroup: 'web', antiAffinityPolicy: 'Soft' }]]);
});
