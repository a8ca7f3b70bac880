/** Plan classifications, apply order and the summary line. */
import t from 'tap';
import { MemorySource } from '../manifests/source.js';
import { BASE, instance } from '../manifests/test-fixtures.js';
import { validate } from '../manifests/validate.js';
import { compile } from './compile.js';
import { diffStates, formatPlan } from './diff.js';
import type { DesiredState } from '../../agents/contract/desired.js';

const NOW = '2026-01-01T12:00:00.000Z';
const HOSTS = ['h1', 'h2'].map((name) => ({ name, zone: 'a', vcpus: 16, memoryMiB: 32768, diskGiB: 500, lastHeartbeat: NOW }));
const VOL = (size: number) => `apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: data, project: demo}\nspec: {sizeGiB: ${size}}\n`;
const IMG2 = BASE['images/debian.yaml']!.split('---')[0]!.replace('name: debian', 'name: alpine').replace('minDiskGiB: 5', 'minDiskGiB: 1');

async function state(files: Record<string, string>, revision: string, previous?: DesiredState): Promise<DesiredState> {
  const v = await validate(new MemorySource({ ...BASE, 'alpine.yaml': IMG2, ...files }));
  if (!v.ok) throw new Error(v.errors.map((e) => `${e.file}:${e.line} ${e.message}`).join('\n'));
  return compile({ catalog: v.catalog, revision, hosts: HOSTS, now: NOW, ...(previous ? { previous } : {}) }).desired;
}

t.test('first plan creates everything in apply order', async (t) => {
  const after = await state({ 'a.yaml': instance('a') }, 'c1');
  const plan = diffStates(undefined, after);
  t.same(plan.summary, { create: 5, update: 0, replace: 0, delete: 0 });
  t.same(plan.steps.map((s) => `${s.action} ${s.kind} ${s.id}`), [
    'create networks demo/net', 'create images alpine', 'create images debian', 'create volumes demo/a/boot', 'create instances demo/a',
  ]);
  t.match(formatPlan(plan), /^  \+ network demo\/net\n/);
  t.match(formatPlan(plan), /Plan: 5 to create, 0 to update, 0 to replace, 0 to delete\.\n$/);
});

t.test('classification: in place, reboot, replace, delete', async (t) => {
  const before = await state({
    'a.yaml': instance('a', '  flavor: small\n  volumes: [data]\n'),
    'b.yaml': instance('b'), 'c.yaml': instance('c'), 'd.yaml': instance('d'), 'v.yaml': VOL(10),
  }, 'c1');
  const after = await state({
    'a.yaml': instance('a', '  flavor: small\n  volumes: [data]\n  powerState: Stopped\n', '  labels: {tier: web}\n'),
    'b.yaml': instance('b', '  vcpus: 2\n  memoryMiB: 2048\n  diskGiB: 10\n'),
    'c.yaml': instance('c').replace('image: debian', 'image: alpine'),
    'v.yaml': VOL(20),
    'e.yaml': instance('e'),
  }, 'c2', before);
  const plan = diffStates(before, after);
  const by = Object.fromEntries(plan.changes.map((c) => [`${c.kind} ${c.id}`, c]));
  t.equal(by['instances demo/a']!.action, 'update');
  t.same(by['instances demo/a']!.fields.map((f) => f.field), ['labels', 'powerState']);
  t.equal(by['instances demo/b']!.action, 'reboot');
  t.equal(by['instances demo/b']!.reason, 'memoryMiB, vcpus changed');
  t.equal(by['instances demo/c']!.action, 'replace');
  t.equal(by['instances demo/c']!.reason, 'image changed');
  t.equal(by['volumes demo/c/boot']!.action, 'replace', 'the boot disk of a new image is a new disk');
  t.equal(by['instances demo/d']!.action, 'delete');
  t.equal(by['volumes demo/d/boot']!.action, 'delete');
  t.equal(by['volumes demo/data']!.action, 'update', 'growing a volume is in place');
  t.equal(by['instances demo/e']!.action, 'create');
  t.same(plan.summary, { create: 2, update: 3, replace: 2, delete: 2 });
  const text = formatPlan(plan);
  t.match(text, '  ~ instance demo/b (update with reboot: memoryMiB, vcpus changed)\n        flavor: "small" -> (none)\n        memoryMiB: 1024 -> 2048\n        vcpus: 1 -> 2\n');
  t.match(text, '-/+ instance demo/c (replace: image changed)\n        image: "debian" -> "alpine"\n');
  t.match(text, '  - instance demo/d from ');
  t.match(text, /Plan: 2 to create, 3 to update, 2 to replace, 2 to delete\.\n$/);
  // Deletes (and the delete half of replaces) run first, instances before volumes; then creates in apply order.
  const steps = plan.steps.map((s) => `${s.action} ${s.kind} ${s.id}`);
  t.same(steps.slice(0, 4), ['delete instances demo/c', 'delete instances demo/d', 'delete volumes demo/c/boot', 'delete volumes demo/d/boot']);
  t.same(steps.slice(4), ['create volumes demo/c/boot', 'update volumes demo/data', 'create volumes demo/e/boot',
    'update instances demo/a', 'update instances demo/b', 'create instances demo/c', 'create instances demo/e']);
});

