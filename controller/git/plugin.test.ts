/**
 * The Git endpoint driven by the real git CLI: push (accepted, rejected with remote: lines,
 * non-fast-forward, delete), clone and fetch back, authentication, large pushes, limits.
 */

import t from 'tap';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import git from 'isomorphic-git';
import { GitSandbox, startGitServer } from './test-support.js';
import { FLUSH_PKT, parseAllPkts, pktLine, pktText } from './pkt-line.js';
import type { CommitCheck } from './types.js';
import { ZERO_OID } from './types.js';
import { Forbidden } from './errors.js';

const TOKEN = 'secret-token';

/** Rejects a commit whose tree has bad.yaml at the top, with two error lines. */
async function fakeValidate(repoDir: string, oid: string): Promise<CommitCheck> {
  const { tree } = await git.readTree({ fs, gitdir: repoDir, oid });
  if (tree.some((e) => e.path === 'bad.yaml')) {
    return {
      ok: false,
      errors: ['bad.yaml:12:5 spec.flavor: no Flavor named "huge"', 'bad.yaml:14:3 spec.network: no Network named "dmz"'],
      summary: [],
    };
  }
  return { ok: true, errors: [], summary: [`${tree.length} top-level entries, all valid`] };
}

t.test('git CLI against the endpoint', async (t) => {
  const sb = await GitSandbox.create();
  const reposDir = path.join(sb.root, 'repos');
  const accepted: Array<{ oid: string; ref: string }> = [];
  const srv = await startGitServer({
    reposDir,
    tokens: [TOKEN],
    validate: (dir, oid) => fakeValidate(dir, oid),
    onAccepted: async (_dir, oid, ref) => {
      accepted.push({ oid, ref });
    },
  });
  t.teardown(async () => {
    await srv.close();
    await sb.cleanup();
  });
  const url = srv.url('infra', TOKEN);
  const work = await sb.workRepo('work');
  await sb.gitOk(work, 'remote', 'add', 'origin', url);
  const remoteMain = async () => {
    const out = await sb.gitOk(work, 'ls-remote', url, 'refs/heads/main');
    return out.split(/\s/)[0];
  };

  const c1 = await sb.commit(work, { 'instances/web.yaml': 'kind: Instance\n' }, 'first');
  await t.test('first push creates the repository', async (t) => {
    const r = await sb.git(work, 'push', '-u', 'origin', 'main');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /remote: ringstack: accepted [0-9a-f]{7} for refs\/heads\/main/);
    t.match(r.stderr, /remote: 1 top-level entries, all valid/);
    t.equal(await remoteMain(), c1);
    t.same(accepted, [{ oid: c1, ref: 'refs/heads/main' }]);
    t.ok(fs.existsSync(path.join(reposDir, 'infra.git', 'HEAD')), 'bare repository on disk');
  });

  await t.test('a rejected push shows the errors and leaves the ref', async (t) => {
    await sb.commit(work, { 'bad.yaml': 'kind: Instance\n' }, 'bad');
    const r = await sb.git(work, 'push', 'origin', 'main');
    t.not(r.code, 0);
    t.match(r.stderr, /remote: bad\.yaml:12:5 spec\.flavor: no Flavor named "huge"/);
    t.match(r.stderr, /remote: bad\.yaml:14:3 spec\.network: no Network named "dmz"/);
    t.match(r.stderr, /\[remote rejected\] main -> main \(validation failed\)/);
    t.equal(await remoteMain(), c1, 'ref unchanged');
    t.equal(accepted.length, 1, 'onAccepted not called');
    const packs = (await fsp.readdir(path.join(reposDir, 'infra.git', 'objects', 'pack'))).filter((f) => f.endsWith('.pack'));
    t.equal(packs.length, 1, 'the pack of the rejected push is removed');
  });

  let c3 = '';
  await t.test('a fixed push is accepted and the ref moves', async (t) => {
    c3 = await sb.commit(work, { 'bad.yaml': null, 'networks/lan.yaml': 'kind: Network\n' }, 'fix');
    const r = await sb.git(work, 'push', 'origin', 'main');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /remote: 2 top-level entries, all valid/);
    t.equal(await remoteMain(), c3);
    t.same(accepted.at(-1), { oid: c3, ref: 'refs/heads/main' });
  });

  await t.test('a forced non-fast-forward push is refused', async (t) => {
    await sb.gitOk(work, 'reset', '-q', '--hard', 'HEAD~1');
    await sb.commit(work, { 'other.yaml': 'x: 1\n' }, 'diverge');
    const r = await sb.git(work, 'push', '--force', 'origin', 'main');
    t.not(r.code, 0);
    t.match(r.stderr, /\[remote rejected\] main -> main \(non-fast-forward\)/);
    t.equal(await remoteMain(), c3);
    await sb.gitOk(work, 'reset', '-q', '--hard', c3);
  });

  await t.test('a wrong token is refused', async (t) => {
    const r = await sb.git(work, 'ls-remote', srv.url('infra', 'wrong'));
    t.not(r.code, 0);
    t.match(r.stderr, /Authentication failed/);
    const noCreds = await sb.git(work, 'ls-remote', srv.url('infra'));
    t.not(noCreds.code, 0);
    t.match(noCreds.stderr, /could not read Username|Authentication failed/);
    const res = await fetch(`${srv.base}/git/infra.git/info/refs?service=git-upload-pack`);
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  });

  await t.test('clone and fetch back', async (t) => {
    const r = await sb.git('.', 'clone', '-q', url, 'clone');
    t.equal(r.code, 0, r.stderr);
    const clone = path.join(sb.root, 'clone');
    t.equal((await sb.gitOk(clone, 'rev-parse', 'HEAD')).trim(), c3);
    t.equal(await fsp.readFile(path.join(clone, 'networks/lan.yaml'), 'utf8'), 'kind: Network\n');
    t.equal((await sb.gitOk(clone, 'symbolic-ref', 'HEAD')).trim(), 'refs/heads/main');
    const c4 = await sb.commit(work, { 'instances/db.yaml': 'kind: Instance\nname: db\n' }, 'db');
    await sb.gitOk(work, 'push', 'origin', 'main');
    const f = await sb.git(clone, 'fetch', 'origin');
    t.equal(f.code, 0, f.stderr);
    t.equal((await sb.gitOk(clone, 'rev-parse', 'origin/main')).trim(), c4);
    await sb.gitOk(clone, 'merge', '-q', '--ff-only', 'origin/main');
    t.equal(await fsp.readFile(path.join(clone, 'instances/db.yaml'), 'utf8'), 'kind: Instance\nname: db\n');
    const fsck = await sb.git(clone, 'fsck', '--strict');
    t.equal(fsck.code, 0, fsck.stderr);
  });

  await t.test('fetch negotiates when the client has many commits the server lacks', async (t) => {
    const clone = path.join(sb.root, 'clone');
    for (let i = 0; i < 60; i++) await sb.commit(clone, { 'local.yaml': `i: ${i}\n` }, `local ${i}`);
    const c5 = await sb.commit(work, { 'instances/cache.yaml': 'kind: Instance\n' }, 'cache');
    await sb.gitOk(work, 'push', 'origin', 'main');
    const f = await sb.git(clone, 'fetch', 'origin');
    t.equal(f.code, 0, f.stderr);
    t.equal((await sb.gitOk(clone, 'rev-parse', 'origin/main')).trim(), c5);
    const fsck = await sb.git(clone, 'fsck');
    t.equal(fsck.code, 0, fsck.stderr);
  });

  await t.test('two racing pushes: one wins, the other is told to fetch first', async (t) => {
    const other = path.join(sb.root, 'other');
    await sb.gitOk('.', 'clone', '-q', url, 'other');
    await sb.gitOk(work, 'pull', '-q', '--ff-only', 'origin', 'main');
    const a = await sb.commit(work, { 'race.yaml': 'winner: a\n' }, 'race a');
    const b = await sb.commit(other, { 'race.yaml': 'winner: b\n' }, 'race b');
    const [ra, rb] = await Promise.all([sb.git(work, 'push', 'origin', 'main'), sb.git(other, 'push', 'origin', 'main')]);
    t.equal([ra.code, rb.code].filter((c) => c === 0).length, 1, 'exactly one push succeeds');
    const loser = ra.code === 0 ? rb : ra;
    t.match(loser.stderr, /fetch first|non-fast-forward|rejected/);
    t.equal(await remoteMain(), ra.code === 0 ? a : b);
    if (ra.code !== 0) await sb.gitOk(work, 'reset', '-q', '--hard', 'origin/main');
    await sb.gitOk(work, 'pull', '-q', '--ff-only', 'origin', 'main');
  });

  await t.test('many commits and a few MB in one push', async (t) => {
    let last = '';
    for (let i = 0; i < 40; i++) {
      last = await sb.commit(work, { [`blobs/b${i}.bin`]: randomBytes(100 * 1024), 'counter.yaml': `n: ${i}\n` }, `commit ${i}`);
    }
    const r = await sb.git(work, 'push', 'origin', 'main');
    t.equal(r.code, 0, r.stderr);
    t.equal(await remoteMain(), last);
    const r2 = await sb.git('.', 'clone', '-q', url, 'clone-big');
    t.equal(r2.code, 0, r2.stderr);
    const fsck = await sb.git(path.join(sb.root, 'clone-big'), 'fsck');
    t.equal(fsck.code, 0, fsck.stderr);
    t.equal((await sb.gitOk(path.join(sb.root, 'clone-big'), 'rev-list', '--count', 'HEAD')).trim(), '46', 'c1, bad, fix, db, cache, race and 40 more');
  });

  await t.test('a branch is pushed and deleted', async (t) => {
    await sb.gitOk(work, 'checkout', '-q', '-b', 'feature');
    const cf = await sb.commit(work, { 'feature.yaml': 'f: 1\n' }, 'feature');
    await sb.gitOk(work, 'push', 'origin', 'feature');
    t.match(await sb.gitOk(work, 'ls-remote', url), new RegExp(`${cf}\\s+refs/heads/feature`));
    const copy = await sb.git(work, 'push', 'origin', 'feature:copy');
    t.equal(copy.code, 0, copy.stderr);
    t.match(await sb.gitOk(work, 'ls-remote', url), new RegExp(`${cf}\\s+refs/heads/copy`), 'a branch at a commit the server has');
    const r = await sb.git(work, 'push', 'origin', ':feature');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /\[deleted\]\s+feature/);
    t.notMatch(await sb.gitOk(work, 'ls-remote', url), /refs\/heads\/feature/);
    await sb.gitOk(work, 'checkout', '-q', 'main');
  });

  await t.test('a tag is pushed and cloned', async (t) => {
    await sb.gitOk(work, 'tag', '-a', 'v1', '-m', 'release 1');
    await sb.gitOk(work, 'push', 'origin', 'v1');
    const refs = await sb.gitOk(work, 'ls-remote', url);
    t.match(refs, /refs\/tags\/v1\^\{\}/);
    const r = await sb.git('.', 'clone', '-q', '--branch', 'v1', url, 'clone-tag');
    t.equal(r.code, 0, r.stderr);
  });

  await t.test('a stale old value is refused with fetch first', async (t) => {
    const stale = 'a'.repeat(40);
    const body = Buffer.concat([pktLine(`${stale} ${ZERO_OID} refs/heads/main\0report-status\n`), FLUSH_PKT]);
    const res = await fetch(`${srv.base}/git/infra.git/git-receive-pack`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-receive-pack-request',
        'content-encoding': 'gzip',
        authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
      },
      body: gzipSync(body),
    });
    t.equal(res.status, 200);
    const lines = parseAllPkts(Buffer.from(await res.arrayBuffer()))
      .filter((p) => p.kind === 'data')
      .map((p) => pktText((p as { data: Buffer }).data));
    t.same(lines, ['unpack ok', 'ng refs/heads/main fetch first']);
  });

  await t.test('a gzip-encoded fetch request is understood', async (t) => {
    const head = (await sb.gitOk(work, 'rev-parse', 'HEAD')).trim();
    const body = Buffer.concat([pktLine(`want ${head} side-band-64k\n`), FLUSH_PKT, pktLine('done\n')]);
    const res = await fetch(`${srv.base}/git/infra.git/git-upload-pack`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        'content-encoding': 'gzip',
        authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
      },
      body: gzipSync(body),
    });
    t.equal(res.status, 200);
    const pkts = parseAllPkts(Buffer.from(await res.arrayBuffer()));
    const first = pkts[0];
    t.equal(first.kind === 'data' && pktText(first.data), 'NAK');
    const data = pkts.find((p) => p.kind === 'data' && p.data[0] === 1);
    t.equal(data && data.kind === 'data' && data.data.toString('ascii', 1, 5), 'PACK');
  });

  await t.test('a missing repository cannot be cloned', async (t) => {
    const r = await sb.git('.', 'clone', '-q', srv.url('nothing', TOKEN), 'clone-none');
    t.not(r.code, 0);
    t.match(r.stderr, /not found|404/);
    t.notOk(fs.existsSync(path.join(reposDir, 'nothing.git')));
  });
});

