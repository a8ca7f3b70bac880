/**
 * The plain-subset parser against the `yaml` package: on a corpus of real manifests and on
 * thousands of mutations of it, whenever the fast parser accepts a text the full parser must
 * accept it too and build the same tree (node kinds, scalar values and types, start offsets)
 * and the same line table. And validation gives the same results either way.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { generateRepo } from '../../bench/controller/generate.js';
import { parsePlainYaml } from './plain-yaml.js';
import { BASE, check, instance } from './test-fixtures.js';

/** Mutations per corpus text; PLAIN_YAML_MUTATIONS and PLAIN_YAML_SEED run a longer search by hand. */
const MUTATIONS_PER_TEXT = Number(process.env.PLAIN_YAML_MUTATIONS ?? 120);
const INSERTS = [' ', '  ', '\n', ':', ': ', '- ', '-', '#', ' #c', '"', "'", '[', ']', '{', '}', ',', ', ', '|', '|-', '|+', '>',
  '&a ', '*a', '!t ', '---\n', '...\n', '%YAML 1.2\n', 'x', '1', '.5', '1e3', '0x1f', '~', 'null', 'True', '\t', '\r', '\\', '\\u0041',
  '? ', '<<', '@', '`', '\u0085', '\ufeff', 'é', '\n\n', '\n  ', '\n- ', ' -1', '- -'];

function shape(n: unknown): unknown {
  if (n === null || n === undefined) return null;
  if (isMap(n)) return { map: n.range?.[0], items: n.items.map((p) => (isPair(p) ? [shape(p.key), shape(p.value)] : 'not a pair')) };
  if (isSeq(n)) return { seq: n.range?.[0], items: n.items.map(shape) };
  if (isScalar(n)) return { at: n.range?.[0], type: typeof n.value, value: Object.is(n.value, -0) ? '-0' : n.value };
  if (isAlias(n)) return 'alias';
  return 'unknown node';
}

function full(text: string) {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2', strict: true });
  const list = Array.isArray(docs) ? docs : [];
  return {
    ok: list.every((d) => d.errors.length === 0 && d.warnings.length === 0),
    // An empty document is a null scalar for the yaml package and null for the fast parser.
    docs: list.map((d) => (isScalar(d.contents) && d.contents.value === null ? null : shape(d.contents))),
    lineStarts: lineCounter.lineStarts,
  };
}

/** Compares both parsers on `text`; returns whether the fast parser accepted it. */
function same(tt: Test, text: string, label: string): boolean {
  const fast = parsePlainYaml(text);
  if (!fast) return false;
  const f = full(text);
  if (!f.ok || JSON.stringify(fast.docs.map(shape)) !== JSON.stringify(f.docs) || JSON.stringify(fast.lineStarts) !== JSON.stringify(f.lineStarts)) {
    tt.fail(`${label}: fast and full parsers differ on ${JSON.stringify(text)}`, {
      fullOk: f.ok, fast: fast.docs.map(shape), full: f.docs, fastLines: fast.lineStarts, fullLines: f.lineStarts,
    });
  }
  return true;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(readFileSync(p, 'utf8'));
  }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, rand: () => number): string {
  const at = Math.floor(rand() * (text.length + 1));
  const kind = rand();
  if (kind < 0.25) return text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 3));
  if (kind < 0.8) return text.slice(0, at) + INSERTS[Math.floor(rand() * INSERTS.length)] + text.slice(at);
  const lines = text.split('\n');
  const i = Math.floor(rand() * lines.length);
  if (kind < 0.9) lines.splice(i, 0, lines[i]!); // duplicate a line
  else lines[i] = rand() < 0.5 ? ` ${lines[i]}` : lines[i]!.replace(/^ {1,2}/, ''); // shift a line
  return lines.join('\n');
}

const EDGE_CASES = [
  '', '\n', '# only a comment\n', '# c\n---\n---\n', 'a: 1\n---\n', '---\na: 1\n', '--- # c\na: 1\n---\nb: 2\n',
  'a:\n- x\n- y\nb: 2\n', 'a:\n  - x\n  - y: 1\n    z: [1, 2]\n', 'k: |\n  line one\n\n  line three\n\n\nn: 1\n', 'k: |-\n  a\n   b\n',
  'k: |\n  #cloud-config\n  x: y\n# trailing\n', 'a: "q \\" \\\\ \\n \\t \\/ x"\nb: \'it\'\'s\'\n', 'a: {b: c, "d": \'e\', f: [g, {h: i}]}\n',
  'a: []\nb: {}\nc: [ a , b ]\n', 'a: ~\nb: null\nc: True\nd: FALSE\ne: 007\nf: -0\ng: +5\nh: 12345678901234567890\n',
  'a: 1.2.3\nb: .hidden\nc: 10.0.0.0/24\nd: a#b\ne: x # comment\nf: "#"\n', 'a b: c\n"q k": v\n\'s\': w\n7: seven\n',
  'a: b[0]\nc: d]\ne: f, g\n', 'a  : b\n', 'a:\n  b:\n    c:\n      - d\n', '- a\n- b\n', 'a: 1\n  # indented comment\nb: 2\n',
  'a:\n  - b: 1\n  - c: |\n      x\n', 'a:\n  - b:\n    - c\n', 'a: http://x:80/y\n', 'a: [http://x:80/y]\n', 'a: {b: http://x}\n',
  'a: b:c\n', 'key: value   \n', 'a:   # c\n  b: 1\n', 'k: | # header comment\n  text\n', 'k: |\n  a\n  \n  b\n',
];

