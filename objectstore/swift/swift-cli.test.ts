/**
 * Drives the Swift front end (on the in-memory backend) with the real python-swiftclient CLI,
 * /usr/bin/swift: stat, post, upload (plain, DLO with --segment-size, SLO with --use-slo),
 * download compared byte for byte, list with --prefix/--delimiter, copy, delete.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestSwiftServer } from './test-server.js';

const SWIFT = '/usr/bin/swift';

if (!existsSync(SWIFT)) {
  t.plan(0, 'python3-swiftclient is not installed (apt-get install python3-swiftclient)');
} else {
  const server = await startTestSwiftServer();
  const dir = await mkdtemp(join(tmpdir(), 'swift-cli-'));
  t.teardown(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const swiftAs = (user: string, key: string) => (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    new Promise((resolve) => {
      execFile(SWIFT, ['-A', `${server.url}/auth/v1.0`, '-U', user, '-K', key, ...args],
        { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' }, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }));
    });
  const swift = swiftAs('test:tester', 'testing');
  /** `Key: value` lines of `swift stat` output. */
  const fields = (out: string): Record<string, string> => Object.fromEntries(out.split('\n')
    .map((l) => /^\s*([^:]+):\s?(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1]!.trim(), m[2]!.trim()]));

  t.test('stat, post and metadata round trips', async (t) => {
    let r = await swift('stat');
    t.equal(r.code, 0, r.err);
    t.equal(fields(r.out).Account, 'AUTH_test');
    t.equal(fields(r.out).Containers, '0');
    r = await swift('post', '-m', 'color:red', '-m', 'Size:big', 'photos');
    t.equal(r.code, 0, r.err);
    r = await swift('stat', 'photos');
    t.equal(fields(r.out)['Meta Color'], 'red');
    t.equal(fields(r.out)['Meta Size'], 'big');
    r = await swift('post', '-m', 'owner:ops');
    t.equal(r.code, 0, r.err);
    t.equal(fields((await swift('stat')).out)['Meta Owner'], 'ops');
  });

  t.test('upload, download, object metadata, list, copy, delete', async (t) => {
    await writeFile(join(dir, 'hello.txt'), 'hello swift\n');
    await writeFile(join(dir, 'b.bin'), randomBytes(5000));
    let r = await swift('upload', '-m', 'kind:greeting', 'docs', 'hello.txt');
    t.equal(r.code, 0, r.err);
    r = await swift('upload', 'docs', 'b.bin', '--object-name', 'dir/sub/b.bin');
    t.equal(r.code, 0, r.err);
    await swift('upload', 'docs', 'hello.txt', '--object-name', 'dir/top.txt');

    r = await swift('stat', 'docs', 'hello.txt');
    const f = fields(r.out);
    t.equal(f['Content Length'], '12');
    t.equal(f['Content Type'], 'text/plain');
    t.equal(f['Meta Kind'], 'greeting');
    t.equal(f.ETag, createHash('md5').update('hello swift\n').digest('hex'));

    r = await swift('post', '-m', 'kind:changed', 'docs', 'hello.txt');
    t.equal(r.code, 0, r.err);
    t.equal(fields((await swift('stat', 'docs', 'hello.txt')).out)['Meta Kind'], 'changed');

    r = await swift('list', 'docs');
    t.equal(r.out, 'dir/sub/b.bin\ndir/top.txt\nhello.txt\n');
    t.equal((await swift('list', 'docs', '--prefix', 'dir/')).out, 'dir/sub/b.bin\ndir/top.txt\n');
    t.equal((await swift('list', 'docs', '--delimiter', '/')).out, 'dir/\nhello.txt\n');
    t.equal((await swift('list', 'docs', '--prefix', 'dir/', '--delimiter', '/')).out, 'dir/sub/\ndir/top.txt\n');

    r = await swift('download', 'docs', 'dir/sub/b.bin', '-o', 'b.out');
    t.equal(r.code, 0, r.err);
    t.ok((await readFile(join(dir, 'b.out'))).equals(await readFile(join(dir, 'b.bin'))), 'downloaded bytes equal');

    r = await swift('copy', 'docs', 'hello.txt', '--destination', '/backup/hello-copy.txt');
    t.equal(r.code, 0, r.err);
    r = await swift('download', 'backup', 'hello-copy.txt', '-o', '-');
    t.equal(r.out, 'hello swift\n');
    t.equal(fields((await swift('stat', 'backup', 'hello-copy.txt')).out)['Meta Kind'], 'changed', 'copy keeps metadata');

    const acct = fields((await swift('stat')).out);
    t.equal(acct.Containers, '3');
    t.equal(acct.Objects, '4');
    t.equal(acct.Bytes, String(12 + 5000 + 12 + 12));
    const cont = fields((await swift('stat', 'docs')).out);
    t.equal(cont.Objects, '3');
    t.equal(cont.Bytes, String(12 + 5000 + 12));

    r = await swift('delete', 'docs', 'hello.txt');
    t.equal(r.code, 0, r.err);
    t.equal((await swift('list', 'docs')).out, 'dir/sub/b.bin\ndir/top.txt\n');
    r = await swift('stat', 'docs', 'hello.txt');
    t.not(r.code, 0, 'stat of a deleted object fails');
    r = await swift('delete', 'backup');
    t.equal(r.code, 0, r.err);
    t.notMatch((await swift('list')).out, /backup/);
  });

  const SIZE = 3 * 1024 * 1024 + 12345;
  const SEGMENT = 1024 * 1024;

  t.test('large objects: DLO with --segment-size, SLO with --use-slo', async (t) => {
    const big = randomBytes(SIZE);
    await writeFile(join(dir, 'image.img'), big);

    let r = await swift('upload', '--segment-size', String(SEGMENT), 'images', 'image.img');
    t.equal(r.code, 0, r.err);
    let s = fields((await swift('stat', 'images', 'image.img')).out);
    t.equal(s['Content Length'], String(SIZE));
    t.match(s.Manifest, /^images_segments\/image\.img\//, 'a DLO');
    t.equal((await swift('list', 'images_segments')).out.split('\n').filter(Boolean).length, 4);
    r = await swift('download', 'images', 'image.img', '-o', 'dlo.out');
    t.equal(r.code, 0, r.err);
    t.ok((await readFile(join(dir, 'dlo.out'))).equals(big), 'DLO download equals the file');

    r = await swift('upload', '--use-slo', '--segment-size', String(SEGMENT), 'slo', 'image.img');
    t.equal(r.code, 0, r.err);
    s = fields((await swift('stat', 'slo', 'image.img')).out);
    t.equal(s['Content Length'], String(SIZE));
    t.equal(s['X-Static-Large-Object'], 'True');
    r = await swift('download', 'slo', 'image.img', '-o', 'slo.out');
    t.equal(r.code, 0, r.err);
    t.ok((await readFile(join(dir, 'slo.out'))).equals(big), 'SLO download equals the file');
    t.match((await swift('list', '--lh', 'slo')).out, /3\.0M .* image\.img/, 'listing shows the whole size');

    // Re-upload the SLO as a plain object: swiftclient cleans up the old segments.
    r = await swift('delete', 'slo', 'image.img');
    t.equal(r.code, 0, r.err);
    t.equal((await swift('list', 'slo_segments')).out, '', 'deleting an SLO deletes its segments');
    r = await swift('delete', 'images', 'image.img');
    t.equal(r.code, 0, r.err);
    t.equal((await swift('list', 'images_segments')).out, '', 'deleting a DLO deletes its segments');
  });

  t.test('deleting a container of many objects (bulk delete)', async (t) => {
    await mkdir(join(dir, 'many'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(dir, 'many', `f${i}.txt`), `file ${i}\n`);
    let r = await swift('upload', 'bulk', 'many');
    t.equal(r.code, 0, r.err);
    t.equal(fields((await swift('stat', 'bulk')).out).Objects, '40');
    r = await swift('delete', 'bulk');
    t.equal(r.code, 0, r.err);
    t.notMatch((await swift('list')).out, /^bulk$/m, 'container and objects gone');
  });

  t.test('a plain access key logs in as its own account; bad keys fail', async (t) => {
    const plain = swiftAs('PLAINKEY', 'plainsecret');
    const r = await plain('stat');
    t.equal(r.code, 0, r.err);
    t.equal(fields(r.out).Account, 'AUTH_PLAINKEY');
    const bad = await swiftAs('test:tester', 'wrong')('stat');
    t.not(bad.code, 0);
    t.match(bad.err, /Unauthorized|401/);
  });
}
