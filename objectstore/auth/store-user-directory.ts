/**
 * Users kept in the object store itself, so every proxy sees the same users: one JSON object
 * per access key in the system account's `users` container (`.system/users/<accessKey>.json`:
 * `{accessKey, secretKey, account, createdAt}`), written through the ObjectBackend. Lookups are
 * cached for a short time (default 2 s, misses too) so a change reaches every proxy within
 * seconds without a store read per request. The static users (the root user from
 * credentials.json) come first, are admins, and cannot be removed or rotated here.
 *
 * Only admins manage users: the S3 front end exposes this class's UserAdmin side on its admin
 * route (objectstore/s3/admin.ts); the system account is not reachable as an S3 bucket because
 * '.system' is no user's account.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectBackend } from '../proxy/backend.js';
import { BadRequest, Conflict, NotFound, PreconditionFailed } from '../common/errors.js';
import type { User, UserDirectory } from './users.js';

export const SYSTEM_ACCOUNT = '.system';
export const USERS_CONTAINER = 'users';
/** How long a lookup (hit or miss) is trusted. */
export const DEFAULT_CACHE_TTL_MS = 2000;
const ACCESS_KEY_BYTES = 10;
const SECRET_KEY_BYTES = 30;
const LIST_PAGE = 10000;
/** Accounts are names a user's buckets live under: no '/', not the system account. */
const ACCOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ACCESS_KEY_RE = /^[A-Za-z0-9_.:-]{3,128}$/;

export interface UserSummary {
  accessKey: string;
  account: string;
  createdAt: number;
  /** True for the static (root) users from configuration. */
  static?: boolean;
}

/** Managing users (what `ringstack user` asks for through the admin route). */
export interface UserAdmin {
  add(account: string, accessKey?: string): Promise<User>;
  list(): Promise<UserSummary[]>;
  remove(accessKey: string): Promise<void>;
  rotateKey(accessKey: string): Promise<User>;
}

interface StoredUser extends User {
  createdAt: number;
}

export function newAccessKey(): string {
  return 'RS' + randomBytes(ACCESS_KEY_BYTES).toString('hex').toUpperCase();
}

/**
 * A new secret key: 40 characters of base64url, never starting with `-` (1 key in 64 did):
 * command-line clients read such a key as an option (`swift -K -abc…` fails with "expected one
 * argument"), so a user pasting it after a flag would be turned away.
 */
export function newSecretKey(): string {
  for (;;) {
    const key = randomBytes(SECRET_KEY_BYTES).toString('base64url');
    if (!key.startsWith('-')) return key;
  }
}

export class StoreUserDirectory implements UserDirectory, UserAdmin {
  private readonly cache = new Map<string, { user: User | undefined; until: number }>();
  private readonly staticUsers: Map<string, User>;
  private readonly base: UserDirectory | undefined;
  private readonly ttlMs: number;
  private readonly now: () => number;

