/** A working repository watched with chokidar: commits made with the git CLI are reported. */

import t from 'tap';
import { GitSandbox } from './test-support.js';
import { watchLocalRepo } from './watch-local.js';
import type { SourceCommit } from './branch-tracker.js';

/** Resolves with the first reported commit satisfying `pred`, or rejects after `ms`. */
function waitFor(list: SourceCommit[], pred: (c: SourceCommit) => boolean, ms = 10_000): Promise<SourceCommit> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = () => {
      const hit = list.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - start > ms) return reject(new Error('no matching commit reported'));
      setTimeout(poll, 25);
    };
    poll();
  });
}

t.test('commits on the tracked branch are reported, others are not', async (t) => {
  const sb = await GitSandbox.create();
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  const seen: SourceCommit[] = [];
  const watcher = await watchLocalRepo({ dir: work, branch: 'main', onCommit: (c) => void seen.push(c), debounceMs: 50 });
  t.teardown(async () => {
    await watcher.close();
    await sb.cleanup();
  });
  t.same(
    seen.map((c) => [c.oid, c.ref, c.message]),
    [[c1, 'refs/heads/main', 'one\n']],
    'the initial commit',
  );

  const c2 = await sb.commit(work, { 'b.yaml': 'b: 2\n' }, 'two');
  const got = await waitFor(seen, (c) => c.oid === c2);
  t.equal(got.author.email, 'test@example.invalid');

  // A commit on another branch is not reported; coming back and merging is.
  await sb.gitOk(work, 'checkout', '-q', '-b', 'side');
  const side = await sb.commit(work, { 'c.yaml': 'c: 3\n' }, 'side');
  await sb.gitOk(work, 'checkout', '-q', 'main');
  await sb.gitOk(work, 'merge', '-q', '--ff-only', 'side');
  await waitFor(seen, (c) => c.oid === side);
  t.equal(seen.length, 3, 'one report per new commit on main');

  // A ref moved into packed-refs by gc still resolves; amend is reported.
  await sb.gitOk(work, 'pack-refs', '--all');
  const amended = await sb.commit(work, { 'd.yaml': 'd: 4\n' }, 'four');
  await waitFor(seen, (c) => c.oid === amended);
});

t.test('a failing handler sees the commit again on the next check', async (t) => {
  const sb = await GitSandbox.create();
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  let calls = 0;
  const errors: unknown[] = [];
  const watcher = await watchLocalRepo({
    dir: work,
    branch: 'main',
    onCommit: () => {
      calls++;
      if (calls === 1) throw new Error('apply failed');
    },
    onError: (e) => errors.push(e),
  });
  t.teardown(async () => {
    await watcher.close();
    await sb.cleanup();
  });
  t.equal(errors.length, 1);
  t.equal(watcher.tracker.lastOid, undefined);
  await watcher.check();
  t.equal(calls, 2);
  t.equal(watcher.tracker.lastOid, c1);
});

t.test('a bare repository without the branch yet', async (t) => {
  const sb = await GitSandbox.create();
  await sb.gitOk('.', 'init', '-q', '--bare', 'bare.git');
  const seen: SourceCommit[] = [];
  const watcher = await watchLocalRepo({ dir: `${sb.root}/bare.git`, branch: 'main', onCommit: (c) => void seen.push(c), debounceMs: 50 });
  t.teardown(async () => {
    await watcher.close();
    await sb.cleanup();
  });
  t.equal(seen.length, 0);
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  await sb.gitOk(work, 'push', '-q', `${sb.root}/bare.git`, 'main');
  await waitFor(seen, (c) => c.oid === c1);
  t.pass('the first push into the bare repository is reported');
});
