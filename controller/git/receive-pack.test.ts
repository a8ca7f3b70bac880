/**
 * applyPush on a bare repository filled by the git CLI: the rules for each ref update and
 * the report a client without side-band gets.
 */

import t from 'tap';
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { PassThrough } from 'node:stream';
import { GitSandbox } from './test-support.js';
import { applyPush, type ApplyPushOptions } from './receive-pack.js';
import { parseAllPkts, pktText } from './pkt-line.js';
import { currentOid } from './refs.js';
import { ZERO_OID } from './types.js';
import type { ReceiveRequest, RefCommand } from './receive-request.js';

/** Runs applyPush without a pack (objects are already in the repository) and returns the report lines. */
async function push(commands: RefCommand[], opts: ApplyPushOptions, caps = ['report-status']): Promise<string[]> {
  const req: ReceiveRequest = { commands, caps: new Set(caps), packObjects: 0 };
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await applyPush(req, out, opts);
  out.end();
  return parseAllPkts(Buffer.concat(chunks)).flatMap((p) => (p.kind === 'data' ? [pktText(p.data)] : []));
}

t.test('long error lists are cut, a hanging validation times out', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a.yaml': 'a\n' }, 'one');
  const gitdir = path.join(sb.root, 'bare.git');
  await sb.gitOk('.', 'init', '-q', '--bare', gitdir);
  await sb.gitOk(work, 'push', '-q', gitdir, `${c1}:refs/heads/keep`);
  const base = { gitdir, name: 'bare', onAccepted: async () => {} };
  const many = await push(
    [{ oldOid: ZERO_OID, newOid: c1, ref: 'refs/heads/main' }],
    { ...base, validate: async () => ({ ok: false, errors: Array.from({ length: 250 }, (_, i) => `e${i}`), summary: [] }) },
    ['report-status', 'side-band-64k'],
  );
  const band2 = many.filter((l) => l.startsWith('\x02')).map((l) => l.slice(1));
  t.equal(band2.length, 2 + 200 + 1, 'checking, rejected, 200 errors, the count of the rest');
  t.equal(band2.at(-1), 'ringstack: ... and 50 more');
  const hung = await push([{ oldOid: ZERO_OID, newOid: c1, ref: 'refs/heads/main' }], {
    ...base,
    validateTimeoutMs: 50,
    validate: () => new Promise(() => {}),
  });
  t.same(hung, ['unpack ok', 'ng refs/heads/main validation error']);
});

