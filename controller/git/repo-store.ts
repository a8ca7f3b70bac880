/**
 * The bare repositories served by the Git endpoint, one folder `<name>.git` per repository
 * under `reposDir`.
 *
 * A repository is created on its first push (auto-init, HEAD -> refs/heads/main). When a
 * backup is configured and a repository is missing on disk, it is first restored from the
 * backup, so a controller started on a new machine resumes with the refs it had accepted.
 * All writes to one repository run one at a time through `withLock`; that makes each ref
 * update a compare-and-swap. One controller process owns a `reposDir`.
 */

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import git from 'isomorphic-git';
import { BadRepoName, RepoNotFound } from './errors.js';
import { fsyncDir } from './durable.js';
import type { RepoBackup } from './backup.js';

/** Allowed repository names: a letter or digit, then letters, digits, `.`, `_`, `-`. */
export const REPO_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Folder under objects/ where a push spools its pack until it is indexed. */
export const INCOMING_DIR = 'incoming';
/** Branch HEAD points at in a new repository. */
export const DEFAULT_BRANCH = 'main';

export class RepoStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly cleaned = new Map<string, Promise<void>>();

  constructor(
    readonly reposDir: string,
    private readonly backup?: RepoBackup,
  ) {}

  /** Normalises `web` or `web.git` to `web`, rejecting names that could escape reposDir. */
  static nameOf(urlName: string): string {
    const name = urlName.endsWith('.git') ? urlName.slice(0, -4) : urlName;
    if (!REPO_NAME_RE.test(name) || name.endsWith('.')) throw new BadRepoName(`bad repository name ${JSON.stringify(urlName)}`);
    return name;
  }

  /** The folder of the bare repository `name`. */
  dirOf(name: string): string {
    return path.join(this.reposDir, `${name}.git`);
  }

  /** True when the repository exists on disk. */
  async exists(name: string): Promise<boolean> {
    return fsp
      .stat(path.join(this.dirOf(name), 'HEAD'))
      .then(() => true)
      .catch(() => false);
  }

  /**
   * The git dir of repository `name`, restored from the backup if it is missing on disk.
   * With `create`, a repository that exists nowhere is initialised; without, RepoNotFound.
   */
  async open(name: string, create: boolean): Promise<string> {
    const dir = this.dirOf(name);
    if (await this.exists(name)) {
      await this.cleanSpoolOnce(name);
      return dir;
    }
    return this.withLock(name, async () => {
      if (await this.exists(name)) return dir;
      await fsp.mkdir(this.reposDir, { recursive: true });
      this.cleaned.set(name, Promise.resolve()); // a new or restored repository has no spool yet
      if (this.backup) {
        if (await this.backup.restore(dir, name)) return dir;
      }
      if (!create) {
        this.cleaned.delete(name);
        throw new RepoNotFound(`no repository named ${JSON.stringify(name)}`);
      }
      const tmp = path.join(this.reposDir, `.${name}.${randomBytes(6).toString('hex')}.init`);
      await git.init({ fs, bare: true, gitdir: tmp, defaultBranch: DEFAULT_BRANCH });
      await fsp.mkdir(path.join(tmp, 'objects', 'pack'), { recursive: true });
      await fsp.rename(tmp, dir);
      await fsyncDir(this.reposDir);
      return dir;
    });
  }

  /**
   * Removes pack spool files a crashed process left in objects/incoming. Done on the first
   * open of each repository by this process, before any push of this process can spool.
   */
  private cleanSpoolOnce(name: string): Promise<void> {
    let cleaning = this.cleaned.get(name);
    if (!cleaning) {
      const incoming = this.spoolDirOf(name);
      cleaning = (async () => {
        for (const f of await fsp.readdir(incoming).catch(() => [] as string[])) {
          if (f.startsWith('tmp-')) await fsp.rm(path.join(incoming, f), { force: true });
        }
      })();
      this.cleaned.set(name, cleaning);
    }
    return cleaning; // every open waits for it, so no push spools while it runs
  }

  /** The folder where pushes spool their pack before it is checked. */
  spoolDirOf(name: string): string {
    return path.join(this.dirOf(name), 'objects', INCOMING_DIR);
  }

  /** Runs `fn` after every earlier `withLock` call for the same repository has finished. */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }
}
