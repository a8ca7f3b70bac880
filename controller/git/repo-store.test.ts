/** The folder of bare repositories: creation, spool cleanup after a crash, the per-repo lock. */

import t from 'tap';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RepoStore } from './repo-store.js';
import { RepoNotFound } from './errors.js';

t.test('create, reopen, clean spool files left by a crash', async (t) => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ringstack-repos-'));
  t.teardown(() => fsp.rm(root, { recursive: true, force: true }));
  const store = new RepoStore(root);
  await t.rejects(store.open('infra', false), RepoNotFound);
  const dir = await store.open('infra', true);
  t.equal(dir, path.join(root, 'infra.git'));
  t.equal((await fsp.readFile(path.join(dir, 'HEAD'), 'utf8')).trim(), 'ref: refs/heads/main');
  t.same(fs.readdirSync(root), ['infra.git'], 'no temporary folder left');

  await fsp.mkdir(store.spoolDirOf('infra'), { recursive: true });
  const stale = path.join(store.spoolDirOf('infra'), 'tmp-deadbeef.pack');
  await fsp.writeFile(stale, 'half a pack');
  await store.open('infra', false);
  t.ok(fs.existsSync(stale), 'this process already cleaned once: a spool file may be in use');
  const restarted = new RepoStore(root);
  await restarted.open('infra', false);
  t.notOk(fs.existsSync(stale), 'a restarted process removes it');
});

t.test('withLock runs one at a time, in order, and survives failures', async (t) => {
  const store = new RepoStore(os.tmpdir());
  const log: string[] = [];
  const slow = (name: string, ms: number, fail = false) =>
    store.withLock('r', async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([slow('a', 30, true), slow('b', 5), slow('c', 1)]);
  t.same(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  t.equal(results[0].status, 'rejected');
  t.same(results.slice(1).map((r) => (r as PromiseFulfilledResult<string>).value), ['b', 'c']);
});
