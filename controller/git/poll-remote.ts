/**
 * A remote repository as a source: its branch is fetched with isomorphic-git (smart HTTP)
 * into a local bare mirror every `intervalMs`, and each new commit is reported once. A
 * webhook (webhook.ts) calls `pollNow` so a push is seen at once instead of at the next tick.
 * The mirror's branch follows the remote even when its history is rewritten: the remote is
 * the authority; validation of the new commit is the caller's job in onCommit.
 */

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { BranchTracker, type OnCommit } from './branch-tracker.js';
import { writeRef } from './refs.js';

/** Shortest interval accepted, so a typo cannot hammer a remote. */
export const MIN_INTERVAL_MS = 100;

export interface PollRemoteOptions {
  /** http(s) URL of the remote repository. */
  url: string;
  /** Branch to follow (short name). */
  branch: string;
  /** Time between polls. */
  intervalMs: number;
  /** Local bare mirror (created when missing). */
  dir: string;
  onCommit: OnCommit;
  /** Credentials for the remote: a token as password (user name optional). */
  auth?: { username?: string; password: string };
  /** Extra HTTP headers for the remote. */
  headers?: Record<string, string>;
  onError?: (err: unknown) => void;
}

export interface RemotePoller {
  tracker: BranchTracker;
  /** Fetches now (or right after the running fetch) and reports a new commit. */
  pollNow(): Promise<void>;
  /** Time of the last successful fetch. */
  lastFetchAt?: Date;
  /** Last failure, cleared by the next successful fetch. */
  lastError?: unknown;
  close(): void;
}

/** Starts polling; resolves after the first poll (whose failure goes to onError). */
export async function pollRemote(opts: PollRemoteOptions): Promise<RemotePoller> {
  if (!(opts.intervalMs >= MIN_INTERVAL_MS)) throw new RangeError(`intervalMs must be at least ${MIN_INTERVAL_MS}`);
  const gitdir = path.resolve(opts.dir);
  if (!fs.existsSync(path.join(gitdir, 'HEAD'))) {
    await fsp.mkdir(gitdir, { recursive: true });
    await git.init({ fs, bare: true, gitdir, defaultBranch: opts.branch });
  }
  // isomorphic-git records fetched refs through the remote's refspec.
  await git.setConfig({ fs, gitdir, path: 'remote.origin.url', value: opts.url });
  await git.setConfig({ fs, gitdir, path: 'remote.origin.fetch', value: '+refs/heads/*:refs/remotes/origin/*' });
  const ref = `refs/heads/${opts.branch}`;
  // Credentials go with every request instead of after a 401 round trip.
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) {
    headers.authorization = `Basic ${Buffer.from(`${opts.auth.username ?? 'x'}:${opts.auth.password}`).toString('base64')}`;
  }
  const onError = opts.onError ?? (() => {});
  const tracker = new BranchTracker(gitdir, ref, opts.onCommit, onError);
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const fetchOnce = async (): Promise<void> => {
    const result = await git.fetch({
      fs,
      http,
      gitdir,
      remote: 'origin',
      url: opts.url,
      ref: opts.branch,
      singleBranch: true,
      tags: false,
      headers,
    });
    if (result.fetchHead) await writeRef(gitdir, ref, result.fetchHead);
  };

  const poller: RemotePoller = {
    tracker,
    pollNow() {
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          try {
            await fetchOnce();
            poller.lastFetchAt = new Date();
            poller.lastError = undefined;
          } catch (err) {
            poller.lastError = err;
            // A remote without the branch yet is not an error worth reporting each tick.
            if (!(err instanceof git.Errors.NotFoundError)) onError(err);
            continue;
          }
          await tracker.check();
        } while (again && !closed);
        running = undefined;
      })();
      return running;
    },
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
  const timer = setInterval(() => void poller.pollNow(), opts.intervalMs);
  timer.unref();
  await poller.pollNow();
  return poller;
}
