/** `ringstack plan` as a real process: a plan against nothing, against another directory, and --out. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VALID = join(ROOT, 'controller', 'manifests', 'fixtures', 'valid');

function ringstack(...args: string[]) {
  const r = spawnSync(join(ROOT, 'bin', 'ringstack'), ['plan', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('plan against nothing, against a changed copy, with hosts and --out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-plan-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const first = ringstack('--repo', VALID);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^  \+ network demo\/demo-net\n/);
  t.match(first.stdout, /  \+ instance demo\/web-1 on local\n/);
  t.match(first.stdout, /Plan: 9 to create, 0 to update, 0 to replace, 0 to delete\.\n$/);

  const next = join(dir, 'next');
  await cp(VALID, next, { recursive: true });
  const web = join(next, 'instances', 'web.yaml');
  await writeFile(web, (await readFile(web, 'utf8')).replace('flavor: small\n  networks:\n    - network: demo-net\n      ip', 'flavor: medium\n  networks:\n    - network: demo-net\n      ip'));
  await rm(join(next, 'instances', 'db.yml'));
  const hosts = join(dir, 'hosts.yaml');
  await writeFile(hosts, '- {name: h1, zone: a, vcpus: 8, memoryMiB: 16384, diskGiB: 500}\n- {name: h2, zone: a, vcpus: 8, memoryMiB: 16384, diskGiB: 500}\n');
  const out = join(dir, 'out');
  const r = ringstack('--repo', next, '--against', VALID, '--hosts', hosts, '--out', out, '--revision', 'abc123');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, '  - volume demo/db/boot from ');
  t.match(r.stdout, '  ~ volume demo/web-1/boot\n        sizeGiB: 10 -> 20\n');
  t.match(r.stdout, '  ~ instance demo/web-1 (update with reboot: diskGiB, memoryMiB, vcpus changed)\n        diskGiB: 10 -> 20\n        flavor: "small" -> "medium"\n');
  t.match(r.stdout, '  - instance demo/db from ');
  t.match(r.stdout, '  ~ volume demo/db-data\n        attachedTo: "demo/db" -> (none)\n');
  t.match(r.stdout, /Plan: 0 to create, 3 to update, 0 to replace, 2 to delete\.\n$/);
  const desired = JSON.parse(await readFile(join(out, 'desired.json'), 'utf8'));
  t.equal(desired.kind, 'DesiredState');
  t.equal(desired.instances['demo/web-1'].revision, 'abc123');
  const h = desired.placements.instances['demo/web-1'];
  const hostState = JSON.parse(await readFile(join(out, 'hosts', h, 'desired.json'), 'utf8'));
  t.equal(hostState.kind, 'HostDesiredState');
  t.ok(hostState.instances['demo/web-1']);

  const again = ringstack('--repo', next, '--state', join(out, 'desired.json'), '--hosts', hosts);
  t.equal(again.stdout, 'No changes.\nPlan: 0 to create, 0 to update, 0 to replace, 0 to delete.\n', 'a plan against its own state is empty');
});

t.test('invalid manifests and bad flags', async (t) => {
  const bad = ringstack('--repo', join(ROOT, 'controller', 'manifests', 'fixtures', 'invalid'));
  t.equal(bad.code, 1);
  t.match(bad.stdout, /^broken\.yaml:5:1 YAML: /);
  t.equal(ringstack().code, 2);
  t.equal(ringstack('--repo', VALID, '--against', VALID, '--state', 'x.json').code, 2);
  t.equal(ringstack('--repo', VALID, '--strategy', 'random').code, 2);
  const missing = ringstack('--repo', '/nonexistent');
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'ringstack plan: --repo /nonexistent is not a directory\n');
});
