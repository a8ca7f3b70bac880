/**
 * Reading and moving refs of a bare repository.
 *
 * Reads go through isomorphic-git (loose refs and packed-refs). Writes are our own: a ref
 * moves by an atomic, fsynced rename of its loose file, so a crash leaves the old or the new
 * value. Callers serialise writers per repository (see repo-store.ts) and compare the
 * current value before writing, which makes an update a compare-and-swap.
 */

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import git from 'isomorphic-git';
import { ZERO_OID } from './types.js';
import { writeFileDurable } from './durable.js';

/** Characters and sequences `git check-ref-format` forbids. */
const BAD_REF_CHARS = /[\x00-\x20\x7f~^:?*[\\]/;

/** One ref as advertised to clients. `peeled` is the commit an annotated tag points at. */
export interface RefEntry {
  name: string;
  oid: string;
  peeled?: string;
}

/** The refs of a repository and where HEAD points. */
export interface RefSnapshot {
  /** Target of the symbolic HEAD, e.g. `refs/heads/main`. */
  headTarget: string;
  /** Object HEAD resolves to, if its target exists. */
  headOid?: string;
  /** All refs under refs/, sorted by name. */
  refs: RefEntry[];
}

/** True when `name` is a full ref name Git itself would accept (git check-ref-format). */
export function isValidRefName(name: string): boolean {
  if (!name.startsWith('refs/') || name.endsWith('/') || name.endsWith('.')) return false;
  if (BAD_REF_CHARS.test(name) || name.includes('..') || name.includes('//') || name.includes('@{')) return false;
  return name.split('/').every((part) => part.length > 0 && !part.startsWith('.') && !part.endsWith('.lock'));
}

/** The value of `ref`, or ZERO_OID when it does not exist. */
export async function currentOid(gitdir: string, ref: string): Promise<string> {
  try {
    return await git.resolveRef({ fs, gitdir, ref, depth: 1 });
  } catch {
    return ZERO_OID;
  }
}

/** Lists every ref under refs/ with its value, annotated tags peeled, plus HEAD. */
export async function readRefs(gitdir: string): Promise<RefSnapshot> {
  const names = new Set<string>();
  for (const prefix of ['refs/heads', 'refs/tags']) {
    // isomorphic-git lists the peeled lines of packed-refs as `<tag>^{}`: not refs.
    for (const rel of await git.listRefs({ fs, gitdir, filepath: prefix })) if (!rel.endsWith('^{}')) names.add(`${prefix}/${rel}`);
  }
  const refs: RefEntry[] = [];
  for (const name of [...names].sort()) {
    const oid = await currentOid(gitdir, name);
    if (oid === ZERO_OID) continue;
    const entry: RefEntry = { name, oid };
    if (name.startsWith('refs/tags/')) {
      const obj = await git.readObject({ fs, gitdir, oid, format: 'parsed' }).catch(() => undefined);
      if (obj?.type === 'tag') entry.peeled = (obj.object as { object: string }).object;
    }
    refs.push(entry);
  }
  const headText = (await fsp.readFile(path.join(gitdir, 'HEAD'), 'utf8').catch(() => '')).trim();
  const headTarget = headText.startsWith('ref: ') ? headText.slice(5) : 'refs/heads/main';
  const head = refs.find((r) => r.name === headTarget);
  return { headTarget, headOid: head?.oid, refs };
}

/** Points `ref` at `oid` (atomic rename of the loose ref file). */
export async function writeRef(gitdir: string, ref: string, oid: string): Promise<void> {
  await writeFileDurable(path.join(gitdir, ref), `${oid}\n`);
}

/** Deletes `ref`: its loose file and, if present, its line in packed-refs. */
export async function deleteRef(gitdir: string, ref: string): Promise<void> {
  await fsp.rm(path.join(gitdir, ref), { force: true });
  // Remove folders the ref leaves empty (refs/heads/a/ after deleting a/b), so `a` can exist.
  for (let dir = path.dirname(ref); dir.split('/').length > 2; dir = path.dirname(dir)) {
    if (!(await fsp.rmdir(path.join(gitdir, dir)).then(() => true, () => false))) break;
  }
  const packedFile = path.join(gitdir, 'packed-refs');
  const packed = await fsp.readFile(packedFile, 'utf8').catch(() => undefined);
  if (packed === undefined) return;
  const lines = packed.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.endsWith(` ${ref}`) && !line.startsWith('#')) {
      if (lines[i + 1]?.startsWith('^')) i++; // its peeled line goes too
      continue;
    }
    kept.push(line);
  }
  if (kept.length !== lines.length) await writeFileDurable(packedFile, kept.join('\n'));
}

/** Points HEAD at `ref` (symbolic), e.g. when the first push creates another branch than main. */
export async function writeHead(gitdir: string, ref: string): Promise<void> {
  await writeFileDurable(path.join(gitdir, 'HEAD'), `ref: ${ref}\n`);
}
