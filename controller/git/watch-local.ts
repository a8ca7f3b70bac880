/**
 * A local repository as a source: chokidar watches the files Git rewrites when a branch moves
 * (refs/heads/<branch>, packed-refs, HEAD, logs) and a new commit on the tracked branch is
 * reported within a second (events are debounced, a commit writes several files). A slow
 * periodic re-check covers events a file system fails to deliver. The objects folder is not
 * watched: it can hold many files and a ref always moves after its objects are written.
 */

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import chokidar from 'chokidar';
import git from 'isomorphic-git';
import { BranchTracker, type OnCommit } from './branch-tracker.js';

/** Wait after the last file event before reading the branch. */
export const DEFAULT_DEBOUNCE_MS = 150;
/** Interval of the safety re-check. */
export const DEFAULT_RESYNC_MS = 30_000;

export interface WatchLocalOptions {
  /** A working tree (with .git) or a bare repository. */
  dir: string;
  /** Branch to follow (short name). */
  branch: string;
  onCommit: OnCommit;
  /** Report the commit the branch has when watching starts (default true). */
  emitInitial?: boolean;
  debounceMs?: number;
  resyncMs?: number;
  onError?: (err: unknown) => void;
}

export interface RepoWatcher {
  /** The tracker, e.g. to read the last reported commit. */
  tracker: BranchTracker;
  /** Looks at the branch now. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** The git dir of `dir`: `dir/.git` (folder or `gitdir:` file) or `dir` itself when bare. */
export async function resolveGitdir(dir: string): Promise<string> {
  const dotGit = path.join(dir, '.git');
  const st = await fsp.stat(dotGit).catch(() => undefined);
  if (st?.isDirectory()) return dotGit;
  if (st?.isFile()) {
    const m = /^gitdir:\s*(.+)$/m.exec(await fsp.readFile(dotGit, 'utf8'));
    if (m) return path.resolve(dir, m[1].trim());
  }
  return dir;
}

/** True for the paths (relative to the git dir) whose change can move a branch. */
function relevant(rel: string): boolean {
  if (rel === '' || rel === 'HEAD' || rel === 'packed-refs') return true;
  if (rel.endsWith('.lock')) return false;
  for (const base of ['refs', 'logs']) {
    if (rel === base) return true;
    if (rel.startsWith(`${base}/`)) {
      const rest = rel.slice(base.length + 1);
      if (base === 'logs' && rest === 'HEAD') return true;
      if (rest === 'heads' || rest.startsWith('heads/')) return true;
      if (base === 'logs' && (rest === 'refs' || rest === 'refs/heads' || rest.startsWith('refs/heads/'))) return true;
    }
  }
  return false;
}

/** Starts watching; resolves once the watcher is ready (and the initial check is done). */
export async function watchLocalRepo(opts: WatchLocalOptions): Promise<RepoWatcher> {
  const gitdir = await resolveGitdir(path.resolve(opts.dir));
  const tracker = new BranchTracker(gitdir, `refs/heads/${opts.branch}`, opts.onCommit, opts.onError);
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void tracker.check();
    }, debounceMs);
  };
  const watcher = chokidar.watch(gitdir, {
    ignoreInitial: true,
    ignored: (p: string) => !relevant(path.relative(gitdir, p).split(path.sep).join('/')),
  });
  watcher.on('all', schedule);
  if (opts.onError) watcher.on('error', opts.onError);
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  if (opts.emitInitial ?? true) await tracker.check();
  else tracker.lastOid = await git.resolveRef({ fs, gitdir, ref: tracker.ref }).catch(() => undefined);
  const resync = setInterval(() => void tracker.check(), opts.resyncMs ?? DEFAULT_RESYNC_MS);
  resync.unref();
  return {
    tracker,
    check: () => tracker.check(),
    close: async () => {
      clearInterval(resync);
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
