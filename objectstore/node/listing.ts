/**
 * Sorted listings over a LevelDB key range, shared by container listings (objects) and
 * account listings (containers). Keys sort by UTF-8 bytes, which is also the order of code
 * points, the order Swift and S3 list in.
 *
 * Never scans from the start: the iterator opens at max(prefix, marker) and stops at
 * min(prefix end, end_marker). With a delimiter, after emitting a common prefix `p` it seeks
 * straight past every key starting with `p` (to `p` with its last code point incremented),
 * so a million objects under one "folder" cost one seek, not a million steps.
 * Reverse follows Swift: entries strictly below `marker` and strictly above `end_marker`.
 */
import type { ClassicLevel } from 'classic-level';
import type { ListOptions, ListPage, SubdirEntry } from '../proxy/backend.js';

export const MAX_LISTING_LIMIT = 10000;

/** The smallest string greater than every string starting with `s` (s non-empty). */
export function prefixEnd(s: string): string {
  const cps = Array.from(s);
  for (let i = cps.length - 1; i >= 0; i--) {
    const cp = cps[i]!.codePointAt(0)!;
    if (cp < 0x10ffff) {
      let next = cp + 1;
      if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // skip surrogates
      return cps.slice(0, i).join('') + String.fromCodePoint(next);
    }
  }
  return s + '\u{10ffff}';
}

/**
 * Lists entries whose keys start with `base` (which ends with a separator). `decode` turns a
 * stored value into an entry, or undefined to skip it (deleted rows).
 */
export async function listRange<V, E>(db: ClassicLevel<string, V>, base: string, opts: ListOptions,
  decode: (name: string, value: V) => E | undefined): Promise<ListPage<E>> {
  const limit = Math.max(0, Math.min(opts.limit ?? MAX_LISTING_LIMIT, MAX_LISTING_LIMIT));
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter || undefined;
  const entries: Array<E | SubdirEntry> = [];
  if (limit === 0) return { entries, truncated: false };
  // Range in name space: [lo, hi) with exclusive flags.
  let lo = prefix;
  let loExclusive = false;
  let hi: string | undefined = prefix ? prefixEnd(prefix) : undefined;
  let hiExclusive = true;
  const reverse = !!opts.reverse;
  const lower = reverse ? opts.endMarker : opts.marker;
  const upper = reverse ? opts.marker : opts.endMarker;
  if (lower !== undefined && lower !== '' && lower >= lo) {
    lo = lower;
    loExclusive = true;
  }
  if (upper !== undefined && upper !== '' && (hi === undefined || upper < hi)) {
    hi = upper;
    hiExclusive = true;
  }
  if (hi !== undefined && (hi < lo || (hi === lo))) return { entries, truncated: false };
  const range: Record<string, string> = {};
  range[loExclusive ? 'gt' : 'gte'] = base + lo;
  range[hiExclusive ? 'lt' : 'lte'] = hi === undefined ? prefixEnd(base) : base + hi;
  const it = db.iterator({ ...range, reverse });
  let truncated = false;
  let lastSubdir: string | undefined;
  try {
    for (;;) {
      const kv = await it.next();
      if (kv === undefined) break;
      const [key, value] = kv;
      const name = key.slice(base.length);
      if (lastSubdir !== undefined && name.startsWith(lastSubdir)) continue;
      if (delimiter) {
        const i = name.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          const subdir = name.slice(0, i + delimiter.length);
          if (entries.length === limit) {
            truncated = true;
            break;
          }
          entries.push({ subdir });
          lastSubdir = subdir;
          it.seek(base + (reverse ? subdir : prefixEnd(subdir)));
          continue;
        }
      }
      const e = decode(name, value);
      if (e === undefined) continue;
      if (entries.length === limit) {
        truncated = true;
        break;
      }
      entries.push(e);
    }
  } finally {
    await it.close();
  }
  return { entries, truncated };
}