t.test('a push over the size limit is refused with a clear message', async (t) => {
  const sb = await GitSandbox.create();
  const srv = await startGitServer({
    reposDir: path.join(sb.root, 'repos'),
    tokens: [TOKEN],
    maxPushBytes: 200_000,
    validate: async () => ({ ok: true, errors: [], summary: [] }),
    onAccepted: async () => {},
  });
  t.teardown(async () => {
    await srv.close();
    await sb.cleanup();
  });
  const work = await sb.workRepo('work');
  await sb.commit(work, { 'big.bin': randomBytes(1_500_000) }, 'big');
  const r = await sb.git(work, 'push', srv.url('limited', TOKEN), 'main');
  t.not(r.code, 0);
  t.match(r.stderr, /remote: ringstack: push rejected: the request is larger than the limit of 200000 bytes/);
  const refs = await sb.gitOk(work, 'ls-remote', srv.url('limited', TOKEN));
  t.equal(refs.trim(), '', 'nothing was stored');
  const incoming = path.join(sb.root, 'repos', 'limited.git', 'objects', 'incoming');
  t.same(fs.existsSync(incoming) ? await fsp.readdir(incoming) : [], [], 'no spool file left');
});

t.test('the plugin refuses to start without credentials', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  await t.rejects(
    startGitServer({ reposDir: sb.root, validate: async () => ({ ok: true, errors: [], summary: [] }), onAccepted: async () => {} }),
    /never open/,
  );
});

