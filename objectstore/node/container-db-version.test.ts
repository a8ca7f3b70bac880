/**
 * What the container replicator relies on in ContainerDb: a change version that moves on every
 * change (and only then), every row readable with tombstones, every container enumerable, and
 * a drop that only happens when nothing changed since the version was read.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ContainerDb, type ObjectRow } from './container-db.js';

const ts = (n: number) => `${String(1_700_000_000 + n).padStart(10, '0')}.00000`;
const row = (n: number, deleted = false): ObjectRow =>
  ({ ts: ts(n), size: n, etag: 'e', contentType: 'text/plain', deleted: deleted || undefined });

t.test('versions, rows, containers and drop', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-cdbv-'));
  const db = new ClassicLevel<string, any>(dir, { valueEncoding: 'json' });
  await db.open();
  t.teardown(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const cdb = new ContainerDb(db, false);
  t.equal(await cdb.version('a', 'c'), '', 'no container, no version');
  await cdb.put('a', 'c', ts(1));
  const v1 = await cdb.version('a', 'c');
  t.not(v1, '', 'creating sets a version');

  t.equal(await cdb.applyRow('a', 'c', 'x', row(2)), 'applied');
  const v2 = await cdb.version('a', 'c');
  t.not(v2, v1, 'a new row changes it');
  t.equal(await cdb.applyRow('a', 'c', 'x', row(2)), 'older');
  t.equal(await cdb.version('a', 'c'), v2, 'a row already known does not');
  t.equal(await cdb.applyRow('a', 'c', 'y', row(3, true)), 'applied');
  const v3 = await cdb.version('a', 'c');
  t.not(v3, v2, 'a tombstone changes it');
  t.ok(await cdb.post('a', 'c', ts(4), { k: 'v' }));
  const v4 = await cdb.version('a', 'c');
  t.not(v4, v3, 'a metadata change changes it');
  await cdb.put('a', 'c', ts(4));
  t.equal(await cdb.version('a', 'c'), v4, 'a PUT of an existing container without metadata does not');

  const rows = [];
  for await (const r of cdb.rows('a', 'c')) rows.push(r);
  t.same(rows.map((r) => [r.name, !!r.row.deleted]), [['x', false], ['y', true]], 'rows with tombstones, in name order');

  await cdb.put('a', 'c2', ts(5));
  await cdb.put('b', 'c', ts(5));
  const all = [];
  for await (const c of cdb.containers()) all.push(`${c.account}/${c.container}`);
  t.same(all, ['a/c', 'a/c2', 'b/c'], 'every container of the device');

  t.equal(await cdb.dropIfUnchanged('a', 'c', v3), false, 'a stale version does not drop');
  t.ok(await cdb.get('a', 'c'), 'still there');
  t.equal(await cdb.dropIfUnchanged('a', 'c', v4), true, 'the current version drops');
  t.equal(await cdb.get('a', 'c'), undefined, 'record gone');
  t.same((await cdb.list('a', 'c', {})).entries, [], 'rows gone');
  t.equal(await cdb.version('a', 'c'), '', 'version gone');
  t.ok(await cdb.get('a', 'c2'), 'other containers untouched');
});
