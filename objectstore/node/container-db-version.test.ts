/**
 * What the container replicator relies on in ContainerDb: a change version that moves on every
 * change (and only then), every row readable with tombstones, every container enumerable, and
 * a drop that only happens when nothing changed since the version was read.
 */
import t from 'tap';
import { tempLevelDb, testRow, testTs as ts } from './testing.js';
import { ContainerDb } from './container-db.js';

const row = (n: number, deleted = false) => testRow(n, n, deleted);

t.test('versions, rows, containers and drop', async (t) => {
  const db = await tempLevelDb(t, 'ringstack-cdbv-');
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
