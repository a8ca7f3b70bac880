/**
 * A ManifestSource over the tree of one commit, read with isomorphic-git: what the manifest
 * validator reads when it checks a pushed or fetched commit. Paths are relative to the root
 * and use `/`. Symbolic links (mode 120000) are listed as `symlink` with the length of their
 * target and are never followed or read; submodules (160000) are skipped.
 *
 * Each entry carries its blob id, so a validator with a ParseCache never reads a blob it has
 * already parsed. Listing needs every blob's size, which isomorphic-git only gives by reading
 * the blob: sizes are remembered by blob id (content-addressed, so they never change) and a blob
 * read for its size is kept for `read()`. Trees are remembered by id too (a commit that changes
 * one file has new trees only on that file's path). A push of one changed file to a 10,000-file
 * repository then reads one blob and a few trees instead of 20,000 blobs and every tree.
 */

import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { SymlinkNotFollowed, TreePathNotFound } from './errors.js';

/** Mode of a symbolic link in a Git tree. */
const MODE_SYMLINK = '120000';
/** Blob sizes remembered across sources (about 60 bytes each); the table restarts when full. */
const MAX_KNOWN_SIZES = 500_000;
const knownSizes = new Map<string, number>();
/** Tree entries remembered by tree id; the table restarts when full. */
const MAX_KNOWN_TREES = 20_000;
const knownTrees = new Map<string, ReadonlyArray<{ mode: string; path: string; oid: string; type: string }>>();

/** One entry of a commit's tree as the manifest validator sees it. */
export interface SourceEntry {
  path: string;
  size: number;
  kind: 'file' | 'symlink';
  /** The blob id: equal ids mean equal bytes. */
  id?: string;
}

/** The shape controller/manifests reads manifests through. */
export interface ManifestSource {
  list(): Promise<SourceEntry[]>;
  read(path: string): Promise<Buffer>;
}

/** A ManifestSource for commit `commitOid` of the repository at `gitdir`. */
export class GitTreeSource implements ManifestSource {
  private readonly cache = {};
  private index?: Map<string, { oid: string; kind: 'file' | 'symlink'; size: number }>;
  /** Blobs read while listing (their size was not known), served once by read(). */
  private readonly listed = new Map<string, Uint8Array>();

  constructor(
    readonly gitdir: string,
    readonly commitOid: string,
  ) {}

  /** Every file and symlink of the tree, sorted by path. */
  async list(): Promise<SourceEntry[]> {
    const index = await this.load();
    return [...index.entries()]
      .map(([path, e]) => ({ path, size: e.size, kind: e.kind, id: e.oid }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The bytes of the file at `path`; TreePathNotFound or SymlinkNotFollowed otherwise. */
  async read(path: string): Promise<Buffer> {
    const index = await this.load();
    const e = index.get(path.replace(/^\.?\//, ''));
    if (!e) throw new TreePathNotFound(`${path}: no such file in commit ${this.commitOid.slice(0, 7)}`);
    if (e.kind === 'symlink') throw new SymlinkNotFollowed(`${path}: is a symbolic link, which is not followed`);
    const kept = this.listed.get(e.oid);
    if (kept) {
      this.listed.delete(e.oid);
      return Buffer.from(kept);
    }
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid: e.oid, cache: this.cache });
    return Buffer.from(blob);
  }

  private async load(): Promise<Map<string, { oid: string; kind: 'file' | 'symlink'; size: number }>> {
    if (this.index) return this.index;
    const index = new Map<string, { oid: string; kind: 'file' | 'symlink'; size: number }>();
    const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid: this.commitOid, cache: this.cache });
    const stack: Array<{ oid: string; prefix: string }> = [{ oid: commit.tree, prefix: '' }];
    while (stack.length) {
      const { oid, prefix } = stack.pop()!;
      let tree = knownTrees.get(oid);
      if (tree === undefined) {
        tree = (await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache })).tree;
        if (knownTrees.size >= MAX_KNOWN_TREES) knownTrees.clear();
        knownTrees.set(oid, tree);
      }
      for (const e of tree) {
        const path = prefix + e.path;
        if (e.type === 'tree') stack.push({ oid: e.oid, prefix: `${path}/` });
        else if (e.type === 'blob') {
          // The size needs the object's header; reading the blob is the only way isomorphic-git offers.
          let size = knownSizes.get(e.oid);
          if (size === undefined) {
            const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid: e.oid, cache: this.cache });
            size = blob.length;
            if (knownSizes.size >= MAX_KNOWN_SIZES) knownSizes.clear();
            knownSizes.set(e.oid, size);
            if (e.mode !== MODE_SYMLINK) this.listed.set(e.oid, blob);
          }
          index.set(path, { oid: e.oid, kind: e.mode === MODE_SYMLINK ? 'symlink' : 'file', size });
        }
      }
    }
    this.index = index;
    return index;
  }
}

/** Shorthand for `new GitTreeSource(gitdir, commitOid)`. */
export function treeSource(gitdir: string, commitOid: string): ManifestSource {
  return new GitTreeSource(gitdir, commitOid);
}
