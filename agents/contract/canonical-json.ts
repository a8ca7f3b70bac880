/**
 * Canonical JSON: object keys sorted by code unit, no insignificant whitespace (or a fixed
 * indent), so equal values always give byte-identical text. Desired state is written with it:
 * the same commit and hosts must give the same bytes (and the same ETag) on every controller.
 *
 * Differences from JSON.stringify: keys are sorted at every depth, `undefined` in arrays and
 * non-finite numbers are errors instead of being turned into `null`, and `toJSON` is ignored
 * except for Date (serialised as its ISO string).
 */

/** Thrown for values that have no canonical JSON form. */
export class NotCanonicalJsonError extends Error {
  override name = 'NotCanonicalJsonError';
  constructor(readonly path: string, readonly what: string) {
    super(`${path || '<root>'}: ${what} cannot be written as canonical JSON`);
  }
}

/** Objects whose compact canonical text is already known (a Map or a WeakMap). */
export interface KnownText {
  get(o: object): string | undefined;
}

/** Quoted keys, cached: state documents repeat a few hundred distinct keys many times. */
const quotedKeys = new Map<string, string>();
const MAX_CACHED_KEYS = 10_000;

/** `JSON.stringify(k)` for a member name, cached. */
export function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < MAX_CACHED_KEYS) quotedKeys.set(k, q);
  }
  return q;
}

/**
 * Serialises `value` canonically; `indent` > 0 pretty-prints with that many spaces.
 * `known` maps objects to their already computed compact canonical text (a writer that
 * serialises the same sub-objects many times, like per-host states, fills it); it is only
 * used for compact output.
 */
export function canonicalJson(value: unknown, indent = 0, known?: KnownText): string {
  const trail: Array<string | number> = [];
  try {
    return indent > 0 ? pretty(value, ' '.repeat(indent), '', trail) : compact(value, trail, known);
  } catch (e) {
    if (e instanceof NotCanonicalJsonError) {
      const path = trail.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${k}` : k), '');
      throw new NotCanonicalJsonError(path, e.what);
    }
    throw e;
  }
}

/** A scalar's JSON text, or undefined for objects and arrays. Throws for unwritable values. */
function scalar(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string': return JSON.stringify(value);
    case 'boolean': return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonicalJsonError('', String(value));
      return JSON.stringify(value);
    case 'object':
      return value instanceof Date ? JSON.stringify(value.toISOString()) : undefined;
    default: throw new NotCanonicalJsonError('', typeof value);
  }
}

// `trail` holds the path of the value being written; on error it is left as is for the message.
function compact(value: unknown, trail: Array<string | number>, known?: KnownText): string {
  const s = scalar(value);
  if (s !== undefined) return s;
  if (known) {
    const k = known.get(value as object);
    if (k !== undefined) return k;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      trail.push(i);
      if (item === undefined) throw new NotCanonicalJsonError('', 'undefined');
      out += (i ? ',' : '') + compact(item, trail, known);
      trail.pop();
    }
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    trail.push(k);
    out += (first ? '' : ',') + quoteKey(k) + ':' + compact(v, trail, known);
    trail.pop();
    first = false;
  }
  return out + '}';
}

function pretty(value: unknown, step: string, pad: string, trail: Array<string | number>): string {
  const s = scalar(value);
  if (s !== undefined) return s;
  const inner = pad + step;
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      trail.push(i);
      if (value[i] === undefined) throw new NotCanonicalJsonError('', 'undefined');
      parts.push(inner + pretty(value[i], step, inner, trail));
      trail.pop();
    }
    return parts.length ? `[\n${parts.join(',\n')}\n${pad}]` : '[]';
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] === undefined) continue;
    trail.push(k);
    parts.push(`${inner}${quoteKey(k)}: ${pretty(obj[k], step, inner, trail)}`);
    trail.pop();
  }
  return parts.length ? `{\n${parts.join(',\n')}\n${pad}}` : '{}';
}

/** The members of an object as sorted `[key, canonical value text]` pairs (undefined dropped). */
export function canonicalEntries(obj: Record<string, unknown>, known?: KnownText): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const trail: Array<string | number> = [];
  try {
    for (const k of Object.keys(obj).sort()) {
      const v = obj[k];
      if (v === undefined) continue;
      trail.push(k);
      out.push([k, compact(v, trail, known)]);
      trail.pop();
    }
  } catch (e) {
    if (e instanceof NotCanonicalJsonError) throw new NotCanonicalJsonError(trail.join('.'), e.what);
    throw e;
  }
  return out;
}

/** Compact object text from sorted entries (see canonicalEntries). */
export function joinEntries(entries: Array<[string, string]>): string {
  let out = '{';
  for (let i = 0; i < entries.length; i++) out += (i ? ',' : '') + quoteKey(entries[i]![0]) + ':' + entries[i]![1];
  return out + '}';
}

/** Sorted entries plus extra members (keys not already present), still sorted. */
export function withEntries(entries: Array<[string, string]>, extra: Record<string, unknown>): Array<[string, string]> {
  const out = entries.slice();
  for (const k of Object.keys(extra)) {
    if (extra[k] === undefined) continue;
    const item: [string, string] = [k, canonicalJson(extra[k])];
    let i = out.length;
    while (i > 0 && out[i - 1]![0] > k) i--;
    out.splice(i, 0, item);
  }
  return out;
}
