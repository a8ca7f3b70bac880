/**
 * Compile with a CompileCache (and validation with a ParseCache, as the controller runs them):
 * every result is byte-identical to a compile without caches, and only what changed is rebuilt.
 */
import t, { type Test } from 'tap';
import { canonicalJson } from '../../agents/contract/canonical-json.js';
import type { DesiredState } from '../../agents/contract/desired.js';
import { ParseCache } from '../manifests/parse-cache.js';
import { MemorySource } from '../manifests/source.js';
import { BASE, instance } from '../manifests/test-fixtures.js';
import { validate } from '../manifests/validate.js';
import { ValidationMemo } from '../manifests/validation-memo.js';
import { CompileCache } from './compile-cache.js';
import { compile, serializeCompiled } from './compile.js';
import { diffStates } from './diff.js';
import type { SchedulerHost } from './scheduler.js';

const NOW = '2026-01-01T12:00:00.000Z';
const HB = '2026-01-01T11:59:58.000Z';
const HOSTS: SchedulerHost[] = ['h1', 'h2', 'h3'].map((name) => ({ name, zone: 'a', vcpus: 8, memoryMiB: 16384, diskGiB: 200, lastHeartbeat: HB }));
const VOLUME = 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: data, project: demo}\nspec: {sizeGiB: 5, retainOnDelete: true}\n';

function repo(extra: Record<string, string> = {}): Record<string, string> {
  const f: Record<string, string> = { ...BASE, 'data.yaml': VOLUME };
  f['projects/demo.yaml'] = f['projects/demo.yaml']!.replace('instances: 5', 'instances: 20').replace('vcpus: 8', 'vcpus: 40');
  for (let i = 0; i < 6; i++) f[`i${i}.yaml`] = instance(`vm${i}`, `  flavor: small\n  networks: [{network: net}]\n${i === 0 ? '  volumes: [data]\n' : ''}`);
  return { ...f, ...extra };
}

/** The ValidationMemo that goes with a ParseCache, as in the controller. */
const memos = new WeakMap<ParseCache, ValidationMemo>();
function caches(): { parse: ParseCache; cache: CompileCache } {
  const parse = new ParseCache();
  memos.set(parse, new ValidationMemo());
  return { parse, cache: new CompileCache() };
}

/** Compiles `files` twice: with the caches and without; checks the bytes are the same. */
async function both(t: Test, files: Record<string, string>, parse: ParseCache, cache: CompileCache, revision: string, previous?: DesiredState,
  hosts: SchedulerHost[] = HOSTS, memo = memos.get(parse)) {
  const opts = { revision, hosts, now: NOW, ...(previous ? { previous } : {}) };
  const cached = await validate(new MemorySource(files), { cache: parse, ...(memo ? { memo } : {}) });
  const plain = await validate(new MemorySource(files));
  t.ok(cached.ok && plain.ok);
  const a = compile({ catalog: cached.catalog, usage: cached.usage, cache, ...opts });
  const b = compile({ catalog: plain.catalog, usage: plain.usage, ...opts });
  const sa = serializeCompiled(a);
  t.equal(sa.desired, canonicalJson(b.desired), `${revision}: whole state byte-identical with and without the cache`);
  for (const [name, h] of Object.entries(b.hosts)) t.equal(sa.hosts[name], canonicalJson(h), `${revision}: host ${name}`);
  return a;
}

