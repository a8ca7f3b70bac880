/**
 * Checks one YAML node against a schema `Field` and returns the plain JavaScript value,
 * reporting each problem once with the offset of the offending node: type errors at the
 * value, unknown fields at their key, missing required fields at the key of their parent.
 * Offsets of every visited value are recorded in `pos` for the later cross-document checks.
 * Aliases are refused (no alias expansion, hence no "billion laughs").
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import type { Field } from './schema.js';
import type { PositionMap } from './types.js';

/** Receives each problem: field path, source offset, message. */
/** Receives each problem; `fatal` is false for problems that leave the value usable (unknown fields). */
export type Report = (field: string, offset: number, message: string, fatal?: boolean) => void;

export interface WalkContext {
  report: Report;
  /** Offset of each visited value by path; `^path` keys hold the offset of the field's key. */
  pos: PositionMap;
}

/**
 * Interned field paths: every document of a kind visits the same paths, so sharing one string
 * per path keeps the position maps of 10,000s of manifests small and avoids garbage.
 */
const interned = new Map<string, Map<string | number, { path: string; key: string }>>();
const MAX_INTERNED_PARENTS = 50_000;

function child(parent: string, key: string | number): { path: string; key: string } {
  let m = interned.get(parent);
  if (m === undefined) {
    m = new Map();
    if (interned.size < MAX_INTERNED_PARENTS) interned.set(parent, m);
  }
  let c = m.get(key);
  if (c === undefined) {
    const path = typeof key === 'number' ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;
    c = { path, key: `^${path}` };
    m.set(key, c);
  }
  return c;
}

/** The members of each object schema, listed once (walk visits the same schemas 100,000s of times). */
const fieldLists = new WeakMap<Record<string, Field>, Array<[string, Field]>>();

function fieldList(fields: Record<string, Field>): Array<[string, Field]> {
  let list = fieldLists.get(fields);
  if (list === undefined) { list = Object.entries(fields); fieldLists.set(fields, list); }
  return list;
}

/** `a.b`, `a[0]`: the path of a child. */
export function childPath(parent: string, key: string | number): string {
  return child(parent, key).path;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `number ${value}`;
  if (typeof value === 'boolean') return `boolean ${value}`;
  return typeof value;
}

function nodeKind(node: YamlNode | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describe(node.value);
  return 'an unsupported node';
}

const EXPECT: Record<Field['t'], string> = {
  string: 'a string', int: 'a whole number', bool: 'true or false', object: 'a mapping', array: 'a list', map: 'a mapping',
};

/** Levenshtein distance, for "did you mean" hints on unknown fields (short strings only). */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

function suggestion(key: string, known: string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) { bestD = d; best = k; }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3))) return `; did you mean "${best}"?`;
  return known.length ? ` (known fields: ${known.join(', ')})` : '';
}

/**
 * Validates `node` against `field`. `path` is the node's field path, `keyOffset` the offset
 * of the key that holds it (or of the node itself at the root). Returns the value, or
 * undefined when the node is invalid (problems already reported).
 */
