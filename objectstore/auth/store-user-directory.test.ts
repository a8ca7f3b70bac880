import t from 'tap';
import { MemoryBackend } from '../proxy/memory-backend.js';
import { StoreUserDirectory, SYSTEM_ACCOUNT, USERS_CONTAINER, isUserAdmin, newSecretKey } from './store-user-directory.js';
import { StaticUserDirectory } from './users.js';
import { BadRequest, Conflict, NotFound } from '../common/errors.js';

const ROOT = { accessKey: 'ROOT', secretKey: 'root-secret', account: 'admin' };

t.test('users live in the system account, one object per key', async (t) => {
  const backend = new MemoryBackend();
  const dir = new StoreUserDirectory(backend, { staticUsers: [ROOT] });
  t.ok(isUserAdmin(dir));
  t.same(await dir.lookup('ROOT'), { ...ROOT, admin: true }, 'static users are admins');
  const alice = await dir.add('alice');
  t.match(alice, { account: 'alice', accessKey: /^RS[0-9A-F]{20}$/, secretKey: /^[\w-]{40}$/ });
  t.match(await dir.lookup(alice.accessKey), alice);
  const stored = await backend.headObject(SYSTEM_ACCOUNT, USERS_CONTAINER, `${alice.accessKey}.json`);
  t.equal(stored.contentType, 'application/json');
  const named = await dir.add('bob', 'bob-key');
  t.equal(named.accessKey, 'bob-key');
  await t.rejects(dir.add('bob', 'bob-key'), Conflict);
  await t.rejects(dir.add('carol', 'ROOT'), Conflict, 'a root key cannot be taken');
  await t.rejects(dir.add('.system'), BadRequest);
  await t.rejects(dir.add('bad/name'), BadRequest);
  const list = await dir.list();
  t.same(list.map((u) => [u.accessKey, u.account, !!u.static]).sort(), [['ROOT', 'admin', true], [alice.accessKey, 'alice', false], ['bob-key', 'bob', false]].sort());
  const rotated = await dir.rotateKey('bob-key');
  t.not(rotated.secretKey, named.secretKey);
  t.equal((await dir.lookup('bob-key'))?.secretKey, rotated.secretKey, 'the writer sees its change at once');
  await t.rejects(dir.rotateKey('ROOT'), BadRequest);
  await t.rejects(dir.remove('nobody'), NotFound);
  await dir.remove('bob-key');
  t.equal(await dir.lookup('bob-key'), undefined);
  t.equal(await dir.lookup('not a key!'), undefined);
});

t.test('another proxy sees a change once its cache entry expires', async (t) => {
  const backend = new MemoryBackend();
  let clock = 1_000_000;
  const writer = new StoreUserDirectory(backend, { base: new StaticUserDirectory([ROOT]) });
  const reader = new StoreUserDirectory(backend, { base: new StaticUserDirectory([ROOT]), ttlMs: 2000, now: () => clock });
  t.equal((await reader.lookup('ROOT'))?.admin, true, 'users of the base directory are admins');
  const u = await writer.add('alice', 'alice-key');
  t.equal((await reader.lookup('alice-key'))?.secretKey, u.secretKey);
  const r = await writer.rotateKey('alice-key');
  t.equal((await reader.lookup('alice-key'))?.secretKey, u.secretKey, 'cached for the TTL');
  clock += 2001;
  t.equal((await reader.lookup('alice-key'))?.secretKey, r.secretKey, 'fresh after the TTL');
  t.equal(await reader.lookup('ghost'), undefined);
  await writer.add('ghosts', 'ghost');
  t.equal(await reader.lookup('ghost'), undefined, 'misses are cached too');
  clock += 2001;
  t.equal((await reader.lookup('ghost'))?.account, 'ghosts');
  await writer.remove('alice-key');
  clock += 2001;
  t.equal(await reader.lookup('alice-key'), undefined, 'a removed user is gone after the TTL');
});

t.test('a new secret key never starts with "-" (a command line would read it as an option)', async (t) => {
  const keys = Array.from({ length: 2000 }, () => newSecretKey());
  t.notOk(keys.some((k) => k.startsWith('-')), 'none of 2,000 keys (one in 64 did)');
  t.ok(keys.every((k) => /^[A-Za-z0-9_][A-Za-z0-9_-]{39}$/.test(k)), '40 base64url characters');
  t.equal(new Set(keys).size, keys.length, 'all different');
});
