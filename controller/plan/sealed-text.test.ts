/** sealText gives exactly the canonical JSON of the object with hash and revision added. */
import t from 'tap';
import { canonicalEntries, canonicalJson } from '../../agents/contract/canonical-json.js';
import { contentHash } from './identity.js';
import { sealText } from './sealed-text.js';

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
