/**
 * Client of the S3 front end's user-management route (objectstore/s3/admin.ts), used by
 * `ringstack user`: every call is an S3 SigV4-signed request made with the root credentials.
 * Also finds the endpoint and root credentials from flags, environment or DIR/credentials.json.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signRequest, sha256Hex } from '../s3/sigv4.js';
import type { User } from './users.js';
import type { UserSummary } from './store-user-directory.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';
const ADMIN_PATH = '/_ringstack/users';

/** The store answered with an S3 error (code and message from its XML document). */
export class AdminRequestError extends Error {
  override name = 'AdminRequestError';
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

export interface AdminCredentials {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

/**
 * Resolves where and as whom to connect: explicit values first, then RINGSTACK_ENDPOINT,
 * RINGSTACK_ACCESS_KEY / RINGSTACK_SECRET_KEY, then `<dataDir>/credentials.json`.
 */
export async function resolveAdminCredentials(o: { endpoint?: string; dataDir?: string; accessKey?: string; secretKey?: string },
  env: NodeJS.ProcessEnv = process.env): Promise<AdminCredentials> {
  const endpoint = o.endpoint ?? env.RINGSTACK_ENDPOINT ?? DEFAULT_ENDPOINT;
  let accessKey = o.accessKey ?? env.RINGSTACK_ACCESS_KEY;
  let secretKey = o.secretKey ?? env.RINGSTACK_SECRET_KEY;
  const dir = o.dataDir ?? env.RINGSTACK_DATA_DIR;
  if ((!accessKey || !secretKey) && dir) {
    const file = join(dir, 'credentials.json');
    let parsed: Partial<User>;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<User>;
    } catch (e) {
      throw new Error(`cannot read root credentials from ${file}: ${(e as Error).message}`);
    }
    accessKey = parsed.accessKey;
    secretKey = parsed.secretKey;
  }
  if (!accessKey || !secretKey) {
    throw new Error('no root credentials: give --data-dir DIR (DIR/credentials.json) or set RINGSTACK_ACCESS_KEY and RINGSTACK_SECRET_KEY');
  }
  try {
    new URL(endpoint);
  } catch {
    throw new Error(`invalid endpoint "${endpoint}"`);
  }
  return { endpoint, accessKey, secretKey };
}

export class UserAdminClient {
  constructor(private readonly creds: AdminCredentials) {}

  private async call(method: string, path: string, query: Record<string, string> = {}): Promise<unknown> {
    const url = new URL(path, this.creds.endpoint);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const headers = signRequest({ method, url, accessKey: this.creds.accessKey, secretKey: this.creds.secretKey, region: this.creds.region, payloadHash: sha256Hex('') });
    delete headers.host;
    let res: Response;
    try {
      res = await fetch(url, { method, headers });
    } catch (e) {
      throw new Error(`cannot reach the object store at ${this.creds.endpoint}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
      const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1]?.replace(/&quot;/g, '"').replace(/&amp;/g, '&') ?? text.slice(0, 200);
      throw new AdminRequestError(code, `${code}: ${message}`, res.status);
    }
    return text === '' ? undefined : JSON.parse(text);
  }

  list(): Promise<UserSummary[]> {
    return this.call('GET', ADMIN_PATH) as Promise<UserSummary[]>;
  }

  add(account: string, accessKey?: string): Promise<User> {
    return this.call('POST', ADMIN_PATH, { account, ...(accessKey ? { accessKey } : {}) }) as Promise<User>;
  }

  async remove(accessKey: string): Promise<void> {
    await this.call('DELETE', `${ADMIN_PATH}/${encodeURIComponent(accessKey)}`);
  }

  rotateKey(accessKey: string): Promise<User> {
    return this.call('POST', `${ADMIN_PATH}/${encodeURIComponent(accessKey)}`, { rotate: '' }) as Promise<User>;
  }
}
