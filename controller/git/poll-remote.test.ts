/**
 * A remote repository served by our own Git endpoint, polled with isomorphic-git; a webhook
 * on the same server makes the poller fetch at once.
 */

import t from 'tap';
import * as path from 'node:path';
import { createHmac } from 'node:crypto';
import { GitSandbox, startGitServer } from './test-support.js';
import { pollRemote } from './poll-remote.js';
import { gitWebhookPlugin } from './webhook.js';
import type { SourceCommit } from './branch-tracker.js';
import type { RemotePoller } from './poll-remote.js';

const TOKEN = 'repo-token';
const HOOK_SECRET = 'hook-secret';

function waitFor(list: SourceCommit[], oid: string, ms = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = () => {
      if (list.some((c) => c.oid === oid)) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`commit ${oid} not reported`));
      setTimeout(poll, 25);
    };
    poll();
  });
}

t.test('remote poll and webhook', async (t) => {
  const sb = await GitSandbox.create();
  const pollers = new Map<string, RemotePoller>();
  const srv = await startGitServer({
    reposDir: path.join(sb.root, 'repos'),
    tokens: [TOKEN],
    validate: async () => ({ ok: true, errors: [], summary: [] }),
    onAccepted: async () => {},
  }, async (app) => {
    await app.register(gitWebhookPlugin, {
      lookup: (source) => {
        const p = pollers.get(source);
        return p ? { secret: HOOK_SECRET, trigger: () => p.pollNow() } : undefined;
      },
    });
  });
  t.teardown(async () => {
    for (const p of pollers.values()) p.close();
    await srv.close();
    await sb.cleanup();
  });
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  await sb.gitOk(work, 'push', '-q', srv.url('infra', TOKEN), 'main');

  const seen: SourceCommit[] = [];
  const errors: unknown[] = [];
  const poller = await pollRemote({
    url: srv.url('infra'),
    auth: { password: TOKEN },
    branch: 'main',
    intervalMs: 3_600_000, // only the first poll and the webhook
    dir: path.join(sb.root, 'mirror.git'),
    onCommit: (c) => void seen.push(c),
    onError: (e) => errors.push(e),
  });
  pollers.set('infra', poller);
  t.same(seen.map((c) => c.oid), [c1], 'the first poll reports the current commit');
  t.same(errors, []);

  const c2 = await sb.commit(work, { 'b.yaml': 'b: 2\n' }, 'two');
  await sb.gitOk(work, 'push', '-q', srv.url('infra', TOKEN), 'main');
  const body = JSON.stringify({ ref: 'refs/heads/main', after: c2 });
  const sig = `sha256=${createHmac('sha256', HOOK_SECRET).update(body).digest('hex')}`;

  const bad = await fetch(`${srv.base}/hooks/git/infra`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    body,
  });
  t.equal(bad.status, 401, 'a wrong signature is refused');
  const none = await fetch(`${srv.base}/hooks/git/infra`, { method: 'POST', body });
  t.equal(none.status, 401, 'no signature is refused');
  const unknown = await fetch(`${srv.base}/hooks/git/nope`, { method: 'POST', headers: { 'x-ringstack-token': HOOK_SECRET }, body });
  t.equal(unknown.status, 404);
  t.same(seen.map((c) => c.oid), [c1], 'refused hooks trigger nothing');

  const res = await fetch(`${srv.base}/hooks/git/infra`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig, 'x-github-event': 'push' },
    body,
  });
  t.equal(res.status, 202);
  t.same(await res.json(), { source: 'infra', triggered: true });
  await waitFor(seen, c2);
  t.equal(seen.at(-1)?.message, 'two\n');

  const c3 = await sb.commit(work, { 'c.yaml': 'c: 3\n' }, 'three');
  await sb.gitOk(work, 'push', '-q', srv.url('infra', TOKEN), 'main');
  const plain = await fetch(`${srv.base}/hooks/git/infra`, { method: 'POST', headers: { 'x-gitlab-token': HOOK_SECRET } });
  t.equal(plain.status, 202, 'a plain token header works too');
  await waitFor(seen, c3);
  t.same(seen.map((c) => c.oid), [c1, c2, c3], 'each commit once, in order');
});

t.test('the interval alone picks up a commit; a wrong token is an error', async (t) => {
  const sb = await GitSandbox.create();
  const srv = await startGitServer({
    reposDir: path.join(sb.root, 'repos'),
    tokens: [TOKEN],
    validate: async () => ({ ok: true, errors: [], summary: [] }),
    onAccepted: async () => {},
  });
  const closers: Array<() => void> = [];
  t.teardown(async () => {
    closers.forEach((c) => c());
    await srv.close();
    await sb.cleanup();
  });
  const work = await sb.workRepo('work');
  await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  await sb.gitOk(work, 'push', '-q', srv.url('infra', TOKEN), 'main');
  const seen: SourceCommit[] = [];
  const poller = await pollRemote({
    url: srv.url('infra'),
    auth: { password: TOKEN },
    branch: 'main',
    intervalMs: 200,
    dir: path.join(sb.root, 'mirror.git'),
    onCommit: (c) => void seen.push(c),
  });
  closers.push(() => poller.close());
  const c2 = await sb.commit(work, { 'b.yaml': 'b: 2\n' }, 'two');
  await sb.gitOk(work, 'push', '-q', srv.url('infra', TOKEN), 'main');
  await waitFor(seen, c2);
  t.ok(poller.lastFetchAt, 'fetched');

  const errors: unknown[] = [];
  const denied = await pollRemote({
    url: srv.url('infra'),
    auth: { password: 'wrong' },
    branch: 'main',
    intervalMs: 3_600_000,
    dir: path.join(sb.root, 'mirror2.git'),
    onCommit: () => {},
    onError: (e) => errors.push(e),
  });
  closers.push(() => denied.close());
  t.equal(errors.length, 1, 'the failed fetch is reported');
  t.ok(denied.lastError);
});