t.test('shrinking a volume replaces it; network readdressing replaces it; no change is no change', async (t) => {
  const before = await state({ 'v.yaml': VOL(10) }, 'c1');
  const shrink = diffStates(before, await state({ 'v.yaml': VOL(5) }, 'c2', before));
  t.same(shrink.changes.map((c) => [c.id, c.action, c.reason]), [['demo/data', 'replace', 'a volume cannot shrink']]);
  const net = BASE['networks/net.yaml']!.replace('10.0.0.0/24', '10.9.0.0/24').replace('{start: 10.0.0.100, end: 10.0.0.200}', '{start: 10.9.0.100, end: 10.9.0.200}');
  const renet = diffStates(before, await state({ 'v.yaml': VOL(10), 'networks/net.yaml': net }, 'c2', before));
  t.same(renet.changes.map((c) => [c.id, c.action]), [['demo/net', 'replace']]);
  const same = diffStates(before, await state({ 'v.yaml': VOL(10) }, 'c2', before));
  t.same(same.changes, []);
  t.equal(formatPlan(same), 'No changes.\nPlan: 0 to create, 0 to update, 0 to replace, 0 to delete.\n');
});

t.test('a move to another host is a replace', async (t) => {
  const before = await state({ 'a.yaml': instance('a', '  flavor: small\n  placement: {host: h1}\n') }, 'c1');
  const after = await state({ 'a.yaml': instance('a', '  flavor: small\n  placement: {host: h2}\n') }, 'c2', before);
  const plan = diffStates(before, after);
  const c = plan.changes.find((x) => x.id === 'demo/a')!;
  t.equal(c.action, 'replace');
  t.equal(c.reason, 'moves from host h1 to h2');
});

t.test('resources named like Object.prototype members are plain resources', async (t) => {
  const ctorNet = 'apiVersion: ringstack.dev/v1\nkind: Network\nmetadata: {name: constructor}\nspec: {cidr: 10.5.0.0/24}\n';
  const before = JSON.parse(JSON.stringify(await state({}, 'c1'))) as DesiredState;
  const after = await state({ 'n.yaml': ctorNet, 'a.yaml': instance('a', '  flavor: small\n  networks: [{network: constructor}]\n') }, 'c2', before);
  const plan = diffStates(before, after);
  t.same(plan.changes.filter((c) => c.id === 'constructor').map((c) => c.action), ['create']);
  t.equal(after.networks['constructor']!.revision, 'c2');
  const again = await state({ 'n.yaml': ctorNet, 'a.yaml': instance('a', '  flavor: small\n  networks: [{network: constructor}]\n') }, 'c3',
    JSON.parse(JSON.stringify(after)) as DesiredState);
  t.equal(again.networks['constructor']!.revision, 'c2', 'unchanged: revision kept');
});
