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
  const blob = async (p: string) => (await sb.gitOk(work, 'rev-parse', `HEAD:${p}`)).trim();
  t.same(await src.list(), [
    { path: 'README.md', size: 8, kind: 'file', id: await blob('README.md') },
    { path: 'evil.yaml', size: '/etc/passwd'.length, kind: 'symlink', id: await blob('evil.yaml') },
    { path: 'instances/prod/web.yaml', size: 15, kind: 'file', id: await blob('instances/prod/web.yaml') },
  ]);
  const again = new GitTreeSource(path.join(work, '.git'), oid);
  t.same(await again.list(), await src.list(), 'a second source (sizes remembered by blob id) lists the same');
  t.equal((await src.read('instances/prod/web.yaml')).toString(), 'kind: Instance\n');
  await t.rejects(src.read('evil.yaml'), SymlinkNotFollowed);
  await t.rejects(src.read('missing.yaml'), TreePathNotFound);
  await t.rejects(src.read('instances'), TreePathNotFound, 'a directory is not a file');
});

t.test('with a ParseCache, validating the next commit reads only the blobs that changed', async (t) => {
  const { ParseCache } = await import('../manifests/parse-cache.js');
  const { validate } = await import('../manifests/validate.js');
  const { BASE, instance } = await import('../manifests/test-fixtures.js');
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const work = await sb.workRepo('work');
  const files: Record<string, string> = { ...BASE, 'a.yaml': instance('a'), 'b.yaml': instance('b') };
  for (const [p, text] of Object.entries(files)) {
    await fsp.mkdir(path.dirname(path.join(work, p)), { recursive: true });
    await fsp.writeFile(path.join(work, p), text);
  }
  await sb.gitOk(work, 'add', '-A');
  await sb.gitOk(work, 'commit', '-q', '-m', 'one');
  const first = (await sb.gitOk(work, 'rev-parse', 'HEAD')).trim();
  await fsp.writeFile(path.join(work, 'b.yaml'), instance('b', '  flavor: nope\n'));
  await sb.gitOk(work, 'commit', '-q', '-am', 'two');
  const second = (await sb.gitOk(work, 'rev-parse', 'HEAD')).trim();

  const cache = new ParseCache();
  const reads: string[] = [];
  const counted = (oid: string) => {
    const src = new GitTreeSource(path.join(work, '.git'), oid);
    return { list: () => src.list(), read: (p: string) => { reads.push(p); return src.read(p); } };
  };
  t.equal((await validate(counted(first), { cache })).ok, true);
  t.equal(reads.length, 5, 'first commit: every manifest read');
  reads.length = 0;
  const r = await validate(counted(second), { cache });
  t.same(reads, ['b.yaml'], 'second commit: only the changed file');
  t.same(r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`), ['b.yaml:8:11 no Flavor named "nope" in project "demo" or shared']);
});
