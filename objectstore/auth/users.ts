/**
 * Who may use the object store. A user has an S3 access key and secret and belongs to one
 * account; the Swift front end accepts the same pair (X-Auth-User / X-Auth-Key). The proxy
 * asks a UserDirectory; objectstore/auth keeps the implementations (a static one from config
 * for the first user, and one kept in the store's own system account for `ringstack user`).
 */

export interface User {
  /** S3 access key id; for Swift either `<account>:<user>` or a plain key. */
  accessKey: string;
  secretKey: string;
  /** The account whose containers (buckets) this user sees, without the `AUTH_` prefix. */
  account: string;
  /** May manage users (the root user from credentials.json). Default false. */
  admin?: boolean;
}

export interface UserDirectory {
  /** The user with this access key, or undefined. Must be cheap: called on every request. */
  lookup(accessKey: string): Promise<User | undefined>;
}

/** A fixed list of users, e.g. the root user from credentials.json or the environment. */
export class StaticUserDirectory implements UserDirectory {
  private readonly byKey: Map<string, User>;
  constructor(users: User[]) {
    this.byKey = new Map(users.map((u) => [u.accessKey, u]));
  }
  async lookup(accessKey: string): Promise<User | undefined> {
    return this.byKey.get(accessKey);
  }
  /** The configured users (for listings; secrets included, so keep it server-side). */
  users(): User[] {
    return [...this.byKey.values()];
  }
}
