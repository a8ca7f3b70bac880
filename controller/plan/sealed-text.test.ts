/** sealText gives exactly the canonical JSON of the object with hash and revision added. */
import t from 'tap';
import { canonicalEntries, canonicalJson } from '../../agents/contract/canonical-json.js';
import { contentHash } from './identity.js';
import { sealPieces, sealText } from './sealed-text.js';

t.test('stamped text equals canonical JSON of the stamped object, wherever hash and revision sort', async (t) => {
  const objects: Array<Record<string, unknown>> = [
    {}, { a: 1 }, { z: 'x' }, { i: [1, { b: 2 }] }, { a: 1, z: 2 }, { a: 1, k: 'mid', z: 2 }, { a: 1, q: null, z: { y: 'é"' } },
    { hb: 1 }, { ha: 1, revisiom: 2, revisioo: 3 }, { id: 'p/x', labels: {}, name: 'x' },
  ];
  for (const o of objects) {
    const s = sealText(canonicalEntries(o), (hash) => `rev-of-${hash.slice(0, 4)}`);
    const content = canonicalJson(o);
    t.equal(s.hash, contentHash(content), `hash of ${content}`);
    t.equal(s.revision, `rev-of-${s.hash.slice(0, 4)}`);
    t.equal(s.text, canonicalJson({ ...o, hash: s.hash, revision: s.revision }), `text of ${content}`);
  }
});

t.test('sealPieces gives what sealText gives for the same members, from pieces of their texts', async (t) => {
  const objects: Array<Record<string, unknown>> = [
    {}, { a: 1 }, { zone: 'a', host: 'h1', instances: { 'p/b': { x: 1 }, 'p/a': { y: [2] } }, volumes: {}, kind: 'HostDesiredState' },
    { ha: { k: 'é"' }, revisiom: 2, revisioo: { a: {}, b: { c: null } } },
  ];
  for (const o of objects) {
    const whole = sealText(canonicalEntries(o), (hash) => `rev-of-${hash.slice(0, 4)}`);
    const entries = canonicalEntries(o).map(([k, text]): [string, string[]] => [k, [text.slice(0, 1), text.slice(1, 3), text.slice(3)]]);
    const pieces = sealPieces(entries, (hash) => `rev-of-${hash.slice(0, 4)}`);
    t.same(pieces, whole, `same hash, revision and text for ${canonicalJson(o)}`);
  }
});
