/** `ringstack validate` as a real process on fixture directories. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'controller', 'manifests', 'fixtures');

function ringstack(...args: string[]) {
  // The launcher itself (its shebang finds node), as users run it; it loads dist/.
  const r = spawnSync(join(ROOT, 'bin', 'ringstack'), ['validate', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a valid directory: exit 0 and counts per kind', async (t) => {
  const r = ringstack(join(FIXTURES, 'valid'));
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'valid: 9 manifests in 6 files (3 Instance, 1 Network, 1 Volume, 1 Image, 2 Flavor, 1 Project)\n');
});

t.test('an invalid directory: every error on its own line, sorted, exit 1', async (t) => {
  const r = ringstack(join(FIXTURES, 'invalid'));
  t.equal(r.code, 1);
  t.equal(r.stdout, [
    'broken.yaml:5:1 YAML: All mapping items must start at the same column',
    'catalog.yaml:8:11 spec.sha256: "not-a-checksum" must be 64 lowercase hex digits',
    'instances/web.yaml:8:11 spec.flavor: no Flavor named "huge" in project "shop" or shared',
    'instances/web.yaml:11:11 spec.networks[0].ip: 192.168.10.1 is the gateway of Network "lan"',
    'instances/web.yaml:23:11 spec.networks[0].ip: 192.168.11.4 is outside 192.168.10.0/24 of Network "lan"',
    'instances/web.yaml:24:13 spec.volumes[0]: no Volume named "cart-data" in project "shop"',
    'instances/web.yaml:34:3 spec.powerstate: unknown field; did you mean "powerState"?',
    '',
  ].join('\n'));
  t.equal(r.stderr, 'invalid: 7 errors in 3 files\n');
  const json = ringstack(join(FIXTURES, 'invalid'), '--json');
  t.equal(json.code, 1);
  const parsed = JSON.parse(json.stdout);
  t.equal(parsed.ok, false);
  t.same(parsed.errors[0], { file: 'broken.yaml', line: 5, column: 1, field: '', message: 'YAML: All mapping items must start at the same column' });
});

t.test('hostile files: oversized, binary, symlink out of the repo', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-validate-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(join(FIXTURES, 'valid'), dir, { recursive: true });
  await writeFile(join(dir, 'huge.yaml'), Buffer.alloc(3 * 1024 * 1024, 0x20));
  await writeFile(join(dir, 'image.yml'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00]));
  await mkdir(join(dir, 'links'));
  await symlink('/etc/passwd', join(dir, 'links', 'passwd.yaml'));
  await symlink('../../..', join(dir, 'links', 'up'));
  const r = ringstack(dir);
  t.equal(r.code, 1);
  t.equal(r.stdout, [
    'huge.yaml:1:1 file is 3145728 bytes, over the 1048576-byte limit for a manifest; split it',
    'image.yml:1:1 is a binary file (NUL byte at offset 4), not YAML',
    'links/passwd.yaml:1:1 symbolic link to "/etc/passwd" points outside the repository; it is not followed',
    'links/up:1:1 symbolic link to "../../.." points outside the repository; it is not followed',
    '',
  ].join('\n'));
  const bigger = ringstack(dir, '--max-file-bytes', String(4 * 1024 * 1024));
  t.notMatch(bigger.stdout, /huge\.yaml/, 'the limit is configurable');
});

t.test('usage and runtime errors', async (t) => {
  const missing = ringstack('/nonexistent/manifests');
  t.equal(missing.code, 1);
  t.equal(missing.stderr, 'ringstack validate: /nonexistent/manifests is not a directory\n');
  const usage = ringstack('a', 'b');
  t.equal(usage.code, 2);
  t.match(usage.stderr, /expected at most one directory, got 2/);
  const flag = ringstack('--max-file-bytes', 'lots');
  t.equal(flag.code, 2);
  const help = ringstack('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: ringstack validate \[dir\]/);
});

t.test('the examples/ repository is valid', async (t) => {
  const r = ringstack(join(ROOT, 'examples'));
  t.equal(r.code, 0, r.stdout);
  t.match(r.stdout, /^valid: \d+ manifests in \d+ files/);
});
