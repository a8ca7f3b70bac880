/** Canonical JSON and state keys: the byte-level contract between controller and agents. */
import t from 'tap';
import { canonicalJson, NotCanonicalJsonError } from './canonical-json.js';
import { desiredKey, eventKey, hostDesiredKey, hostInfoKey, hostObservedKey, hostOfKey, InvalidStateKeySegment, CURRENT_DESIRED_KEY, usageKey } from './keys.js';

t.test('canonical JSON sorts keys at every depth and drops undefined members', async (t) => {
  const a = canonicalJson({ b: 1, a: { z: [3, { y: 'x', c: null }], m: undefined }, é: true, Z: 'q' });
  t.equal(a, '{"Z":"q","a":{"z":[3,{"c":null,"y":"x"}]},"b":1,"é":true}');
  t.equal(canonicalJson({ b: 1, a: 2 }), canonicalJson({ a: 2, b: 1 }));
  t.equal(canonicalJson({ a: [1, {}], b: [] }, 2), '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": []\n}');
  t.equal(canonicalJson(new Date(0)), '"1970-01-01T00:00:00.000Z"');
  t.equal(canonicalJson('line\n"q"'), JSON.stringify('line\n"q"'));
  t.same(JSON.parse(canonicalJson({ x: [1.5, -0, 1e21] })), { x: [1.5, 0, 1e21] });
});

t.test('canonical JSON refuses values it cannot write faithfully', async (t) => {
  t.throws(() => canonicalJson({ a: [1, undefined] }), NotCanonicalJsonError);
  t.throws(() => canonicalJson({ a: { b: NaN } }), { message: 'a.b: NaN cannot be written as canonical JSON' });
  t.throws(() => canonicalJson({ f: () => 1 }), NotCanonicalJsonError);
});

t.test('state keys follow the DESIGN.md table', async (t) => {
  t.equal(desiredKey('0123abcd'), 'state/desired/0123abcd.json');
  t.equal(CURRENT_DESIRED_KEY, 'state/desired/current.json');
  t.equal(hostInfoKey('node-1'), 'state/hosts/node-1/info.json');
  t.equal(hostDesiredKey('node-1'), 'state/hosts/node-1/desired.json');
  t.equal(hostObservedKey('node-1'), 'state/hosts/node-1/observed.json');
  t.equal(hostOfKey('state/hosts/node-1/observed.json'), 'node-1');
  t.equal(hostOfKey('state/desired/current.json'), undefined);
  t.equal(eventKey(new Date('2026-01-02T03:04:05.678Z'), 'controller', 7), 'state/events/2026-01-02/2026-01-02T030405.678Z-controller-000007.json');
  t.equal(usageKey('demo', new Date('2026-01-02T03:04:05.678Z')), 'state/usage/demo/2026-01/2026-01-02T030405.678Z.json');
  for (const bad of ['', '../x', 'a/b', '.hidden']) t.throws(() => hostDesiredKey(bad), InvalidStateKeySegment, `host ${JSON.stringify(bad)}`);
});
