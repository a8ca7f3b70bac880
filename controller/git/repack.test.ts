/** Many small pushes leave few packs; the repository stays complete for clone and fsck. */

import t from 'tap';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { GitSandbox, startGitServer } from './test-support.js';

const TOKEN = 'tok';

t.test('repack after many pushes', async (t) => {
  const sb = await GitSandbox.create();
  const reposDir = path.join(sb.root, 'repos');
  const srv = await startGitServer({
    reposDir,
    tokens: [TOKEN],
    repackThreshold: 3,
    validate: async () => ({ ok: true, errors: [], summary: [] }),
    onAccepted: async () => {},
  });
  t.teardown(async () => {
    await srv.close();
    await sb.cleanup();
  });
  const work = await sb.workRepo('work');
  const url = srv.url('infra', TOKEN);
  let last = '';
  for (let i = 0; i < 7; i++) {
    last = await sb.commit(work, { [`f${i}.yaml`]: `i: ${i}\n` }, `c${i}`);
    await sb.gitOk(work, 'push', '-q', url, 'main');
  }
  await sb.gitOk(work, 'tag', '-a', 'v1', '-m', 'v1');
  await sb.gitOk(work, 'push', '-q', url, 'v1');
  const packDir = path.join(reposDir, 'infra.git', 'objects', 'pack');
  const packs = (await fsp.readdir(packDir)).filter((f) => f.endsWith('.pack'));
  t.ok(packs.length < 3, `packs were combined (${packs.length} left)`);
  t.equal((await fsp.readdir(packDir)).filter((f) => f.endsWith('.idx')).length, packs.length, 'one index per pack');
  const r = await sb.git('.', 'clone', '-q', url, 'clone');
  t.equal(r.code, 0, r.stderr);
  const clone = path.join(sb.root, 'clone');
  t.equal((await sb.gitOk(clone, 'rev-parse', 'HEAD')).trim(), last);
  t.equal((await sb.gitOk(clone, 'rev-list', '--count', 'HEAD')).trim(), '7');
  const fsck = await sb.git(clone, 'fsck', '--strict');
  t.equal(fsck.code, 0, fsck.stderr);
  t.match(await sb.gitOk(clone, 'ls-remote', url), /refs\/tags\/v1\^\{\}/);
  const serverFsck = await sb.git(path.join(reposDir, 'infra.git'), 'fsck', '--strict', '--no-dangling');
  t.equal(serverFsck.code, 0, `the server repository itself is sound for git: ${serverFsck.stderr}`);
});