t.test('reuses unchanged resources and hosts; rebuilds exactly what changed', async (t) => {
  const { parse, cache } = caches();
  const first = await both(t, repo(), parse, cache, 'c1');
  t.equal(cache.reused, 0);
  const built = cache.built;
  t.ok(built > 12, `everything built once (${built})`);

  const same = await both(t, repo(), parse, cache, 'c2', first.desired);
  t.same([cache.reused, cache.built], [built, 0], 'nothing rebuilt for an unchanged commit');
  t.equal(cache.patched, true, 'an unchanged commit patches the last compile');
  t.equal(same.desired.instances['demo/vm1'], first.desired.instances['demo/vm1'], 'the very same object');

  const edited = repo({ 'i3.yaml': instance('vm3', '  flavor: small\n  networks: [{network: net}]\n  powerState: Stopped\n') });
  const third = await both(t, edited, parse, cache, 'c3', same.desired);
  const host3 = third.desired.placements.instances['demo/vm3']!;
  t.equal(third.desired.instances['demo/vm3']!.revision, 'c3');
  t.equal(third.desired.hosts[host3]!.revision, 'c3');
  t.equal(cache.built, 3, 'the edited instance, its boot volume (same manifest object changed) and its host');
  t.equal(cache.patched, true, 'a power state change patches the last compile');

  const bigFlavor = { ...edited, 'images/debian.yaml': edited['images/debian.yaml']!.replace('spec: {vcpus: 1, memoryMiB: 1024', 'spec: {vcpus: 2, memoryMiB: 1024') };
  const fourth = await both(t, bigFlavor, parse, cache, 'c4', third.desired);
  t.equal(fourth.desired.instances['demo/vm1']!.vcpus, 2, 'a changed flavor reaches every instance using it');
  t.equal(fourth.desired.instances['demo/vm1']!.revision, 'c4');
  t.equal(cache.patched, false, 'a flavor change compiles in full');

  // A previous state that does not hold the cached objects (another controller published): no reuse of stale revisions.
  const foreign = JSON.parse(canonicalJson(first.desired)) as DesiredState;
  const fifth = await both(t, bigFlavor, parse, cache, 'c5', foreign);
  t.equal(fifth.desired.instances['demo/vm1']!.revision, 'c5', 'content differs from that previous state: new revision');
  t.equal(cache.patched, false, 'a previous state that is not the last result: full compile');
  const sixth = await both(t, bigFlavor, parse, cache, 'c6');
  t.equal(sixth.desired.instances['demo/vm1']!.revision, 'c6', 'no previous state: every revision is this commit');
});

t.test('instances added, removed, moved and rescheduled; a network and a host changing', async (t) => {
  const { parse, cache } = caches();
  let files = repo();
  let state = (await both(t, files, parse, cache, 'c1')).desired;
  const step = async (revision: string, next: Record<string, string>, hosts = HOSTS) => {
    files = next;
    state = (await both(t, files, parse, cache, revision, state, hosts)).desired;
    t.equal(cache.patched, false, `${revision}: compiled in full`);
    return state;
  };

  const added = await step('c2', { ...files, 'i6.yaml': instance('vm6', '  flavor: small\n  networks: [{network: net}]\n') });
  t.equal(added.instances['demo/vm6']!.revision, 'c2', 'a new instance');
  const host6 = added.placements.instances['demo/vm6']!;
  t.equal(cache.built, 3, 'the new instance, its boot volume and its host');
  t.equal(added.hosts[host6]!.revision, 'c2');

  const { 'i2.yaml': _gone, ...withoutVm2 } = files;
  const host2 = state.placements.instances['demo/vm2']!;
  const removed = await step('c3', withoutVm2);
  t.equal(removed.instances['demo/vm2'], undefined, 'a removed instance');
  t.equal(removed.hosts[host2]!.revision, 'c3', 'its host changed');
  t.equal(cache.built, 1, 'only its host is rebuilt');

  const from = state.placements.instances['demo/vm3']!;
  const to = HOSTS.map((h) => h.name).find((h) => h !== from)!;
  const pinned = await step('c4', { ...files, 'i3.yaml': instance('vm3', `  flavor: small\n  networks: [{network: net}]\n  placement: {host: ${to}}\n`) });
  t.equal(pinned.placements.instances['demo/vm3'], to, 'a pinned instance moves');
  t.equal(pinned.hosts[from]!.revision, 'c4', 'the host it left changed');
  t.equal(pinned.hosts[to]!.revision, 'c4', 'the host it joined changed');

  const vm1Revision = state.instances['demo/vm1']!.revision;
  const renumbered = await step('c5', { ...files, 'networks/net.yaml': files['networks/net.yaml']!.replace('end: 10.0.0.200', 'end: 10.0.0.201') });
  t.equal(renumbered.networks['demo/net']!.revision, 'c5', 'a changed network');
  t.equal(renumbered.instances['demo/vm1']!.revision, vm1Revision, 'instances on it keep their content and revision');
  for (const h of Object.keys(renumbered.placements.instances).map((id) => renumbered.placements.instances[id]!)) {
    t.equal(renumbered.hosts[h]!.revision, 'c5', `host ${h} with the network changed`);
  }

  // A host gone past the grace period: its instances go elsewhere, the others stay.
  const lost = state.placements.instances['demo/vm1']!;
  const stay = Object.entries(state.placements.instances).filter(([, h]) => h !== lost);
  const fewer = HOSTS.filter((h) => h.name !== lost);
  const rescheduled = await step('c6', files, fewer);
  t.not(rescheduled.placements.instances['demo/vm1'], lost, 'an instance of the gone host is placed elsewhere');
  for (const [id, h] of stay) t.equal(rescheduled.placements.instances[id], h, `${id} stays on ${h}`);

  const back = await step('c7', files, HOSTS);
  for (const [id, h] of Object.entries(rescheduled.placements.instances)) t.equal(back.placements.instances[id], h, `the host coming back moves ${id} nowhere`);
  for (const id of Object.keys(rescheduled.unschedulable)) t.ok(back.placements.instances[id], `${id}, unschedulable without it, is placed again`);

  const resized = await step('c8', { ...files, 'images/debian.yaml': files['images/debian.yaml']!.replace('spec: {vcpus: 1, memoryMiB: 1024, diskGiB: 10}', 'spec: {vcpus: 1, memoryMiB: 1024, diskGiB: 12}') });
  t.equal(resized.volumes['demo/vm1/boot']!.sizeGiB, 12, 'a flavor change resizes every boot volume using it');
  t.equal(resized.volumes['demo/vm1/boot']!.revision, 'c8');
});