t.test('accepted texts parse exactly as the yaml package parses them', async (t) => {
  const corpus = [...EDGE_CASES, ...Object.values(BASE), instance('web'), instance('x', '  flavor: small\n  networks: [{network: net, ip: 10.0.0.5}]\n  placement: {zone: a}\n'),
    ...yamlFiles(join(import.meta.dirname, 'fixtures')), ...yamlFiles(join(import.meta.dirname, '..', '..', 'examples'))];
  const dir = await mkdtemp(join(tmpdir(), 'plain-yaml-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await generateRepo(dir, { instances: 30, networks: 2, volumes: 10, hosts: 2 });
  const generated = yamlFiles(dir);
  corpus.push(...generated.slice(0, 40));
  for (const text of generated) t.ok(parsePlainYaml(text), 'every generated bench file is in the fast subset');

  let accepted = 0;
  corpus.forEach((text, i) => { if (same(t, text, `corpus ${i}`)) accepted++; });
  t.ok(accepted >= corpus.length * 0.6, `most of the corpus takes the fast path (${accepted} of ${corpus.length})`);

  const rand = rng(Number(process.env.PLAIN_YAML_SEED ?? 7));
  let tried = 0;
  let fast = 0;
  for (const [i, text] of corpus.entries()) {
    let m = text;
    for (let k = 0; k < MUTATIONS_PER_TEXT; k++) {
      m = k % 4 === 0 ? mutate(text, rand) : mutate(m, rand);
      tried++;
      if (same(t, m, `corpus ${i} mutation ${k}`)) fast++;
    }
  }
  t.ok(fast > tried / 5, `mutations exercise the fast path (${fast} of ${tried})`);
});

t.test('outside the subset: the full parser is used', async (t) => {
  for (const text of ['a: &x 1\nb: *x\n', 'a: !!str 5\n', '%YAML 1.2\n---\na: 1\n', 'a: >\n  folded\n', 'a: |2\n   x\n', 'a: |+\n  x\n\n',
    'a: 1.5\n', 'a: 0x10\n', 'a: "\\u0041"\n', 'a:\n', 'a: 1\na: 2\n', 'a:\tb\n', 'a: 1\r\n', 'a: 1', 'a: [1,\n  2]\n', 'a: "x\n  y"\n',
    'a: b\n  c\n', '- a\n', '  a: 1\n', 'a: 1\n...\n', '? a\n: b\n', '<<: {a: 1}\n', 'a: [b, ]\n', 'a: {b: }\n']) {
    t.equal(parsePlainYaml(text), undefined, JSON.stringify(text));
  }
});

t.test('a file with very many lines keeps exact positions', async (t) => {
  const text = `${'\n'.repeat(300_000)}${instance('far', '  flavor: small\n  colour: red\n')}`;
  t.ok(parsePlainYaml(text));
  const r = await check({ 'far.yaml': text });
  t.same(r.lines, ['far.yaml:300009:3 spec.colour: unknown field (known fields: image, flavor, vcpus, memoryMiB, diskGiB, powerState, networks, volumes, userData, sshAuthorizedKeys, placement)']);
});

t.test('validation errors are the same whichever parser reads the file', async (t) => {
  // Each pair: a file the fast parser reads, and the same content in a form only the full parser reads.
  const fast = instance('a', '  flavor: small\n  colour: red\n  networks: [{network: nope}]\n  vcpus: "2"\n');
  const slow = `${fast}x: &anchor 1\n`.replace('x: &anchor 1\n', '').replace('colour: red', 'colour: !!str red');
  t.ok(parsePlainYaml(fast));
  t.equal(parsePlainYaml(slow), undefined);
  const a = await check({ 'a.yaml': fast });
  const b = await check({ 'a.yaml': slow });
  t.same(a.lines, b.lines);
  t.same(a.lines, [
    'a.yaml:9:3 spec.colour: unknown field (known fields: image, flavor, vcpus, memoryMiB, diskGiB, powerState, networks, volumes, userData, sshAuthorizedKeys, placement)',
    'a.yaml:11:10 spec.vcpus: must be a whole number, got string "2"',
  ]);

  const aliased = await check({ 'al.yaml': instance('al', '  flavor: &f small\n  userData: *f\n') });
  t.match(aliased.lines.join('\n'), /aliases \(\*name\) are not supported/, 'aliases still reach the schema walk through the full parser');
  const broken = await check({ 'bad.yaml': 'a: [1\nb: c: d\n' });
  t.same(broken.lines, [
    'bad.yaml:2:1 YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    'bad.yaml:2:4 YAML: Nested mappings are not allowed in compact mappings',
  ]);
});
