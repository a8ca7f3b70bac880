/**
 * Backup and restore: a server on a "new machine" (empty reposDir) restores the repository
 * from the archive the first server saved after each accepted push, and serves the same refs.
 */

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GitSandbox, startGitServer } from './test-support.js';
import { MemoryObjects, bodyToBuffer } from './object-put-get.js';
import { ObjectStoreRepoBackup, backupKey } from './backup.js';
import { untar } from './tar.js';
import { Readable } from 'node:stream';

const TOKEN = 't0k3n';
const ok = async () => ({ ok: true, errors: [], summary: [] });

t.test('a new server restored from the backup serves the same refs', async (t) => {
  const sb = await GitSandbox.create();
  const objects = new MemoryObjects();
  const backup = new ObjectStoreRepoBackup(objects);
  const first = await startGitServer({ reposDir: path.join(sb.root, 'repos1'), tokens: [TOKEN], validate: ok, onAccepted: async () => {}, backup });
  t.teardown(async () => {
    await first.close();
    await sb.cleanup();
  });
  const work = await sb.workRepo('work');
  await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  await sb.gitOk(work, 'push', first.url('infra', TOKEN), 'main');
  await sb.commit(work, { 'b.yaml': 'b: 2\n' }, 'two');
  await sb.gitOk(work, 'push', first.url('infra', TOKEN), 'main');
  await sb.gitOk(work, 'tag', '-a', 'v1', '-m', 'v1');
  await sb.gitOk(work, 'push', first.url('infra', TOKEN), 'v1');
  const refs1 = await sb.gitOk(work, 'ls-remote', first.url('infra', TOKEN));
  t.ok(objects.objects.has(backupKey('infra')), 'archive stored');

  const archive = await bodyToBuffer((await objects.get(backupKey('infra')))!);
  const names: string[] = [];
  for await (const f of untar(Readable.from([archive]))) names.push(f.path);
  t.ok(names.includes('HEAD') && names.includes('packed-refs'), 'HEAD and refs in the archive');
  t.ok(names.some((n) => /^objects\/pack\/pack-[0-9a-f]{40}\.pack$/.test(n)), 'packs in the archive');

  const reposDir2 = path.join(sb.root, 'repos2');
  const second = await startGitServer({ reposDir: reposDir2, tokens: [TOKEN], validate: ok, onAccepted: async () => {}, backup });
  t.teardown(() => second.close());
  const refs2 = await sb.gitOk(work, 'ls-remote', second.url('infra', TOKEN));
  t.equal(refs2, refs1, 'same refs');
  t.ok(fs.existsSync(path.join(reposDir2, 'infra.git', 'HEAD')), 'restored on disk');
  const r = await sb.git('.', 'clone', '-q', second.url('infra', TOKEN), 'restored');
  t.equal(r.code, 0, r.stderr);
  const fsck = await sb.git(path.join(sb.root, 'restored'), 'fsck', '--strict');
  t.equal(fsck.code, 0, fsck.stderr);
  t.equal(fs.readFileSync(path.join(sb.root, 'restored', 'b.yaml'), 'utf8'), 'b: 2\n');

  // The restored server accepts further pushes on top of the restored history.
  await sb.commit(work, { 'c.yaml': 'c: 3\n' }, 'three');
  const push = await sb.git(work, 'push', second.url('infra', TOKEN), 'main');
  t.equal(push.code, 0, push.stderr);
});

t.test('restore of an unknown repository reports false', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const backup = new ObjectStoreRepoBackup(new MemoryObjects());
  t.equal(await backup.restore(path.join(sb.root, 'x.git'), 'x'), false);
  t.notOk(fs.existsSync(path.join(sb.root, 'x.git')));
});

t.test('a corrupt archive is refused and leaves nothing behind', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const objects = new MemoryObjects();
  objects.objects.set(backupKey('bad'), Buffer.alloc(1024, 7));
  const backup = new ObjectStoreRepoBackup(objects);
  await t.rejects(backup.restore(path.join(sb.root, 'bad.git'), 'bad'), /corrupt tar header/);
  t.same(fs.readdirSync(sb.root).filter((f) => f.includes('bad')), []);
});