t.test('a patched compile (instances changed without moving) is byte-identical to a full one', async (t) => {
  const { parse, cache } = caches();
  const vm = (name: string, lines = '', meta = '') => instance(name, `  flavor: small\n  networks: [{network: net${lines}}]\n`, meta);
  let files = repo();
  let state = (await both(t, files, parse, cache, 'c1')).desired;
  const step = async (revision: string, next: Record<string, string>, patched: boolean, hosts = HOSTS) => {
    files = next;
    const before = state;
    state = (await both(t, files, parse, cache, revision, state, hosts)).desired;
    t.equal(cache.patched, patched, `${revision}: ${patched ? 'patched' : 'compiled in full'}`);
    const copy = JSON.parse(canonicalJson(state)) as DesiredState;
    t.same(diffStates(before, state), diffStates(before, copy), `${revision}: the plan of a patched state is the plan of its copy`);
    return state;
  };
  const labelled = await step('c2', { ...files, 'i1.yaml': vm('vm1', '', '  labels: {tier: web}\n') }, true);
  t.same(labelled.instances['demo/vm1']!.labels, { tier: 'web' });
  t.equal(labelled.instances['demo/vm1']!.revision, 'c2');
  t.equal(labelled.volumes['demo/vm1/boot']!.revision, 'c1', 'its boot volume, rebuilt with the same content, keeps its revision');
  const host1 = labelled.placements.instances['demo/vm1']!;
  t.equal(labelled.hosts[host1]!.revision, 'c2');
  for (const h of HOSTS.map((x) => x.name).filter((h) => h !== host1)) t.equal(labelled.hosts[h]!.revision, 'c1', `host ${h} untouched`);

  await step('c3', { ...files, 'i2.yaml': vm('vm2', ', ip: 10.0.0.50'), 'i3.yaml': vm('vm3').replace('  flavor: small\n', '  flavor: small\n  userData: "#cloud-config"\n  sshAuthorizedKeys: ["ssh-ed25519 AAAA x"]\n') }, true);
  t.equal(state.instances['demo/vm2']!.nics[0]!.ip, '10.0.0.50', 'a fixed IP reaches the NIC');
  await step('c4', { ...files, 'i1.yaml': vm('vm1') }, true);
  t.equal(state.instances['demo/vm1']!.revision, 'c4', 'a revision is relative to the previous state (c2 and c3 held the label)');
  await step('c5', { ...files, 'i4.yaml': vm('vm4', ', mac: 52:54:00:12:34:56') }, false);
  await step('c6', { ...files, 'i4.yaml': instance('vm4', '  vcpus: 2\n  memoryMiB: 1024\n  diskGiB: 10\n  networks: [{network: net}]\n') }, false);
  await step('c7', files, true);
  await step('c8', files, false, HOSTS.slice(0, 2));
});
