/**
 * The proxy's body MD5 (body-md5.ts): hashed in the addon's pool jobs, many bodies together,
 * it gives node:crypto's digest for any chunking and any number of concurrent bodies (more
 * than the sixteen lanes, fewer than the four that make lanes worth it); it asks the caller to
 * wait when too many bytes are not hashed yet; a digested or discarded body takes no more bytes.
 * The node:crypto fallback (RINGSTACK_PROXY_MD5=node) gives the same digests, and so does each
 * lane function the CPU has (AVX-512F, AVX2, none), chosen with RINGSTACK_MD5_LANES.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bodyMd5, md5LanesKind, pooledMd5Available, MAX_UNHASHED_BYTES, type BodyMd5 } from './body-md5.js';
import { nativeAddon } from './native-addon.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Feeds `bodies` to fresh hashes in random chunks (some empty), interleaved, yielding now and then. */
async function hashInterleaved(bodies: Buffer[], maxChunk: number): Promise<string[]> {
  const hashes: BodyMd5[] = bodies.map(() => bodyMd5());
  const offsets = bodies.map(() => 0);
  let left = bodies.filter((b) => b.length > 0).length;
  while (left > 0) {
    const i = Math.floor(Math.random() * bodies.length);
    const body = bodies[i]!;
    if (offsets[i]! >= body.length) continue;
    const n = Math.floor(Math.random() * maxChunk);
    const chunk = body.subarray(offsets[i], offsets[i]! + n);
    offsets[i]! += chunk.length;
    const wait = hashes[i]!.update(chunk);
    if (wait) await wait;
    if (offsets[i]! >= body.length) left--;
    if (Math.random() < 0.05) await new Promise((r) => setImmediate(r));
  }
  return Promise.all(hashes.map((h) => h.digest()));
}

const sizes = (n: number, max: number) => Array.from({ length: n }, (_, i) => i === 0 ? 0 : Math.floor(Math.random() * max));

for (const impl of ['pool', 'node'] as const) {
  t.test(`${impl}: digests equal node:crypto's for any chunking and number of bodies`, async (t) => {
    const was = process.env.RINGSTACK_PROXY_MD5;
    if (impl === 'node') process.env.RINGSTACK_PROXY_MD5 = 'node';
    t.teardown(() => {
      if (was === undefined) delete process.env.RINGSTACK_PROXY_MD5;
      else process.env.RINGSTACK_PROXY_MD5 = was;
    });
    for (const [count, maxSize, maxChunk] of [[1, 200_000, 100], [3, 3_000_000, 70_000], [16, 2_000_000, 65_536], [40, 1_500_000, 300_000], [7, 1_000, 63]]) {
      const bodies = sizes(count!, maxSize!).map((n) => randomBytes(n));
      const got = await hashInterleaved(bodies, maxChunk!);
      t.same(got, bodies.map(md5), `${count} bodies up to ${maxSize} bytes in chunks up to ${maxChunk}`);
    }
  });
}

t.test('the addon that hashes bodies was built', async (t) => {
  t.ok(pooledMd5Available, 'md5New is there (npm ci builds native/page-cache)');
});

t.test('pool: a large backlog makes update ask the caller to wait', { skip: !pooledMd5Available }, async (t) => {
  const h = bodyMd5();
  const body = randomBytes(MAX_UNHASHED_BYTES * 3);
  const wait = h.update(body);
  t.ok(wait instanceof Promise, 'more than MAX_UNHASHED_BYTES waiting: a promise');
  await wait;
  t.equal(h.update(Buffer.alloc(0)), undefined, 'once hashed, nothing to wait for');
  t.equal(await h.digest(), md5(body));
});

t.test('pool: a digested or discarded body takes no more bytes', { skip: !pooledMd5Available }, async (t) => {
  const h = bodyMd5();
  h.update(Buffer.from('abc'));
  t.equal(await h.digest(), md5(Buffer.from('abc')));
  t.throws(() => h.update(Buffer.from('d')), /digested or discarded/);
  await t.rejects(h.digest(), /digested or discarded/);

  const d = bodyMd5();
  d.update(randomBytes(3 * 1024 * 1024));
  d.discard();
  t.throws(() => d.update(Buffer.from('x')), /digested or discarded/);
  // Other bodies hashed meanwhile are not disturbed.
  const other = randomBytes(1_000_000);
  t.equal((await hashInterleaved([other], 50_000))[0], md5(other));
});

