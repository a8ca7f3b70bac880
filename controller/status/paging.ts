/**
 * Filtering and paging of lists: filters by project, labels and state, then pages with a
 * limit and an opaque continuation token naming the last item returned, so a page boundary
 * holds even when items are added or removed between requests.
 */

export interface ListQuery {
  limit?: number;
  continue?: string;
  project?: string;
  label?: string;
  state?: string;
}

export class BadQuery extends Error {
  override name = 'BadQuery';
}

export const DEFAULT_LIMIT = 100;

export function encodeToken(key: string): string {
  return Buffer.from(JSON.stringify({ after: key })).toString('base64url');
}

export function decodeToken(token: string): string {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof v?.after === 'string') return v.after;
  } catch { /* fall through */ }
  throw new BadQuery('continue: not a token returned by this API');
}

/** `a=b,c=d` -> pairs; throws BadQuery on a pair without '='. */
export function parseLabels(text: string | undefined): Array<[string, string]> {
  if (!text) return [];
  return text.split(',').map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new BadQuery(`label: expected key=value, got "${p}"`);
    return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
  });
}

interface Filterable { project?: string | null; labels?: Record<string, string>; state?: string; summary?: string; health?: string; status?: string }

/** Items matching the query's project, labels and state (state compared without case). */
export function filterItems<T extends Filterable>(items: T[], q: ListQuery): T[] {
  const labels = parseLabels(q.label);
  const state = q.state?.toLowerCase();
  return items.filter((it) => {
    if (q.project !== undefined && it.project !== q.project) return false;
    for (const [k, v] of labels) if (it.labels?.[k] !== v) return false;
    if (state && ![it.state, it.summary, it.health, it.status].some((s) => s?.toLowerCase() === state)) return false;
    return true;
  });
}

/** One page of `items` (already in a stable order) after the token's key. */
export function page<T>(items: T[], keyOf: (t: T) => string, q: ListQuery): { items: T[]; next: string | null } {
  const limit = q.limit ?? DEFAULT_LIMIT;
  let start = 0;
  if (q.continue) {
    const after = decodeToken(q.continue);
    const at = items.findIndex((t) => keyOf(t) === after);
    start = at >= 0 ? at + 1 : items.findIndex((t) => keyOf(t) > after);
    if (start < 0) start = items.length;
  }
  const out = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return { items: out, next: more && out.length ? encodeToken(keyOf(out[out.length - 1]!)) : null };
}
