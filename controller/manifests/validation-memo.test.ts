/**
 * Validation with a ValidationMemo (as the controller runs it, with a ParseCache): commit after
 * commit, every result — errors with their lines and order, the catalog, the usage — is what a
 * full validation without memo or cache gives; the memo proves only small instance changes and
 * leaves everything else, and every error, to the full check.
 */
import t, { type Test } from 'tap';
import { formatError } from './errors.js';
import { ParseCache } from './parse-cache.js';
import { MemorySource } from './source.js';
import { BASE, instance } from './test-fixtures.js';
import { manifestId, type Catalog } from './types.js';
import { validate } from './validate.js';
import { ValidationMemo } from './validation-memo.js';

const VOLUMES = 'apiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: data, project: demo}\nspec: {sizeGiB: 5, retainOnDelete: true}\n'
  + '---\napiVersion: ringstack.dev/v1\nkind: Volume\nmetadata: {name: logs, project: demo}\nspec: {sizeGiB: 2, retainOnDelete: false}\n';

function vm(name: string, lines = ''): string {
  return instance(name, `  flavor: small\n  networks: [{network: net${lines}}]\n`);
}

function base(): Record<string, string> {
  const f: Record<string, string> = { ...BASE, 'volumes.yaml': VOLUMES };
  f['projects/demo.yaml'] = f['projects/demo.yaml']!.replace('instances: 5', 'instances: 20').replace('vcpus: 8', 'vcpus: 12');
  f['vm0.yaml'] = instance('vm0', '  flavor: small\n  networks: [{network: net, ip: 10.0.0.10}]\n  volumes: [data]\n');
  f['vm1.yaml'] = vm('vm1', ', ip: 10.0.0.11');
  for (let i = 2; i < 6; i++) f[`vm${i}.yaml`] = vm(`vm${i}`);
  return f;
}

/** What a catalog resolved, by id: comparable across validations (manifests are different objects). */
function resolved(c: Catalog) {
  return {
    instances: c.instances.map((i) => ({
      id: manifestId(i.manifest), spec: i.manifest.spec, labels: i.manifest.labels, file: i.manifest.src.file, image: manifestId(i.image),
      flavor: i.flavor && manifestId(i.flavor), size: [i.vcpus, i.memoryMiB, i.diskGiB],
      networks: i.networks.map(manifestId), volumes: i.volumes.map(manifestId),
    })),
    volumes: c.volumes.map((v) => [manifestId(v.manifest), v.sourceImage && manifestId(v.sourceImage)]),
    others: [c.networks, c.images, c.flavors, c.projects].map((l) => l.map(manifestId)),
  };
}

function harness(t: Test) {
  const memo = new ValidationMemo();
  const cache = new ParseCache();
  /** Validates `files` both ways; returns whether the memo proved it, and its error lines. */
  return async (files: Record<string, string>, what: string): Promise<{ patched: boolean; lines: string[] }> => {
    const withMemo = await validate(new MemorySource(files), { cache, memo });
    const plain = await validate(new MemorySource(files));
    const lines = withMemo.errors.map(formatError);
    t.same(lines, plain.errors.map(formatError), `${what}: the same errors, in the same order`);
    t.equal(withMemo.ok, plain.ok, `${what}: same verdict`);
    if (plain.ok) {
      t.same(resolved(withMemo.catalog), resolved(plain.catalog), `${what}: the same catalog`);
      t.same([...withMemo.usage], [...plain.usage], `${what}: the same usage`);
      t.same(withMemo.counts, plain.counts, `${what}: the same counts`);
    }
    return { patched: memo.patched, lines };
  };
}