t.test('pool: the addon refuses a digest while bytes are being hashed, and bad arguments', { skip: !pooledMd5Available }, async (t) => {
  const addon = nativeAddon<{
    md5New(): object; md5Update(s: unknown, b: unknown): number; md5Digest(s: unknown): Buffer;
    md5Flush(s: unknown, cb: unknown): boolean;
  }>('md5New')!;
  const s = addon.md5New();
  const body = randomBytes(2 * 1024 * 1024);
  t.equal(addon.md5Update(s, body), body.length, 'all of it not hashed yet');
  t.throws(() => addon.md5Digest(s), /still being hashed/);
  await new Promise<void>((r) => { if (!addon.md5Flush(s, r)) r(); });
  t.equal(addon.md5Digest(s).toString('hex'), md5(body));
  t.throws(() => addon.md5Update({}, body), TypeError);
  t.throws(() => addon.md5Update(addon.md5New(), 'text'), TypeError);
  t.throws(() => addon.md5Flush(addon.md5New(), 1), TypeError);
});

/**
 * Hashes bodies of many lengths in a fresh process, nine at a time in one flush so the pool job
 * takes them in lanes, and reports the lane kind and whether every digest matched node:crypto's.
 */
const LANES_CHILD = `
const addon = require('@ringstack/page-cache');
const { createHash, randomBytes } = require('node:crypto');
const bodies = [0, 1, 55, 56, 63, 64, 65, 1000, 65536 * 3 + 7, 2_000_000, 1_500_001].map((n) => randomBytes(n));
(async () => {
  let same = 0;
  for (let i = 0; i < bodies.length; i += 9) {
    const group = bodies.slice(i, i + 9);
    const streams = group.map((b) => { const s = addon.md5New(); addon.md5Update(s, b); return s; });
    await Promise.all(streams.map((s) => new Promise((r) => { if (!addon.md5Flush(s, r)) r(); })));
    group.forEach((b, j) => { same += addon.md5Digest(streams[j]).toString('hex') === createHash('md5').update(b).digest('hex'); });
  }
  process.stdout.write(JSON.stringify({ kind: addon.md5LanesKind, same, of: bodies.length }));
})();
`;

t.test('pool: every lane function the CPU has gives node:crypto\'s digests', { skip: !pooledMd5Available }, async (t) => {
  const order = ['none', 'avx2', 'avx512f'];
  const best = order.indexOf(md5LanesKind);
  t.not(best, -1, `the addon names its lanes (${md5LanesKind})`);
  for (const cap of ['off', 'avx2', 'avx512f']) {
    const out = execFileSync(process.execPath, ['-e', LANES_CHILD], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, RINGSTACK_MD5_LANES: cap, NODE_OPTIONS: '' },
    }).toString();
    const r = JSON.parse(out) as { kind: string; same: number; of: number };
    const expected = order[Math.min(best, Math.max(0, order.indexOf(cap)))];
    t.equal(r.kind, expected, `RINGSTACK_MD5_LANES=${cap}: the best the CPU has, at most ${cap}`);
    t.equal(r.same, r.of, `RINGSTACK_MD5_LANES=${cap} (${r.kind}): every digest right`);
  }
});

t.test('an unknown RINGSTACK_MD5_LANES is refused with its name', async (t) => {
  // The built module (npm test builds dist first): a fresh process reads the setting at load.
  const dist = new URL('../../dist/objectstore/common/body-md5.js', import.meta.url).href;
  let message = '';
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(dist)})`], {
      env: { ...process.env, RINGSTACK_MD5_LANES: 'sse9', NODE_OPTIONS: '' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    message = String((e as { stderr?: Buffer }).stderr);
  }
  t.match(message, /RINGSTACK_MD5_LANES must be one of avx512f, avx2, off \(got 'sse9'\)/);
});
