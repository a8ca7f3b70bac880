/**
 * The proxy's body MD5 (body-md5.ts): hashed in the addon's pool jobs, many bodies together,
 * it gives node:crypto's digest for any chunking and any number of concurrent bodies (more
 * than the sixteen lanes, fewer than the four that make lanes worth it); it asks the caller to
 * wait when too many bytes are not hashed yet; a digested or discarded body takes no more bytes.
 * The node:crypto fallback (RINGSTACK_PROXY_MD5=node) gives the same digests.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { bodyMd5, pooledMd5Available, MAX_UNHASHED_BYTES, type BodyMd5 } from './body-md5.js';
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
