import t from 'tap';
import { GroupedWrites, type Op } from './grouped-writes.js';

/** A batch writer whose batches finish when the test says, recording what each held. */
function slowDb() {
  const batches: string[][] = [];
  const finish: Array<(e?: Error) => void> = [];
  const batch = (ops: Op[]) => new Promise<void>((res, rej) => {
    batches.push(ops.map((o) => `${o.type} ${o.key}`));
    finish.push((e) => (e ? rej(e) : res()));
  });
  return { batches, finish, batch };
}
const put = (key: string): Op => ({ type: 'put', key, value: 1 });
const tick = () => new Promise((r) => setImmediate(r));

t.test('writes that arrive while a batch is written go together in the next', async (t) => {
  const db = slowDb();
  const g = new GroupedWrites(db.batch);
  const first = g.write([put('a')]);
  const later = [g.write([put('b')]), g.write([put('c'), put('d')])];
  await tick();
  t.same(db.batches, [['put a']], 'the first starts alone, at once');
  db.finish[0]!();
  await first;
  await tick();
  t.same(db.batches[1], ['put b', 'put c', 'put d'], 'the two waiting writes in one batch');
  db.finish[1]!();
  await Promise.all(later);
});

t.test('late writes ride with the next batch, or go alone after lateMs', async (t) => {
  const db = slowDb();
  const g = new GroupedWrites(db.batch, 30);
  const late = g.writeLater([{ type: 'del', key: 'x' }]);
  await tick();
  t.same(db.batches, [], 'not written at once');
  const now = g.write([put('y')]);
  await tick();
  t.same(db.batches, [['del x', 'put y']], 'carried by the next write');
  db.finish[0]!();
  await Promise.all([late, now]);
  const alone = g.writeLater([{ type: 'del', key: 'z' }]);
  await new Promise((r) => setTimeout(r, 60));
  t.same(db.batches[1], ['del z'], 'written on its own after lateMs');
  db.finish[1]!();
  await alone;
});

t.test('a failed batch fails its writers only; flush writes what waits', async (t) => {
  const db = slowDb();
  const g = new GroupedWrites(db.batch, 10_000);
  const failing = g.write([put('a')]);
  db.finish[0]!(new Error('disk on fire'));
  await t.rejects(failing, /disk on fire/);
  const late = g.writeLater([{ type: 'del', key: 'b' }]);
  const flushed = g.flush();
  await tick();
  t.same(db.batches[1], ['del b'], 'flush did not wait for lateMs');
  db.finish[1]!();
  await Promise.all([late, flushed]);
  await t.resolves(g.flush(), 'nothing left: resolves at once');
});

t.test('flush waits for the batch in flight and for what waits behind it', async (t) => {
  const db = slowDb();
  const g = new GroupedWrites(db.batch, 10_000);
  const inFlight = g.write([put('a')]);
  await tick();
  let flushed = false;
  const flushing = g.flush().then(() => { flushed = true; });
  await tick();
  t.notOk(flushed, 'not done while the batch in flight is unwritten');
  const late = g.writeLater([{ type: 'del', key: 'b' }]);
  db.finish[0]!();
  await inFlight;
  await tick();
  t.same(db.batches[1], ['del b'], 'what waited goes right after, without lateMs');
  t.notOk(flushed, 'and flush waits for it too');
  db.finish[1]!();
  await Promise.all([late, flushing]);
  t.ok(flushed);
});
