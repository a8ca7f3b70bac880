/**
 * Applies a received push (see receive-request.ts) to a bare repository: stores the pack,
 * checks every ref update, runs the `validate` callback on each new commit of a tracked
 * branch BEFORE its ref moves, moves refs with compare-and-swap, backs the repository up and
 * calls `onAccepted`. Everything the pusher must read goes to side-band channel 2, which git
 * prints as `remote: ...`; the result per ref goes into the report-status on channel 1.
 *
 * Runs under the repository lock (repo-store.ts), so the value compared is the value replaced.
 */

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import git from 'isomorphic-git';
import { CHANNEL_DATA, CHANNEL_PROGRESS, FLUSH_PKT, pktLine, sideBand } from './pkt-line.js';
import { currentOid, deleteRef, isValidRefName, readRefs, writeHead, writeRef } from './refs.js';
import { fsyncDir, fsyncFile, renameDurable } from './durable.js';
import type { ReceiveRequest, RefCommand } from './receive-request.js';
import { ZERO_OID, type OnAccepted, type ValidateCommit } from './types.js';

/** Prefix of our own lines on channel 2, so the user tells them from git's. */
const TAG = 'ringstack:';
/** Most error or summary lines printed per ref; the rest is counted. */
export const MAX_PRINTED_LINES = 200;
/** Default time a validation may take before the push is refused (the lock is released). */
export const DEFAULT_VALIDATE_TIMEOUT_MS = 5 * 60 * 1000;

/** What the push handler needs besides the request. */
export interface ApplyPushOptions {
  gitdir: string;
  /** Repository name, for messages and the backup key. */
  name: string;
  validate: ValidateCommit;
  onAccepted: OnAccepted;
  /** Branches (short names) validated and applied; undefined: every branch. */
  branches?: string[];
  /** Allow an update whose new commit does not descend from the old (default false). */
  allowNonFastForward?: boolean;
  /** Longest a validation may run (default 5 minutes). */
  validateTimeoutMs?: number;
  /** Called after refs changed, alongside onAccepted (repository backup); the answer waits for both. */
  afterRefsChanged?: () => Promise<void>;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The outcome of one ref update: ok, or the reason shown as `! [remote rejected] (reason)`. */
interface CommandResult {
  cmd: RefCommand;
  error?: string;
}

/** Writes progress and the final report to the response, with or without side-band. */
class PushReporter {
  readonly sideband: boolean;
  constructor(
    private readonly out: Writable,
    private readonly caps: Set<string>,
  ) {
    this.sideband = caps.has('side-band-64k');
  }

  /** One line the user sees as `remote: <line>` (dropped when the client has no side-band). */
  say(line: string): void {
    if (this.sideband) this.out.write(sideBand(CHANNEL_PROGRESS, `${line}\n`));
  }

