/** Listings over LevelDB: prefix, delimiter, marker, end_marker, limit, reverse. */
import t from 'tap';
import { tempLevelDb } from './testing.js';
import { listRange, prefixEnd } from './listing.js';
import type { ListOptions } from '../proxy/backend.js';

const NAMES = ['a', 'a/1', 'a/2', 'a/b/1', 'ab', 'b', 'b/x', 'c', 'é', '日本/1', '😀'];

t.test('listRange', async (t) => {
  const db = await tempLevelDb(t, 'ringstack-list-');
  await db.batch([
    ...NAMES.map((n) => ({ type: 'put' as const, key: `O\0x\0${n}`, value: { n } })),
    { type: 'put', key: 'O\0x\0dead', value: { n: 'dead', deleted: true } },
    { type: 'put', key: 'O\0y\0other', value: { n: 'other' } },
  ]);
  const list = async (o: ListOptions) => {
    const p = await listRange<any, string>(db, 'O\0x\0', o, (n, v) => (v.deleted ? undefined : n));
    return { names: p.entries.map((e) => (typeof e === 'string' ? e : `[${e.subdir}]`)), truncated: p.truncated };
  };
  const sorted = [...NAMES].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  t.same((await list({})).names, sorted, 'all, UTF-8 byte order, no deleted rows, no other container');
  t.same((await list({ prefix: 'a/' })).names, ['a/1', 'a/2', 'a/b/1']);
  t.same((await list({ delimiter: '/' })).names, ['a', '[a/]', 'ab', 'b', '[b/]', 'c', 'é', '[日本/]', '😀']);
  t.same((await list({ prefix: 'a/', delimiter: '/' })).names, ['a/1', 'a/2', '[a/b/]']);
  t.same((await list({ marker: 'a/2' })).names, sorted.slice(sorted.indexOf('a/2') + 1));
  t.same((await list({ marker: 'a', endMarker: 'b' })).names, ['a/1', 'a/2', 'a/b/1', 'ab']);
  t.same(await list({ limit: 2 }), { names: ['a', 'a/1'], truncated: true });
  t.same(await list({ limit: 11 }), { names: sorted, truncated: false });
  t.same((await list({ reverse: true })).names, [...sorted].reverse());
  t.same((await list({ reverse: true, delimiter: '/' })).names, ['😀', '[日本/]', 'é', 'c', '[b/]', 'b', 'ab', '[a/]', 'a']);
  t.same((await list({ reverse: true, marker: 'b', endMarker: 'a/2' })).names, ['ab', 'a/b/1']);
  t.same((await list({ delimiter: '/', limit: 2 })), { names: ['a', '[a/]'], truncated: true });
  t.equal(prefixEnd('a/'), 'a0');
});