t.test('a read-only token can clone but not push', async (t) => {
  const sb = await GitSandbox.create();
  const srv = await startGitServer({
    reposDir: path.join(sb.root, 'repos'),
    authorize: (token, access) => {
      if (token === 'rw') return true;
      if (token !== 'ro') return false;
      if (access.write) throw new Forbidden('this token may only read');
      return true;
    },
    validate: async () => ({ ok: true, errors: [], summary: [] }),
    onAccepted: async () => {},
  });
  t.teardown(async () => {
    await srv.close();
    await sb.cleanup();
  });
  const work = await sb.workRepo('work');
  await sb.commit(work, { 'a.yaml': 'a: 1\n' }, 'one');
  const denied = await sb.git(work, 'push', srv.url('infra', 'ro'), 'main');
  t.not(denied.code, 0);
  t.match(denied.stderr, /403/);
  await sb.gitOk(work, 'push', srv.url('infra', 'rw'), 'main');
  const clone = await sb.git('.', 'clone', '-q', srv.url('infra', 'ro'), 'clone');
  t.equal(clone.code, 0, clone.stderr);

  const dumb = await fetch(`${srv.base}/git/infra.git/info/refs`, { headers: { authorization: `Basic ${Buffer.from('x:rw').toString('base64')}` } });
  t.equal(dumb.status, 400);
  t.match(await dumb.text(), /dumb HTTP protocol is not supported/);
  const badName = await fetch(`${srv.base}/git/..%2Fetc.git/info/refs?service=git-upload-pack`);
  t.equal(badName.status, 400);
});
