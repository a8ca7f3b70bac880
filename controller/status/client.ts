/**
 * A small client of the status API for the CLI (`ringstack status`, `ringstack usage`): GET
 * with the read token, JSON out, the API's error message turned into a typed error.
 */

export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8081';

export class StatusApiError extends Error {
  override name = 'StatusApiError';
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

export class StatusClient {
  constructor(private readonly base: string, private readonly token?: string) {}

  async get<T = any>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const q = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
    const url = `${this.base.replace(/\/+$/, '')}/api/v1${path}${q.size ? `?${q}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    } catch (e) {
      throw new StatusApiError(0, `cannot reach the controller at ${this.base}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
    }
    const text = await res.text();
    let body: any;
    try { body = JSON.parse(text); } catch { body = { message: text.slice(0, 200) }; }
    if (!res.ok) throw new StatusApiError(res.status, `${res.status} ${body?.message ?? res.statusText}`);
    return body as T;
  }

  /** Every page of a list. */
  async all<T = any>(path: string, query: Record<string, string | undefined> = {}): Promise<{ items: T[]; stale: boolean; ageSeconds: number | null }> {
    const items: T[] = [];
    let next: string | undefined;
    let stale = false;
    let age: number | null = null;
    do {
      const r = await this.get<{ items: T[]; next: string | null; stale: boolean; ageSeconds: number | null }>(path, { ...query, limit: '1000', continue: next });
      items.push(...r.items);
      stale ||= r.stale;
      age = r.ageSeconds;
      next = r.next ?? undefined;
    } while (next);
    return { items, stale, ageSeconds: age };
  }
}

/** Plain-text table with columns padded to their widest cell. */
export function formatTable(header: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}
