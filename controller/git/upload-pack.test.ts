/** What a fetch sends: only what the client lacks, for commits made by the git CLI. */

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import git from 'isomorphic-git';
import { GitSandbox } from './test-support.js';
import { objectsToSend, parseUploadRequest } from './upload-pack.js';
import { FLUSH_PKT, pktLine } from './pkt-line.js';
import { ProtocolError } from './errors.js';

t.test('objectsToSend skips what the common commit holds', async (t) => {
  const sb = await GitSandbox.create();
  t.teardown(() => sb.cleanup());
  const work = await sb.workRepo('work');
  const c1 = await sb.commit(work, { 'a/one.yaml': 'one\n', 'b/two.yaml': 'two\n' }, 'c1');
  const c2 = await sb.commit(work, { 'a/one.yaml': 'one changed\n' }, 'c2');
  const gitdir = path.join(work, '.git');
  const all = await objectsToSend(gitdir, [c2], [], {});
  t.equal(all.length, 10, 'c1: commit, 3 trees, 2 blobs; c2: commit, root, a/, one blob');
  const delta = new Set(await objectsToSend(gitdir, [c2], [c1], {}));
  const { commit } = await git.readCommit({ fs, gitdir, oid: c2 });
  const newBlob = (await sb.gitOk(work, 'rev-parse', 'HEAD:a/one.yaml')).trim();
  const newA = (await sb.gitOk(work, 'rev-parse', 'HEAD:a')).trim();
  t.same(delta, new Set([c2, commit.tree, newA, newBlob]), 'only the new commit, its changed trees and blob');
  t.same(await objectsToSend(gitdir, [c2], [c2], {}), [], 'nothing when the client has it');
});

t.test('parseUploadRequest', async (t) => {
  const oid = 'a'.repeat(40);
  const body = Buffer.concat([
    pktLine(`want ${oid} multi_ack_detailed side-band-64k\n`),
    pktLine(`want ${'b'.repeat(40)}\n`),
    FLUSH_PKT,
    pktLine(`have ${'c'.repeat(40)}\n`),
    pktLine('done\n'),
  ]);
  const req = parseUploadRequest(body);
  t.same(req.wants, [oid, 'b'.repeat(40)]);
  t.same(req.haves, ['c'.repeat(40)]);
  t.ok(req.done);
  t.ok(req.caps.has('multi_ack_detailed') && req.caps.has('side-band-64k'));
  t.throws(() => parseUploadRequest(Buffer.concat([pktLine('want nope\n'), FLUSH_PKT])), ProtocolError);
  t.throws(() => parseUploadRequest(Buffer.concat([pktLine(`want ${oid}\n`), pktLine('deepen 1\n'), FLUSH_PKT])), ProtocolError);
  t.throws(() => parseUploadRequest(Buffer.from('00')), ProtocolError, 'truncated');
});
