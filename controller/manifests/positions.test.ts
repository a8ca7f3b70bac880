/** Positions: look-ups before and after compacting, and shared path lists never written through. */
import t from 'tap';
import { Positions } from './positions.js';

t.test('compacted tables answer as before, share their path lists, and stay writable', async (t) => {
  const a = new Positions().set('', 0).set('metadata.name', 12).set('spec.image', 40).set('metadata.name', 13);
  const b = new Positions().set('', 100).set('metadata.name', 112).set('spec.image', 140).set('metadata.name', 113);
  a.compact();
  b.compact();
  t.same([a.get(''), a.get('metadata.name'), a.get('spec.image'), a.get('spec.flavor')], [0, 13, 40, undefined], 'the last record of a path wins');
  t.same([b.get('metadata.name'), b.has('spec.image'), b.has('spec.flavor')], [113, true, false]);
  t.equal((a as unknown as { paths: unknown }).paths, (b as unknown as { paths: unknown }).paths, 'same shape, one shared path list');
  b.set('spec.flavor', 150);
  t.equal(b.get('spec.flavor'), 150, 'a compacted table can still be written');
  t.equal(a.has('spec.flavor'), false, 'without touching the table it shared its paths with');
  t.equal(b.get('spec.image'), 140);
});