export function walk(node: YamlNode | null | undefined, field: Field, path: string, keyOffset: number, ctx: WalkContext): unknown {
  const offset = node?.range?.[0] ?? keyOffset;
  ctx.pos.set(path, offset);
  if (node && isAlias(node)) {
    ctx.report(path, offset, 'aliases (*name) are not supported; write the value out');
    return undefined;
  }
  switch (field.t) {
    case 'string': {
      if (!isScalar(node) || typeof node.value !== 'string') {
        const hint = isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean') ? ' (quote it)' : '';
        ctx.report(path, offset, `must be ${EXPECT.string}, got ${nodeKind(node)}${hint}`);
        return undefined;
      }
      const v = node.value;
      if (field.enum && !field.enum.includes(v)) {
        ctx.report(path, offset, field.enum.length === 1
          ? `must be "${field.enum[0]}", got "${v}"`
          : `must be one of ${field.enum.map((e) => `"${e}"`).join(', ')}, got "${v}"`);
        return undefined;
      }
      if (field.maxLength !== undefined && v.length > field.maxLength) {
        ctx.report(path, offset, `is ${v.length} characters, over the limit of ${field.maxLength}`);
        return undefined;
      }
      const why = field.check?.(v);
      if (why) { ctx.report(path, offset, `${JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v)} ${why}`); return undefined; }
      return v;
    }
    case 'int': {
      const v = isScalar(node) ? node.value : undefined;
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        ctx.report(path, offset, `must be ${EXPECT.int}, got ${nodeKind(node)}`);
        return undefined;
      }
      if (field.min !== undefined && v < field.min) { ctx.report(path, offset, `must be at least ${field.min}, got ${v}`); return undefined; }
      if (field.max !== undefined && v > field.max) { ctx.report(path, offset, `must be at most ${field.max}, got ${v}`); return undefined; }
      return v;
    }
    case 'bool': {
      if (!isScalar(node) || typeof node.value !== 'boolean') {
        ctx.report(path, offset, `must be ${EXPECT.bool}, got ${nodeKind(node)}`);
        return undefined;
      }
      return node.value;
    }
    case 'array': {
      if (!isSeq(node)) { ctx.report(path, offset, `must be ${EXPECT.array}, got ${nodeKind(node)}`); return undefined; }
      if (field.maxItems !== undefined && node.items.length > field.maxItems) {
        ctx.report(path, offset, `has ${node.items.length} items, over the limit of ${field.maxItems}`);
        return undefined;
      }
      const out: unknown[] = [];
      let ok = true;
      const seen = field.unique ? new Set<unknown>() : undefined;
      node.items.forEach((item, i) => {
        const p = childPath(path, i);
        const v = walk(item as YamlNode, field.items, p, (item as YamlNode | null)?.range?.[0] ?? offset, ctx);
        if (v === undefined) { ok = false; return; }
        if (seen) {
          if (seen.has(v)) { ctx.report(p, ctx.pos.get(p)!, `${JSON.stringify(v)} is listed twice`); ok = false; return; }
          seen.add(v);
        }
        out.push(v);
      });
      return ok ? out : undefined;
    }
    case 'object':
    case 'map': {
      if (!isMap(node)) { ctx.report(path, offset, `must be ${EXPECT[field.t]}, got ${nodeKind(node)}`); return undefined; }
      const out: Record<string, unknown> = {};
      /** Keys written in this mapping (whatever became of their values). */
      const present: string[] = [];
      let ok = true;
      if (field.t === 'map' && field.maxEntries !== undefined && node.items.length > field.maxEntries) {
        ctx.report(path, offset, `has ${node.items.length} entries, over the limit of ${field.maxEntries}`);
        return undefined;
      }
      // Indexed loops: array iterators here are garbage for every mapping of every manifest.
      for (let n = 0; n < node.items.length; n++) {
        const pair = node.items[n];
        if (!isPair(pair)) continue;
        const keyNode = pair.key as YamlNode | null;
        const kOffset = keyNode?.range?.[0] ?? offset;
        if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
          ctx.report(path, kOffset, `keys must be strings, got ${nodeKind(keyNode)}`);
          ok = false;
          continue;
        }
        const key = keyNode.value;
        const c = child(path, key);
        const p = c.path;
        ctx.pos.set(c.key, kOffset);
        present.push(key);
        let sub: Field;
        if (field.t === 'map') {
          const why = field.keyCheck?.(key);
          if (why) { ctx.report(p, kOffset, `${JSON.stringify(key)} ${why}`); ok = false; continue; }
          sub = field.values;
        } else {
          const f = Object.hasOwn(field.fields, key) ? field.fields[key] : undefined;
          if (!f) {
            ctx.report(p, kOffset, `unknown field${suggestion(key, Object.keys(field.fields))}`, false);
            continue;
          }
          sub = f;
        }
        const valueNode = pair.value as YamlNode | null;
        // An explicit null on an optional field means "not set", as in Kubernetes.
        if (field.t === 'object' && !sub.required && isScalar(valueNode) && valueNode.value === null) continue;
        const v = walk(valueNode, sub, p, kOffset, ctx);
        if (v === undefined) ok = false;
        else out[key] = v;
      }
      if (field.t === 'object') {
        const list = fieldList(field.fields);
        for (let n = 0; n < list.length; n++) {
          const key = list[n]![0], sub = list[n]![1];
          if (key in out) continue;
          const c = child(path, key);
          const p = c.path;
          if (sub.required) {
            if (!present.includes(key)) {
              ctx.report(p, keyOffset, `missing required field "${key}"`);
              ok = false;
            }
          } else if ('default' in sub && sub.default !== undefined && !present.includes(key)) {
            out[key] = sub.default;
          }
        }
      }
      return ok ? out : undefined;
    }
  }
}