t.test('ref update rules', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a.yaml': 'a\n' }, 'one');
  const c2 = await sb.commit(work, { 'bad.yaml': 'b\n' }, 'two');
  const c3 = await sb.commit(work, { 'crash.yaml': 'c\n' }, 'three');
  const gitdir = path.join(sb.root, 'bare.git');
  await sb.gitOk('.', 'init', '-q', '--bare', gitdir);
  await sb.gitOk(work, 'push', '-q', gitdir, `${c3}:refs/heads/keep`);
  await sb.gitOk(gitdir, 'update-ref', '-d', 'refs/heads/keep'); // objects stay, no ref points at them
  await sb.gitOk(gitdir, 'update-ref', 'refs/heads/main', c1);

  const applied: string[] = [];
  const warnings: string[] = [];
  const opts: ApplyPushOptions = {
    gitdir,
    name: 'bare',
    branches: ['main'],
    validate: async (_dir, oid) => {
      if (oid === c3) throw new Error('validator crashed');
      if (oid === c2) return { ok: false, errors: ['bad.yaml:1:1 kind: unknown kind'], summary: [] };
      return { ok: true, errors: [], summary: ['fine'] };
    },
    onAccepted: async (_dir, oid) => {
      applied.push(oid);
      throw new Error('apply exploded');
    },
    afterRefsChanged: async () => {
      throw new Error('store down');
    },
    log: { warn: (_o, msg) => warnings.push(msg), info: () => {} },
  };

  t.same(await push([{ oldOid: c1, newOid: c2, ref: 'refs/heads/main' }], opts), [
    'unpack ok',
    'ng refs/heads/main validation failed: bad.yaml:1:1 kind: unknown kind',
  ], 'without side-band the first error is in the reason');
  t.same(await push([{ oldOid: c1, newOid: c3, ref: 'refs/heads/main' }], opts), ['unpack ok', 'ng refs/heads/main validation error']);
  t.equal(await currentOid(gitdir, 'refs/heads/main'), c1);

  t.same(await push([{ oldOid: ZERO_OID, newOid: c3, ref: 'refs/heads/wip' }], opts), ['unpack ok', 'ok refs/heads/wip'], 'untracked branches are not validated');
  t.same(applied, [], 'nor applied');
  t.equal(warnings.filter((w) => /backup failed/.test(w)).length, 1, 'backup failure is logged, the push still succeeds');

  const lines = await push([{ oldOid: c1, newOid: c1, ref: 'refs/heads/main' }, { oldOid: ZERO_OID, newOid: c1, ref: 'refs/notes/x' }, { oldOid: ZERO_OID, newOid: c1, ref: 'refs/heads/a..b' }, { oldOid: c2, newOid: c1, ref: 'refs/heads/zzz' }], opts);
  t.same(lines, ['unpack ok', 'ok refs/heads/main', 'ng refs/notes/x only branches and tags can be pushed', 'ng refs/heads/a..b invalid ref name', 'ng refs/heads/zzz fetch first']);

  t.same(await push([{ oldOid: ZERO_OID, newOid: c1, ref: 'refs/heads/team/x' }], opts), ['unpack ok', 'ok refs/heads/team/x']);
  t.same(await push([{ oldOid: ZERO_OID, newOid: c1, ref: 'refs/heads/team' }], opts), ['unpack ok', 'ng refs/heads/team cannot lock ref'], 'a/b blocks a');
  t.same(await push([{ oldOid: c1, newOid: ZERO_OID, ref: 'refs/heads/team/x' }], opts), ['unpack ok', 'ok refs/heads/team/x']);
  t.same(await push([{ oldOid: ZERO_OID, newOid: c1, ref: 'refs/heads/team' }], opts), ['unpack ok', 'ok refs/heads/team'], 'after deleting a/b, a can be created');
  t.same(await push([{ oldOid: ZERO_OID, newOid: 'f'.repeat(40), ref: 'refs/heads/ghost' }], opts), ['unpack ok', `ng refs/heads/ghost missing object ${'f'.repeat(40)}`]);

  t.same(await push([{ oldOid: ZERO_OID, newOid: c1, ref: 'refs/tags/v1' }], opts), ['unpack ok', 'ok refs/tags/v1']);
  t.same(await push([{ oldOid: c1, newOid: c3, ref: 'refs/tags/v1' }], opts), ['unpack ok', 'ng refs/tags/v1 tag already exists']);

  const sideband = await push([{ oldOid: c1, newOid: c2, ref: 'refs/heads/main' }], opts, ['report-status', 'side-band-64k']);
  t.same(
    sideband.slice(0, 3),
    ['\x02ringstack: checking ' + c2.slice(0, 7) + ' for refs/heads/main', '\x02ringstack: rejected ' + c2.slice(0, 7) + ' for refs/heads/main: 1 error', '\x02bad.yaml:1:1 kind: unknown kind'],
    'with side-band the errors go to channel 2',
  );
  t.same(
    parseAllPkts(Buffer.from(sideband[3].slice(1), 'utf8')).flatMap((p) => (p.kind === 'data' ? [pktText(p.data)] : [])),
    ['unpack ok', 'ng refs/heads/main validation failed'],
    'and the report to channel 1',
  );

  // onAccepted failing is reported but the ref has moved.
  await sb.gitOk(gitdir, 'update-ref', 'refs/heads/main', c1);
  const okOpts = { ...opts, validate: async () => ({ ok: true, errors: [], summary: [] }) };
  t.same(await push([{ oldOid: c1, newOid: c3, ref: 'refs/heads/main' }], okOpts), ['unpack ok', 'ok refs/heads/main']);
  t.same(applied, [c3]);
  t.equal(await currentOid(gitdir, 'refs/heads/main'), c3);
  t.same(await push([{ oldOid: c3, newOid: c1, ref: 'refs/heads/main' }], okOpts), ['unpack ok', 'ng refs/heads/main non-fast-forward']);
  t.same(await push([{ oldOid: c3, newOid: c1, ref: 'refs/heads/main' }], { ...okOpts, allowNonFastForward: true }), ['unpack ok', 'ok refs/heads/main'], 'unless allowed');
  await sb.gitOk(gitdir, 'pack-refs', '--all');
  t.same(await push([{ oldOid: c1, newOid: ZERO_OID, ref: 'refs/tags/v1' }], okOpts), ['unpack ok', 'ok refs/tags/v1'], 'delete a packed ref');
  t.equal(await currentOid(gitdir, 'refs/tags/v1'), ZERO_OID);
  t.equal(await currentOid(gitdir, 'refs/heads/main'), c1, 'other packed refs stay');
});

t.test('objects of the new commit are checked against what the branch already has', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'top.yaml': 't\n', 'dir/a.yaml': 'a\n', 'dir/b.yaml': 'b\n' }, 'one');
  const c2 = await sb.commit(work, { 'dir/b.yaml': 'b2\n', 'new/c.yaml': 'c\n' }, 'two');
  const gitdir = path.join(sb.root, 'bare.git');
  await sb.gitOk('.', 'init', '-q', '--bare', gitdir);
  await sb.gitOk(work, 'push', '-q', gitdir, `${c2}:refs/heads/keep`);
  await sb.gitOk(gitdir, 'update-ref', '-d', 'refs/heads/keep');
  await sb.gitOk(gitdir, 'update-ref', 'refs/heads/main', c1);
  const opts: ApplyPushOptions = {
    gitdir, name: 'bare', branches: ['main'], onAccepted: async () => {}, validate: async () => ({ ok: true, errors: [], summary: [] }),
  };
  const loose = (oid: string) => path.join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  const changed = (await sb.gitOk(work, 'rev-parse', `${c2}:dir/b.yaml`)).trim();
  const added = (await sb.gitOk(work, 'rev-parse', `${c2}:new/c.yaml`)).trim();
  const moved = await fsp.readFile(loose(changed));
  await fsp.rm(loose(changed));
  t.same(await push([{ oldOid: c1, newOid: c2, ref: 'refs/heads/main' }], opts), ['unpack ok', `ng refs/heads/main missing blob ${changed} (b.yaml)`],
    'a changed file in a changed folder');
  await fsp.writeFile(loose(changed), moved);
  await fsp.rm(loose(added));
  t.same(await push([{ oldOid: c1, newOid: c2, ref: 'refs/heads/main' }], opts), ['unpack ok', `ng refs/heads/main missing blob ${added} (c.yaml)`],
    'a file in a new folder');
  t.equal(await currentOid(gitdir, 'refs/heads/main'), c1, 'the branch stays');
});