  /** The report-status block, then the closing flush of the side-band stream. */
  report(unpack: string, results: CommandResult[]): void {
    if (this.caps.has('report-status')) {
      const lines = [pktLine(`unpack ${unpack}\n`)];
      for (const r of results) lines.push(pktLine(r.error ? `ng ${r.cmd.ref} ${oneLine(r.error)}\n` : `ok ${r.cmd.ref}\n`));
      lines.push(FLUSH_PKT);
      const block = Buffer.concat(lines);
      this.out.write(this.sideband ? sideBand(CHANNEL_DATA, block) : block);
    }
    if (this.sideband) this.out.write(FLUSH_PKT);
  }
}

/** Reasons in report-status are one line. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim() || 'rejected';
}

/** Short form of a commit id for messages. */
function short(oid: string): string {
  return oid.slice(0, 7);
}

/** True when `ref` is a branch that must pass validation. */
function isTracked(ref: string, branches: string[] | undefined): boolean {
  if (!ref.startsWith('refs/heads/')) return false;
  return branches === undefined || branches.includes(ref.slice('refs/heads/'.length));
}

/**
 * Checks that `oid` exists with its parents and its whole tree, so a ref never points at a
 * commit we cannot serve. Returns a reason when something is missing.
 *
 * `known` is a commit the ref already points at: it was checked the same way when it was
 * pushed and objects are never removed while reachable, so trees and blobs it shares with
 * the new commit (same id at the same path) are not read again. A one-file change to a
 * 10,000-file repository reads the trees on that file's path and one blob, not every blob.
 */
async function missingObjects(gitdir: string, oid: string, cache: object, known?: string): Promise<string | undefined> {
  let obj;
  try {
    obj = await git.readObject({ fs, gitdir, oid, cache, format: 'parsed' });
  } catch {
    return `missing object ${oid}`;
  }
  if (obj.type === 'tag') return undefined;
  if (obj.type !== 'commit') return `${oid} is a ${obj.type}, not a commit`;
  const commit = obj.object as { tree: string; parent: string[] };
  for (const parent of commit.parent) {
    try {
      await git.readObject({ fs, gitdir, oid: parent, cache, format: 'content' });
    } catch {
      return `missing parent commit ${parent}`;
    }
  }
  const knownTree = known !== undefined && known !== ZERO_OID ? await treeOf(gitdir, known, cache) : undefined;
  const trees: Array<{ oid: string; old?: string }> = [{ oid: commit.tree, ...(knownTree ? { old: knownTree } : {}) }];
  const seen = new Set<string>();
  while (trees.length) {
    const { oid: tree, old } = trees.pop()!;
    if (tree === old || seen.has(tree)) continue;
    seen.add(tree);
    let entries;
    try {
      entries = (await git.readTree({ fs, gitdir, oid: tree, cache })).tree;
    } catch {
      return `missing tree ${tree}`;
    }
    const before = old !== undefined ? await treeEntries(gitdir, old, cache) : undefined;
    for (const e of entries) {
      const prev = before?.get(e.path);
      if (prev?.oid === e.oid) continue;
      if (e.type === 'tree') trees.push({ oid: e.oid, ...(prev?.type === 'tree' ? { old: prev.oid } : {}) });
      else if (e.type === 'blob' && !seen.has(e.oid)) {
        seen.add(e.oid);
        try {
          await git.readObject({ fs, gitdir, oid: e.oid, cache, format: 'content' });
        } catch {
          return `missing blob ${e.oid} (${e.path})`;
        }
      }
    }
  }
  return undefined;
}

/** The root tree of a commit, or undefined when it cannot be read. */
async function treeOf(gitdir: string, commit: string, cache: object): Promise<string | undefined> {
  try {
    return (await git.readCommit({ fs, gitdir, oid: commit, cache })).commit.tree;
  } catch {
    return undefined;
  }
}

/** Entries of a tree by name, or undefined when it cannot be read (then nothing is skipped). */
async function treeEntries(gitdir: string, tree: string, cache: object): Promise<Map<string, { oid: string; type: string }> | undefined> {
  try {
    return new Map((await git.readTree({ fs, gitdir, oid: tree, cache })).tree.map((e) => [e.path, { oid: e.oid, type: e.type }]));
  } catch {
    return undefined;
  }
}

/** Moves the spooled pack into objects/pack and writes its index. Returns whether it is new. */
async function storePack(gitdir: string, req: ReceiveRequest): Promise<{ pack: string; isNew: boolean } | undefined> {
  if (!req.packFile || !req.packId) return undefined;
  if (req.packObjects === 0) {
    await fsp.rm(req.packFile, { force: true });
    return undefined;
  }
  const packDir = path.join(gitdir, 'objects', 'pack');
  await fsp.mkdir(packDir, { recursive: true });
  const pack = path.join(packDir, `pack-${req.packId}.pack`);
  const idx = pack.replace(/\.pack$/, '.idx');
  const exists = await fsp.stat(idx).then(() => true, () => false);
  if (exists) {
    await fsp.rm(req.packFile, { force: true });
    return { pack, isNew: false };
  }
  await fsyncFile(req.packFile);
  await renameDurable(req.packFile, pack);
  try {
    await git.indexPack({ fs, dir: gitdir, gitdir, filepath: path.relative(gitdir, pack) });
  } catch (err) {
    await fsp.rm(pack, { force: true });
    await fsp.rm(idx, { force: true });
    throw err;
  }
  await fsyncFile(idx);
  await fsyncDir(packDir);
  return { pack, isNew: true };
}

/** Applies `req` to the repository and writes progress and report to `out` (not ended). */
export async function applyPush(req: ReceiveRequest, out: Writable, opts: ApplyPushOptions): Promise<void> {
  const reporter = new PushReporter(out, req.caps);
  const { gitdir } = opts;
  if (req.tooLarge) {
    reporter.say(`${TAG} ${req.tooLarge.message}`);
    reporter.report('pack too large', req.commands.map((cmd) => ({ cmd, error: 'pack too large' })));
    return;
  }

  let stored: { pack: string; isNew: boolean } | undefined;
  try {
    stored = await storePack(gitdir, req);
  } catch (err) {
    opts.log?.warn({ err, repo: opts.name }, 'git push: cannot index pack');
    reporter.say(`${TAG} cannot read the pack: ${(err as Error).message}`);
    reporter.report('index-pack failed', req.commands.map((cmd) => ({ cmd, error: 'unpacker error' })));
    return;
  }

  const cache = {};
  const results: CommandResult[] = [];
  const accepted: RefCommand[] = [];
  let changed = false;
  for (const cmd of req.commands) {
    const error = await applyCommand(cmd, reporter, opts, cache);
    results.push({ cmd, error });
    if (error) continue;
    changed = true;
    if (cmd.newOid !== ZERO_OID && cmd.newOid !== cmd.oldOid && isTracked(cmd.ref, opts.branches)) accepted.push(cmd);
  }

  const packUsed = results.some((r) => !r.error && r.cmd.newOid !== ZERO_OID);
  if (stored?.isNew && !packUsed) {
    await fsp.rm(stored.pack, { force: true });
    await fsp.rm(stored.pack.replace(/\.pack$/, '.idx'), { force: true });
  }

  if (changed) await pointHeadAtABranch(gitdir);
  // The repository backup and the publication of the accepted commits run side by side: the
  // ref has moved durably, publishing does not read the backup, and the backup (the whole
  // repository, tens of milliseconds) only matters to a controller on a new machine. A crash
  // before both end leaves the pusher without an answer, so the push is retried.
  const backup = async () => {
    if (!changed || !opts.afterRefsChanged) return;
    try {
      await opts.afterRefsChanged();
    } catch (err) {
      opts.log?.warn({ err, repo: opts.name }, 'git push: backup failed');
      reporter.say(`${TAG} warning: accepted, but the repository backup failed: ${(err as Error).message}`);
    }
  };
  const publish = async () => {
    for (const cmd of accepted) {
      try {
        await opts.onAccepted(gitdir, cmd.newOid, cmd.ref);
      } catch (err) {
        opts.log?.warn({ err, repo: opts.name, ref: cmd.ref }, 'git push: onAccepted failed');
        reporter.say(`${TAG} warning: ${cmd.ref} accepted, but applying it failed: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all([backup(), publish()]);
  reporter.report('ok', results);
}

/** Checks and performs one ref update; returns the rejection reason, or undefined when done. */
async function applyCommand(
  cmd: RefCommand,
  reporter: PushReporter,
  opts: ApplyPushOptions,
  cache: object,
): Promise<string | undefined> {
  const { gitdir } = opts;
  const { ref, oldOid, newOid } = cmd;
  if (!isValidRefName(ref)) return 'invalid ref name';
  const isBranch = ref.startsWith('refs/heads/');
  if (!isBranch && !ref.startsWith('refs/tags/')) return 'only branches and tags can be pushed';
  const current = await currentOid(gitdir, ref);
  if (oldOid !== current) return 'fetch first';
  if (newOid === current) return undefined;
  if (newOid === ZERO_OID) {
    await deleteRef(gitdir, ref);
    reporter.say(`${TAG} deleted ${ref}`);
    opts.log?.info({ repo: opts.name, ref }, 'git push: ref deleted');
    return undefined;
  }
  const missing = await missingObjects(gitdir, newOid, cache, current);
  if (missing) return missing;
  if (current !== ZERO_OID) {
    if (!isBranch) return 'tag already exists';
    if (!opts.allowNonFastForward) {
      const ff = await git.isDescendent({ fs, gitdir, oid: newOid, ancestor: current, depth: -1, cache }).catch(() => false);
      if (!ff) return 'non-fast-forward';
    }
  }
  if (isBranch) {
    const obj = await git.readObject({ fs, gitdir, oid: newOid, cache, format: 'parsed' });
    if (obj.type !== 'commit') return 'a branch must point at a commit';
  }
  if (isTracked(ref, opts.branches)) {
    reporter.say(`${TAG} checking ${short(newOid)} for ${ref}`);
    let check;
    try {
      check = await withTimeout(opts.validate(gitdir, newOid, ref), opts.validateTimeoutMs ?? DEFAULT_VALIDATE_TIMEOUT_MS);
    } catch (err) {
      opts.log?.warn({ err, repo: opts.name, ref }, 'git push: validation crashed');
      reporter.say(`${TAG} validation could not run: ${(err as Error).message}`);
      return 'validation error';
    }
    if (!check.ok) {
      const n = check.errors.length;
      reporter.say(`${TAG} rejected ${short(newOid)} for ${ref}: ${n} error${n === 1 ? '' : 's'}`);
      sayLines(reporter, check.errors);
      opts.log?.info({ repo: opts.name, ref, commit: newOid, errors: n }, 'git push: rejected by validation');
      if (!reporter.sideband && check.errors[0]) return `validation failed: ${check.errors[0]}`;
      return 'validation failed';
    }
    if (!(await tryWriteRef(gitdir, ref, newOid, opts))) return 'cannot lock ref';
    reporter.say(`${TAG} accepted ${short(newOid)} for ${ref}`);
    sayLines(reporter, check.summary);
  } else if (!(await tryWriteRef(gitdir, ref, newOid, opts))) {
    return 'cannot lock ref';
  }
  opts.log?.info({ repo: opts.name, ref, from: oldOid, to: newOid }, 'git push: ref updated');
  return undefined;
}

/**
 * Writes a ref; false when the file system refuses, e.g. `a` while `a/b` exists (Git's
 * directory/file conflict), so that one bad ref does not break the whole report.
 */
async function tryWriteRef(gitdir: string, ref: string, oid: string, opts: ApplyPushOptions): Promise<boolean> {
  try {
    await writeRef(gitdir, ref, oid);
    return true;
  } catch (err) {
    opts.log?.warn({ err, repo: opts.name, ref }, 'git push: cannot write ref');
    return false;
  }
}

/** Prints `lines`, at most MAX_PRINTED_LINES of them, then how many were left out. */
function sayLines(reporter: PushReporter, lines: string[]): void {
  for (const line of lines.slice(0, MAX_PRINTED_LINES)) reporter.say(line);
  if (lines.length > MAX_PRINTED_LINES) reporter.say(`${TAG} ... and ${lines.length - MAX_PRINTED_LINES} more`);
}

/** `p`, or a rejection after `ms` (p keeps running; its result is ignored). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`validation did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** When HEAD names a branch that does not exist but another does, HEAD moves to that one. */
async function pointHeadAtABranch(gitdir: string): Promise<void> {
  const snap = await readRefs(gitdir);
  if (snap.headOid) return;
  const branch = snap.refs.find((r) => r.name.startsWith('refs/heads/'));
  if (branch) await writeHead(gitdir, branch.name);
}
