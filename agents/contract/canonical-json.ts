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
  constructor(readonly path: string, what: string) {
    super(`${path || '<root>'}: ${what} cannot be written as canonical JSON`);
  }
}

/** Serialises `value` canonically; `indent` > 0 pretty-prints with that many spaces. */
export function canonicalJson(value: unknown, indent = 0): string {
  const out: string[] = [];
  write(value, '', indent > 0 ? ' '.repeat(indent) : '', '', out);
  return out.join('');
}

function write(value: unknown, path: string, step: string, pad: string, out: string[]): void {
  if (value === null) { out.push('null'); return; }
  switch (typeof value) {
    case 'string': out.push(JSON.stringify(value)); return;
    case 'boolean': out.push(value ? 'true' : 'false'); return;
    case 'number':
      if (!Number.isFinite(value)) throw new NotCanonicalJsonError(path, String(value));
      out.push(JSON.stringify(value));
      return;
    case 'object': break;
    default: throw new NotCanonicalJsonError(path, typeof value);
  }
  if (value instanceof Date) { out.push(JSON.stringify(value.toISOString())); return; }
  const inner = pad + step;
  const nl = step ? '\n' : '';
  const colon = step ? ': ' : ':';
  if (Array.isArray(value)) {
    if (value.length === 0) { out.push('[]'); return; }
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      out.push(nl, inner);
      const item = value[i];
      if (item === undefined) throw new NotCanonicalJsonError(`${path}[${i}]`, 'undefined');
      write(item, `${path}[${i}]`, step, inner, out);
    }
    out.push(nl, pad, ']');
    return;
  }
  const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  if (keys.length === 0) { out.push('{}'); return; }
  out.push('{');
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) out.push(',');
    out.push(nl, inner, JSON.stringify(k), colon);
    write((value as Record<string, unknown>)[k], path ? `${path}.${k}` : k, step, inner, out);
  }
  out.push(nl, pad, '}');
}
