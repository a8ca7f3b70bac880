/** Compile: determinism (bytes), stable identities, per-host content, revisions, stickiness. */
import t from 'tap';
import { canonicalJson } from '../../agents/contract/canonical-json.js';
import { MemorySource } from '../manifests/source.js';
import { BASE, instance } from '../manifests/test-fixtures.js';
import { validate } from '../manifests/validate.js';
import { compile, serializeCompiled, type CompileInput } from './compile.js';
import type { SchedulerHost } from './scheduler.js';

const NOW = '2026-01-01T12:00:00.000Z';
const HB = '2026-01-01T11:59:58.000Z';
const HOSTS: SchedulerHost[] = [
  { name: 'h1', zone: 'a', vcpus: 8, memoryMiB: 16384, diskGiB: 200, lastHeartbeat: HB },
  { name: 'h2', zone: 'a', vcpus: 8, memoryMiB: 16384, diskGiB: 200, lastHeartbeat: HB },
];
const VOLUME = 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: data, project: demo}\nspec: {sizeGiB: 5, retainOnDelete: true}\n';
const ZONED = 'apiVersion: ringstack.dev/v1\nkind: Network\nmetadata: {name: lan}\nspec: {cidr: 192.168.0.0/24, zones: [a]}\n';

function files(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...BASE, 'data.yaml': VOLUME, 'lan.yaml': ZONED,
    'web.yaml': `${instance('web', '  flavor: small\n  networks: [{network: net, ip: 10.0.0.7}, {network: lan}]\n  volumes: [data]\n')}---\n${instance('api', '  flavor: small\n  networks: [{network: net}]\n')}`,
    ...extra,
  };
}

async function build(f: Record<string, string>, rest: Partial<CompileInput> = {}) {
  const v = await validate(new MemorySource(f));
  if (!v.ok) throw new Error(v.errors.map((e) => e.message).join('\n'));
  return compile({ catalog: v.catalog, usage: v.usage, revision: 'c1', hosts: HOSTS, now: NOW, ...rest });
}

const bytes = (r: Awaited<ReturnType<typeof build>>) => canonicalJson(r.desired) + Object.values(r.hosts).map((h) => canonicalJson(h)).join('');

t.test('same commit and hosts give byte-identical state, whatever the file order', async (t) => {
  const a = await build(files());
  const reversed = Object.fromEntries(Object.entries(files()).reverse());
  const b = await build(reversed, { hosts: [...HOSTS].reverse() });
  t.equal(bytes(a), bytes(b));
  // Splitting documents into other files changes nothing either.
  const f = files();
  const [web, api] = f['web.yaml']!.split('---\n');
  const c = await build({ ...f, 'web.yaml': web!, 'z/api.yml': api! });
  t.equal(bytes(a), bytes(c));
  // The fast serialiser reuses remembered text; it must give exactly the plain canonical bytes.
  const fast = serializeCompiled(a);
  t.equal(fast.desired, canonicalJson(a.desired));
  for (const [name, h] of Object.entries(a.hosts)) t.equal(fast.hosts[name], canonicalJson(h), `host ${name}`);
  t.same(JSON.parse(fast.desired), a.desired);
});

