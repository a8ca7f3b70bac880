/** The tree of a real commit (made by the git CLI) read as a ManifestSource. */

import t from 'tap';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { GitSandbox } from './test-support.js';
import { GitTreeSource } from './tree-source.js';
import { SymlinkNotFollowed, TreePathNotFound } from './errors.js';

t.test('lists files and symlinks, reads files, never follows links', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const work = await sb.workRepo('work');
  await fsp.mkdir(path.join(work, 'instances', 'prod'), { recursive: true });
  await fsp.writeFile(path.join(work, 'instances', 'prod', 'web.yaml'), 'kind: Instance\n');
  await fsp.writeFile(path.join(work, 'README.md'), '# infra\n');
  await fsp.symlink('/etc/passwd', path.join(work, 'evil.yaml'));
  await sb.gitOk(work, 'add', '-A');
  await sb.gitOk(work, 'commit', '-q', '-m', 'tree');
  const oid = (await sb.gitOk(work, 'rev-parse', 'HEAD')).trim();

  const src = new GitTreeSource(path.join(work, '.git'), oid);
  t.same(await src.list(), [
    { path: 'README.md', size: 8, kind: 'file' },
    { path: 'evil.yaml', size: '/etc/passwd'.length, kind: 'symlink' },
    { path: 'instances/prod/web.yaml', size: 15, kind: 'file' },
  ]);
  t.equal((await src.read('instances/prod/web.yaml')).toString(), 'kind: Instance\n');
  await t.rejects(src.read('evil.yaml'), SymlinkNotFollowed);
  await t.rejects(src.read('missing.yaml'), TreePathNotFound);
  await t.rejects(src.read('instances'), TreePathNotFound, 'a directory is not a file');
});