  /**
   * `staticUsers` and the users of `base` (e.g. the proxy's StaticUserDirectory from
   * credentials.json) are the configured root users: looked up first, admins.
   * `now` is for tests of the cache.
   */
  constructor(private readonly backend: ObjectBackend,
    opts: { staticUsers?: User[]; base?: UserDirectory; ttlMs?: number; now?: () => number } = {}) {
    this.staticUsers = new Map((opts.staticUsers ?? []).map((u) => [u.accessKey, { ...u, admin: u.admin ?? true }]));
    this.base = opts.base;
    this.ttlMs = opts.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  private async configured(accessKey: string): Promise<User | undefined> {
    const s = this.staticUsers.get(accessKey);
    if (s) return s;
    const b = await this.base?.lookup(accessKey);
    return b ? { ...b, admin: b.admin ?? true } : undefined;
  }

  async lookup(accessKey: string): Promise<User | undefined> {
    const c = await this.configured(accessKey);
    if (c) return c;
    const hit = this.cache.get(accessKey);
    if (hit && hit.until > this.now()) return hit.user;
    const user = await this.read(accessKey);
    this.cache.set(accessKey, { user, until: this.now() + this.ttlMs });
    return user;
  }

  private async read(accessKey: string): Promise<StoredUser | undefined> {
    if (!ACCESS_KEY_RE.test(accessKey)) return undefined;
    try {
      const { body } = await this.backend.getObject(SYSTEM_ACCOUNT, USERS_CONTAINER, `${accessKey}.json`);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const u = JSON.parse(Buffer.concat(chunks).toString('utf8')) as StoredUser;
      return { accessKey: u.accessKey, secretKey: u.secretKey, account: u.account, createdAt: u.createdAt };
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      throw e;
    }
  }

  private async write(user: StoredUser, create: boolean): Promise<void> {
    await this.backend.putContainer(SYSTEM_ACCOUNT, USERS_CONTAINER);
    const body = Buffer.from(JSON.stringify(user));
    await this.backend.putObject(SYSTEM_ACCOUNT, USERS_CONTAINER, `${user.accessKey}.json`, {
      body: Readable.from([body]), contentLength: body.length, contentType: 'application/json', ifNoneMatchStar: create || undefined,
    });
    this.cache.delete(user.accessKey);
  }

  async add(account: string, accessKey = newAccessKey()): Promise<User> {
    if (!ACCOUNT_RE.test(account) || account === SYSTEM_ACCOUNT) throw new BadRequest(`invalid account name "${account}"`);
    if (!ACCESS_KEY_RE.test(accessKey)) throw new BadRequest(`invalid access key "${accessKey}"`);
    if ((await this.configured(accessKey)) || (await this.read(accessKey))) throw new Conflict(`access key ${accessKey} exists`, 'exists');
    const user: StoredUser = { accessKey, secretKey: newSecretKey(), account, createdAt: this.now() };
    try {
      await this.write(user, true);
    } catch (e) {
      if (e instanceof PreconditionFailed) throw new Conflict(`access key ${accessKey} exists`, 'exists');
      throw e;
    }
    return { accessKey, secretKey: user.secretKey, account };
  }

  async list(): Promise<UserSummary[]> {
    const base = this.base as (UserDirectory & { users?: () => User[] }) | undefined;
    const configured = [...this.staticUsers.values(), ...(typeof base?.users === 'function' ? base.users() : [])];
    const out: UserSummary[] = configured.map((u) => ({ accessKey: u.accessKey, account: u.account, createdAt: 0, static: true }));
    let marker: string | undefined;
    try {
      for (;;) {
        const page = await this.backend.listObjects(SYSTEM_ACCOUNT, USERS_CONTAINER, { marker, limit: LIST_PAGE });
        for (const e of page.entries) {
          if (!('name' in e)) continue;
          marker = e.name;
          const u = await this.read(e.name.replace(/\.json$/, ''));
          if (u) out.push({ accessKey: u.accessKey, account: u.account, createdAt: u.createdAt });
        }
        if (!page.truncated) break;
      }
    } catch (e) {
      if (!(e instanceof NotFound)) throw e;
    }
    return out;
  }

  private async existing(accessKey: string): Promise<StoredUser> {
    if (await this.configured(accessKey)) throw new BadRequest(`${accessKey} is a configured (root) user; change it in credentials.json`);
    const u = await this.read(accessKey);
    if (!u) throw new NotFound(`no user with access key ${accessKey}`, 'object');
    return u;
  }

  async remove(accessKey: string): Promise<void> {
    await this.existing(accessKey);
    await this.backend.deleteObject(SYSTEM_ACCOUNT, USERS_CONTAINER, `${accessKey}.json`);
    this.cache.delete(accessKey);
  }

  async rotateKey(accessKey: string): Promise<User> {
    const u = await this.existing(accessKey);
    const updated: StoredUser = { ...u, secretKey: newSecretKey() };
    await this.write(updated, false);
    return { accessKey, secretKey: updated.secretKey, account: u.account };
  }
}

/** True when a directory can also manage users (a StoreUserDirectory or alike). */
export function isUserAdmin(d: unknown): d is UserAdmin {
  const o = d as Partial<UserAdmin> | undefined;
  return !!o && typeof o.add === 'function' && typeof o.list === 'function' && typeof o.remove === 'function' && typeof o.rotateKey === 'function';
}
