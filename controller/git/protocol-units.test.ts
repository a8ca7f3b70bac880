/** Small pieces of the protocol: pkt-lines, side-band, ref names, tokens, tar, webhook proofs. */

import t from 'tap';
import { createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { PktParser, parseAllPkts, pktLine, sideBand, SIDEBAND_CHUNK, CHANNEL_PROGRESS } from './pkt-line.js';
import { isValidRefName } from './refs.js';
import { tokenFromHeader, tokenListAuthorizer, checkAccess } from './auth.js';
import { tarStream, untar } from './tar.js';
import { verifyWebhook } from './webhook.js';
import { parseCommand } from './receive-request.js';
import { RepoStore } from './repo-store.js';
import { BadRepoName, ProtocolError, Unauthenticated } from './errors.js';

t.test('pkt-line framing', async (t) => {
  t.equal(pktLine('a\n').toString(), '0006a\n');
  const p = new PktParser();
  p.push(Buffer.from('0006a\n00'));
  t.same(p.next(), { kind: 'data', data: Buffer.from('a\n') });
  t.equal(p.next(), undefined, 'incomplete header waits');
  p.push(Buffer.from('00PACK'));
  t.same(p.next(), { kind: 'flush' });
  t.equal(p.rest().toString(), 'PACK');
  t.throws(() => parseAllPkts(Buffer.from('zzzz')), ProtocolError);
  const big = sideBand(CHANNEL_PROGRESS, Buffer.alloc(SIDEBAND_CHUNK + 10, 65));
  const pkts = parseAllPkts(big);
  t.equal(pkts.length, 2, 'split into two side-band packets');
  t.ok(pkts.every((x) => x.kind === 'data' && x.data[0] === CHANNEL_PROGRESS));
});

t.test('ref names and commands', async (t) => {
  for (const ok of ['refs/heads/main', 'refs/heads/feature/x-1', 'refs/tags/v1.0']) t.ok(isValidRefName(ok), ok);
  for (const bad of ['main', 'refs/heads/a..b', 'refs/heads/.hidden', 'refs/heads/x.lock', 'refs/heads/a b', 'refs/heads/', 'refs/heads/a@{1}', 'refs//x'])
    t.notOk(isValidRefName(bad), bad);
  t.throws(() => parseCommand('x y z'), ProtocolError);
  t.same(parseCommand(`${'0'.repeat(40)} ${'1'.repeat(40)} refs/heads/main`), {
    oldOid: '0'.repeat(40),
    newOid: '1'.repeat(40),
    ref: 'refs/heads/main',
  });
  t.equal(RepoStore.nameOf('infra.git'), 'infra');
  for (const bad of ['../x', '.git', 'a/b', '', 'x.']) t.throws(() => RepoStore.nameOf(bad), BadRepoName, bad);
});

t.test('tokens', async (t) => {
  t.equal(tokenFromHeader(`Basic ${Buffer.from('u:tok').toString('base64')}`), 'tok');
  t.equal(tokenFromHeader(`Basic ${Buffer.from('tok').toString('base64')}`), 'tok');
  t.equal(tokenFromHeader('Bearer x'), undefined);
  t.equal(tokenFromHeader(undefined), undefined);
  const auth = tokenListAuthorizer(['a', '']);
  await t.resolves(checkAccess(`Basic ${Buffer.from('x:a').toString('base64')}`, { repo: 'r', write: true }, auth));
  await t.rejects(checkAccess(`Basic ${Buffer.from('x:').toString('base64')}`, { repo: 'r', write: true }, auth), Unauthenticated);
  await t.rejects(checkAccess(`Basic ${Buffer.from('x:b').toString('base64')}`, { repo: 'r', write: false }, auth), Unauthenticated);
});

t.test('tar round trip', async (t) => {
  async function* files() {
    yield { path: 'HEAD', data: Buffer.from('ref: refs/heads/main\n') };
    yield { path: 'objects/pack/p.pack', data: Buffer.alloc(70_000, 9) };
    yield { path: 'empty', data: Buffer.alloc(0) };
  }
  const chunks: Buffer[] = [];
  for await (const c of tarStream(files())) chunks.push(c as Buffer);
  const archive = Buffer.concat(chunks);
  t.equal(archive.length % 512, 0);
  // Feed it back in odd-sized pieces.
  const pieces: Buffer[] = [];
  for (let i = 0; i < archive.length; i += 777) pieces.push(archive.subarray(i, i + 777));
  const out = [];
  for await (const f of untar(Readable.from(pieces))) out.push([f.path, f.data.length, f.data[0]]);
  t.same(out, [
    ['HEAD', 21, 114],
    ['objects/pack/p.pack', 70_000, 9],
    ['empty', 0, undefined],
  ]);
  await t.rejects(async () => {
    for await (const _ of untar(Readable.from([archive.subarray(0, 1024)]))) void _;
  }, /truncated/);
});

t.test('webhook proofs', async (t) => {
  const body = Buffer.from('{"ref":"refs/heads/main"}');
  const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
  t.ok(verifyWebhook({ 'x-hub-signature-256': sig }, body, 's3cret'));
  t.notOk(verifyWebhook({ 'x-hub-signature-256': sig }, Buffer.from('{}'), 's3cret'), 'other body');
  t.notOk(verifyWebhook({ 'x-hub-signature-256': 'sha1=abc' }, body, 's3cret'));
  t.ok(verifyWebhook({ 'x-ringstack-token': 's3cret' }, body, 's3cret'));
  t.ok(verifyWebhook({ authorization: 'Bearer s3cret' }, body, 's3cret'));
  t.notOk(verifyWebhook({ 'x-gitlab-token': 'nope' }, body, 's3cret'));
  t.notOk(verifyWebhook({}, body, 's3cret'));
});
