/** Container listing rows: newest timestamp wins, counts and bytes, and group commit of concurrent rows. */
import t from 'tap';
import { tempLevelDb, testRow as row, testTs as ts } from './testing.js';
import { ContainerDb } from './container-db.js';

const ROWS = 40;

t.test('concurrent rows of one container share synced batches', async (t) => {
  const db = await tempLevelDb(t, 'ringstack-cdb-');
  const cdb = new ContainerDb(db, true);
  t.equal(await cdb.applyRow('a', 'c', 'x', row(1, 1)), 'no-container', 'no container, no row');
  await cdb.put('a', 'c', ts(0));

  let syncedBatches = 0;
  const batch = db.batch.bind(db) as (...args: any[]) => Promise<void>;
  (db as any).batch = (ops: any, opts: any) => {
    if (opts?.sync) syncedBatches++;
    return batch(ops, opts);
  };
  const results = await Promise.all(Array.from({ length: ROWS }, (_, i) => cdb.applyRow('a', 'c', `o${i}`, row(10 + i, 100))));
  t.same(new Set(results), new Set(['applied']), 'every row applied');
  t.ok(syncedBatches < ROWS / 4, `${ROWS} concurrent rows written in ${syncedBatches} synced batches`);
  let rec = await cdb.get('a', 'c');
  t.equal(rec?.objectCount, ROWS);
  t.equal(rec?.bytesUsed, ROWS * 100);

  // Several versions of one name in one group: the newest wins whatever the arrival order.
  const same = await Promise.all([
    cdb.applyRow('a', 'c', 'o0', row(200, 7)),
    cdb.applyRow('a', 'c', 'o0', row(300, 9)),
    cdb.applyRow('a', 'c', 'o0', row(250, 8)),
    cdb.applyRow('a', 'c', 'o1', row(5, 1)),
    cdb.applyRow('a', 'c', 'o2', row(400, 0, true)),
  ]);
  t.same(same, ['applied', 'applied', 'older', 'older', 'applied']);
  rec = await cdb.get('a', 'c');
  t.equal(rec?.objectCount, ROWS - 1, 'o2 deleted');
  t.equal(rec?.bytesUsed, (ROWS - 2) * 100 + 9, 'o0 is 9 bytes now, o2 gone');
  const page = await cdb.list('a', 'c', { prefix: 'o0' });
  t.same(page.entries.map((e) => 'name' in e ? [e.name, e.bytes] : []), [['o0', 9]]);

  // A group after a container DELETE sees no container.
  for (let i = 0; i < ROWS; i++) await cdb.applyRow('a', 'c', `o${i}`, row(1000 + i, 0, true));
  t.equal((await cdb.get('a', 'c'))?.objectCount, 0);
  t.equal(await cdb.delete('a', 'c', ts(5000)), 'deleted');
  t.same(await Promise.all([cdb.applyRow('a', 'c', 'n', row(6000, 1)), cdb.applyRow('a', 'c', 'm', row(6001, 1))]),
    ['no-container', 'no-container']);
});

t.test('a change while the rollup sends keeps the container dirty, even when statsTs does not move', async (t) => {
  const db = await tempLevelDb(t, 'ringstack-cdb-');
  const cdb = new ContainerDb(db, true);
  await cdb.put('a', 'c', ts(0));
  await cdb.applyRow('a', 'c', 'x', row(10, 5));
  await cdb.applyRow('a', 'c', 'y', row(20, 7));
  // Deletes arrive out of order (concurrent deletes): y's (ts 31) first, then x's (ts 30).
  await cdb.applyRow('a', 'c', 'y', row(31, 0, true));
  const [seen] = await cdb.dirty();
  t.equal((await cdb.get('a', 'c'))?.objectCount, 1, 'the rollup reads count 1 and sends it');
  await cdb.applyRow('a', 'c', 'x', row(30, 0, true));
  const rec = await cdb.get('a', 'c');
  t.equal(rec?.objectCount, 0);
  t.equal(rec?.statsTs, ts(31), 'the older delete does not move statsTs');
  await cdb.clean('a', 'c', seen!.mark);
  t.same((await cdb.dirty()).map((d) => d.container), ['c'], 'still dirty: count 0 has not been sent');
  const [again] = await cdb.dirty();
  await cdb.clean('a', 'c', again!.mark);
  t.same(await cdb.dirty(), [], 'clean once the newest mark was sent');
});