t.test('small instance changes are proved by the memo; the result is the full check\'s', async (t) => {
  const run = harness(t);
  let files = base();
  t.equal((await run(files, 'first commit')).patched, false, 'nothing to patch yet');

  files = { ...files, 'vm2.yaml': vm('vm2').replace('  project: demo\n', '  project: demo\n  labels: {tier: web}\n') };
  t.equal((await run(files, 'a label')).patched, true, 'a label change is patched');

  files = { ...files, 'vm1.yaml': vm('vm1', ', ip: 10.0.0.12') };
  t.equal((await run(files, 'a free fixed IP')).patched, true);

  files = { ...files, 'vm0.yaml': files['vm0.yaml']!.replace('10.0.0.10', '10.0.0.12'), 'vm1.yaml': vm('vm1', ', ip: 10.0.0.10') };
  t.equal((await run(files, 'two instances swap IPs')).patched, true, 'released before resolved: no false conflict');

  files = { ...files, 'vm3.yaml': instance('vm3', '  flavor: small\n  networks: [{network: net}]\n  volumes: [logs]\n') };
  t.equal((await run(files, 'a free volume attached')).patched, true);

  files = { ...files, 'vm3.yaml': vm('vm3'), 'vm4.yaml': instance('vm4', '  flavor: small\n  networks: [{network: net}]\n  volumes: [logs]\n') };
  t.equal((await run(files, 'a volume moves between instances')).patched, true);

  files = { ...files, 'vm5.yaml': vm('vm5').replace('  flavor: small\n', '  flavor: small\n  powerState: Stopped\n  userData: "#cloud-config"\n') };
  t.equal((await run(files, 'power state and user data')).patched, true);
});

t.test('errors and other changes go to the full check, which records a fresh memo', async (t) => {
  const run = harness(t);
  let files = base();
  await run(files, 'first commit');

  let r = await run({ ...files, 'vm2.yaml': vm('vm2', ', ip: 10.0.0.11') }, 'an IP already used');
  t.equal(r.patched, false);
  t.match(r.lines.join('\n'), /10\.0\.0\.11 on Network "net" is already used at vm1\.yaml/);

  // The memo was dropped with the failure; the next commit is checked in full, then patched again.
  t.equal((await run(files, 'back to valid')).patched, false);
  t.equal((await run({ ...files, 'vm2.yaml': vm('vm2', ', mac: 52:54:00:00:00:01') }, 'an explicit MAC')).patched, true);
  r = await run({ ...files, 'vm2.yaml': vm('vm2', ', mac: 52:54:00:00:00:01'), 'vm3.yaml': vm('vm3', ', mac: 52:54:00:00:00:01') }, 'a MAC used twice');
  t.match(r.lines.join('\n'), /MAC 52:54:00:00:00:01 is already used at vm2\.yaml/);

  await run(files, 'valid again');
  r = await run({ ...files, 'vm3.yaml': instance('vm3', '  flavor: small\n  networks: [{network: net}]\n  volumes: [data]\n') }, 'a volume attached twice');
  t.match(r.lines.join('\n'), /Volume "data" is already attached to Instance "vm0"/);

  await run(files, 'valid again');
  r = await run({ ...files, 'vm3.yaml': instance('vm3', '  vcpus: 9\n  memoryMiB: 1024\n  diskGiB: 10\n  networks: [{network: net}]\n') }, 'over the vcpu quota');
  t.match(r.lines.join('\n'), /needs 14 vcpus, over its quota of 12/);

  await run(files, 'valid again');
  r = await run({ ...files, 'vm3.yaml': instance('vm3', '  flavor: huge\n  networks: [{network: net}]\n') }, 'a dangling flavor');
  t.match(r.lines.join('\n'), /no Flavor named "huge"/);

  await run(files, 'valid again');
  t.equal((await run({ ...files, 'vm6.yaml': vm('vm6') }, 'a file added')).patched, false, 'a new file: full check');
  t.equal((await run({ ...files, 'vm6.yaml': vm('vm6'), 'vm2.yaml': vm('vm2') + '---\n' + vm('vm7') }, 'a document added')).patched, false);
  t.equal((await run({ ...files, 'vm6.yaml': vm('vm6') }, 'a document removed')).patched, false);
  t.equal((await run({ ...files, 'vm6.yaml': vm('vm6x') }, 'an instance renamed')).patched, false);
  const net = files['networks/net.yaml']!;
  t.equal((await run({ ...files, 'vm6.yaml': vm('vm6x'), 'networks/net.yaml': net.replace('end: 10.0.0.200', 'end: 10.0.0.201') }, 'a network changed')).patched, false);
  r = await run({ ...files, 'vm6.yaml': vm('vm6x'), 'networks/net.yaml': net.replaceAll('10.0.0.', '10.1.0.') }, 'a network renumbered under fixed IPs');
  t.match(r.lines.join('\n'), /10\.0\.0\.10 is outside 10\.1\.0\.0\/24/);
  r = await run({ ...files, 'vm6.yaml': vm('vm6x'), 'vm2.yaml': 'kind: [' }, 'broken YAML');
  t.equal(r.patched, false);
  t.ok(r.lines.length > 0);
});
