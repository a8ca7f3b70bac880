/**
 * Follows one branch of a local repository and reports each new commit once, in order.
 * Shared by the watched local repository (watch-local.ts) and the polled remote
 * (poll-remote.ts): they only differ in what makes them look again.
 *
 * Checks never overlap: a check asked for while one runs is done right after it. When
 * `onCommit` throws, the commit is not marked as seen, so the next check reports it again.
 */

import * as fs from 'node:fs';
import git from 'isomorphic-git';

/** A commit found on a tracked branch. */
export interface SourceCommit {
  /** Git dir of the repository holding the commit. */
  gitdir: string;
  /** Full ref name, e.g. refs/heads/main. */
  ref: string;
  oid: string;
  message: string;
  author: { name: string; email: string; timestamp: number };
}

/** Receives the new commits of a tracked branch. */
export type OnCommit = (commit: SourceCommit) => void | Promise<void>;

export class BranchTracker {
  /** The last commit reported (successfully handled by onCommit). */
  lastOid?: string;
  private running?: Promise<void>;
  private again = false;

  constructor(
    readonly gitdir: string,
    readonly ref: string,
    private readonly onCommit: OnCommit,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Looks at the branch now (or right after the running check) and reports a new commit. */
  check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.checkOnce();
        } catch (err) {
          this.onError(err);
        }
      } while (this.again);
      this.running = undefined;
    })();
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    let oid: string;
    try {
      oid = await git.resolveRef({ fs, gitdir: this.gitdir, ref: this.ref });
    } catch {
      return; // the branch does not exist (yet)
    }
    if (oid === this.lastOid) return;
    const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid });
    await this.onCommit({
      gitdir: this.gitdir,
      ref: this.ref,
      oid,
      message: commit.message,
      author: { name: commit.author.name, email: commit.author.email, timestamp: commit.author.timestamp },
    });
    this.lastOid = oid;
  }
}