t.test('desired state content: ids, identities, disks, nics, placements', async (t) => {
  const { desired, hosts } = await build(files());
  t.same(Object.keys(desired.instances), ['demo/api', 'demo/web']);
  const web = desired.instances['demo/web']!;
  t.match(web.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.same(web.disks, [{ volume: 'demo/web/boot', device: 'vda', bus: 'virtio' }, { volume: 'demo/data', device: 'vdb', bus: 'virtio' }]);
  t.equal(web.nics[0]!.ip, '10.0.0.7');
  t.match(web.nics[0]!.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  t.not(web.nics[0]!.mac, web.nics[1]!.mac);
  t.equal(web.revision, 'c1');
  t.same({ vcpus: web.vcpus, memoryMiB: web.memoryMiB, diskGiB: web.diskGiB, image: web.image, flavor: web.flavor }, { vcpus: 1, memoryMiB: 1024, diskGiB: 10, image: 'debian', flavor: 'small' });
  t.same(desired.volumes['demo/web/boot'], { ...desired.volumes['demo/web/boot'], role: 'boot', backingImage: 'debian', sizeGiB: 10, attachedTo: 'demo/web' });
  t.equal(desired.networks['demo/net']!.gateway, '10.0.0.1');
  t.match(desired.networks['demo/net']!.bridge, /^rs[0-9a-f]{8}$/);
  const webHost = desired.placements.instances['demo/web']!;
  t.equal(desired.placements.volumes['demo/data'], webHost, 'attached volume follows its instance');
  t.same(desired.placements.networks['lan'], ['h1', 'h2'], 'a zoned network reaches every host of its zones');
  const h = hosts[webHost]!;
  t.same(Object.keys(h.instances), Object.keys(desired.instances).filter((id) => desired.placements.instances[id] === webHost));
  t.ok(h.images['debian'], 'the image of its boot disks');
  t.ok(h.volumes['demo/web/boot'] && h.volumes['demo/data']);
  t.same(desired.projects['demo']!.usage, { instances: 2, vcpus: 2, memoryMiB: 2048, volumeGiB: 5, networks: 1 });
  t.same(Object.keys(desired.unschedulable), []);
});

t.test('revisions: unchanged resources and hosts keep theirs; MACs and placements are sticky', async (t) => {
  const first = await build(files());
  const again = await build(files(), { revision: 'c2', previous: first.desired });
  t.equal(again.desired.instances['demo/web']!.revision, 'c1', 'unchanged instance keeps its revision');
  for (const [name, h] of Object.entries(again.hosts)) {
    t.equal(canonicalJson(h), canonicalJson(first.hosts[name]), `host ${name} keeps its bytes`);
  }
  const changed = await build(files({ 'extra.yaml': instance('new', '  flavor: small\n  networks: [{network: net}]\n') }),
    { revision: 'c3', previous: first.desired, hosts: [...HOSTS, { ...HOSTS[0]!, name: 'h0' }] });
  t.equal(changed.desired.instances['demo/new']!.revision, 'c3');
  t.equal(changed.desired.instances['demo/web']!.revision, 'c1');
  t.same(changed.desired.instances['demo/web']!.nics, first.desired.instances['demo/web']!.nics, 'MACs unchanged');
  t.equal(changed.desired.placements.instances['demo/web'], first.desired.placements.instances['demo/web'], 'no move to the new empty host');
  const newHost = changed.desired.placements.instances['demo/new']!;
  t.equal(changed.hosts[newHost]!.revision, 'c3');
  const bigger = await build(files({ 'web.yaml': files()['web.yaml']!.replace('flavor: small\n  networks: [{network: net, ip', 'vcpus: 2\n  memoryMiB: 2048\n  diskGiB: 10\n  networks: [{network: net, ip') }),
    { revision: 'c4', previous: first.desired });
  t.equal(bigger.desired.instances['demo/web']!.revision, 'c4');
  t.equal(bigger.desired.volumes['demo/web/boot']!.revision, 'c1', 'same boot disk');
});

t.test('a detached volume stays on its host and pulls the instance that attaches it', async (t) => {
  const first = await build(files());
  const volHost = first.desired.placements.volumes['demo/data']!;
  const detached = files({ 'web.yaml': files()['web.yaml']!.replace('  volumes: [data]\n', '') });
  const second = await build(detached, { revision: 'c2', previous: first.desired });
  t.equal(second.desired.placements.volumes['demo/data'], volHost);
  t.equal(second.desired.volumes['demo/data']!.attachedTo, undefined);
  t.ok(second.hosts[volHost]!.volumes['demo/data'], 'still in the host desired state');
  const other = volHost === 'h1' ? 'h2' : 'h1';
  const attach = await build(files({ 'web.yaml': detached['web.yaml']!, 'db.yaml': instance('db', `  flavor: small\n  volumes: [data]\n  placement: {host: ${other}}\n`) }),
    { revision: 'c3', previous: second.desired });
  t.match(attach.desired.unschedulable['demo/db']?.message, `volume data lives on host ${volHost}`);
  const free = await build(files({ 'web.yaml': detached['web.yaml']!, 'db.yaml': instance('db', '  flavor: small\n  volumes: [data]\n') }),
    { revision: 'c3', previous: second.desired, scheduler: { strategy: 'pack' } });
  t.equal(free.desired.placements.instances['demo/db'], volHost);
});

t.test('unschedulable instances get a condition whose transition time is kept', async (t) => {
  const f = files({ 'big.yaml': instance('big', '  vcpus: 8\n  memoryMiB: 32768\n  diskGiB: 10\n') });
  f['projects/demo.yaml'] = f['projects/demo.yaml']!.replace('vcpus: 8', 'vcpus: 80\n    memoryMiB: 100000');
  const a = await build(f);
  t.same(a.desired.unschedulable['demo/big'], {
    instance: 'demo/big', message: 'no host with 32768 MiB free memory',
    condition: { type: 'Unschedulable', status: 'True', reason: 'NoValidHost', message: 'no host with 32768 MiB free memory', observedRevision: 'c1', lastTransitionTime: NOW },
  });
  t.notOk(Object.values(a.hosts).some((h) => h.instances['demo/big']));
  const b = await build(f, { revision: 'c2', previous: a.desired, now: '2026-01-01T13:00:00.000Z' });
  t.equal(b.desired.unschedulable['demo/big']!.condition.lastTransitionTime, NOW);
  t.equal(b.desired.unschedulable['demo/big']!.condition.observedRevision, 'c2');
});

t.test('hosts without instances still get a desired state; vanished hosts keep theirs during the grace period', async (t) => {
  const first = await build(files(), { hosts: [...HOSTS, { ...HOSTS[0]!, name: 'idle', zone: 'z', lastHeartbeat: 0 }] });
  t.same(Object.keys(first.hosts.idle!.instances), []);
  t.equal(first.hosts.idle!.zone, 'z');
  const h = first.desired.placements.instances['demo/web']!;
  const rest = HOSTS.filter((x) => x.name !== h);
  const gone = await build(files(), { revision: 'c2', previous: first.desired, hosts: rest, lastSeen: { [h]: HB } });
  t.equal(gone.desired.placements.instances['demo/web'], h);
  t.equal(gone.desired.hosts[h]!.listed, false);
  t.ok(gone.hosts[h]!.instances['demo/web']);
});

t.test('identities are pinned: changing their derivation would change every deployed UUID and MAC', async (t) => {
  const { resourceUuid, derivedMac, derivedBridge } = await import('./identity.js');
  const { createHash } = await import('node:crypto');
  const h = createHash('sha1').update('ringstack.dev/uuid\0instance\0demo/web').digest('hex');
  const expected = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
  t.equal(resourceUuid('instance', 'demo/web'), expected);
  t.equal(resourceUuid('instance', 'demo/web'), resourceUuid('instance', 'demo/web'));
  t.not(resourceUuid('instance', 'demo/web'), resourceUuid('volume', 'demo/web'));
  const m = createHash('sha1').update('mac\0demo/web\0' + '0\0' + '0').digest('hex');
  t.equal(derivedMac('demo/web', 0), `52:54:00:${m.slice(0, 2)}:${m.slice(2, 4)}:${m.slice(4, 6)}`);
  t.match(derivedBridge('demo/net'), /^rs[0-9a-f]{8}$/);
});

t.test('anti-affinity policy reaches the scheduler: Strict refuses a third member on two hosts, Soft doubles up', async (t) => {
  const group = (policy: string) => Object.fromEntries(['g1', 'g2', 'g3'].map((n) =>
    [`${n}.yaml`, instance(n, `  flavor: small\n  placement: {antiAffinityGroup: g${policy ? `, antiAffinityPolicy: ${policy}` : ''}}\n`)]));
  const strict = await build({ ...BASE, ...group('') });
  t.same(Object.keys(strict.desired.unschedulable), ['demo/g3'], 'Strict is the default');
  t.match(strict.desired.unschedulable['demo/g3']!, { message: 'every host with room already runs an instance of anti-affinity group g' });
  const soft = await build({ ...BASE, ...group('Soft') });
  t.same(soft.desired.unschedulable, {});
  t.equal(Object.keys(soft.desired.placements.instances).length, 3);
  t.same(new Set(Object.values(soft.desired.placements.instances)), new Set(['h1', 'h2']), 'both hosts used before one holds two');
});
