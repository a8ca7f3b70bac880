import t from 'tap';
import { uniqueIds } from './unique-ids.js';

t.test('ids have the asked length, are hex and never repeat', async (t) => {
  const next = uniqueIds(21);
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) seen.add(next());
  t.equal(seen.size, 10_000);
  for (const id of [...seen].slice(0, 50)) t.match(id, /^[0-9a-f]{21}$/);
});

t.test('two generators (two processes) do not share ids', async (t) => {
  const a = uniqueIds();
  const b = uniqueIds();
  const fromA = new Set(Array.from({ length: 1000 }, a));
  t.notOk(Array.from({ length: 1000 }, b).some((id) => fromA.has(id)));
});

t.test('too short a length is refused', async (t) => {
  t.throws(() => uniqueIds(8), /at least 16/);
});
