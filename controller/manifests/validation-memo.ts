/**
 * The last valid commit's cross-document checks, kept by a long-running controller so that the
 * next commit, when it changes only a few Instance documents (the usual push: a label, a power
 * state, user data, a fixed IP), is checked without resolving the other 10,000 instances again.
 *
 * It only ever proves a commit valid. The changed instances are resolved against the kept index
 * with the very checks a full validation runs (`resolveInstance`, `checkQuotas`); when it cannot
 * decide that way — a file of another kind changed, a document was added, removed or renamed,
 * a file appeared or went away, or any check reported a problem — it gives up and forgets, and
 * the caller runs the full check, whose errors (and their order) are the only ones reported.
 * A full check that succeeds records the next memo.
 */
import type { ProjectUsage } from '../../agents/contract/desired.js';
import type { ParsedFile } from './parse.js';
import { checkQuotas } from './quotas.js';
import { releaseInstance, resolveInstance, type ReferenceIndex } from './references.js';
import { Reporter } from './reporter.js';
import { manifestId, type Catalog, type InstanceManifest, type Kind, type ResolvedInstance } from './types.js';

/** More changed files than this: the full check (it is then about as cheap). */
const MAX_CHANGED_FILES = 32;

interface Kept {
  /** The files read, in listing order, and what each parsed to. */
  paths: string[];
  parsed: Array<ParsedFile | undefined>;
  index: ReferenceIndex;
  catalog: Catalog;
  /** Instance manifest -> its position in `catalog.instances`. */
  position: Map<InstanceManifest, number>;
  counts: Record<Kind, number>;
}

export interface PatchedValidation {
  catalog: Catalog;
  usage: Map<string, ProjectUsage>;
  counts: Record<Kind, number>;
}

export class ValidationMemo {
  private kept?: Kept;
  /** Whether the last validation was proved by the memo (true) or ran the full check. */
  patched = false;

  /** Records a commit the full check found valid. */
  record(paths: string[], parsed: Array<ParsedFile | undefined>, index: ReferenceIndex, catalog: Catalog, counts: Record<Kind, number>): void {
    const position = new Map<InstanceManifest, number>();
    catalog.instances.forEach((i, k) => position.set(i.manifest, k));
    this.kept = { paths, parsed, index, catalog, position, counts };
    this.patched = false;
  }

  forget(): void {
    this.kept = undefined;
    this.patched = false;
  }

  /**
   * The checks of a commit whose files are `paths` (listing order) parsed to `parsed` (a
   * ParseCache gives back the very objects of unchanged files), when the memo can prove it
   * valid; undefined otherwise (the memo is then forgotten: its index may be half updated).
   */
  patch(paths: string[], parsed: Array<ParsedFile | undefined>): PatchedValidation | undefined {
    const out = this.tryPatch(paths, parsed);
    if (out) this.patched = true;
    else this.forget();
    return out;
  }

  private tryPatch(paths: string[], parsed: Array<ParsedFile | undefined>): PatchedValidation | undefined {
    const kept = this.kept;
    if (!kept || paths.length !== kept.paths.length) return undefined;
    const changed: Array<[ResolvedInstance, InstanceManifest]> = [];
    let files = 0;
    for (let i = 0; i < paths.length; i++) {
      if (paths[i] !== kept.paths[i]) return undefined;
      const before = kept.parsed[i];
      const after = parsed[i];
      if (before === after) continue;
      if (++files > MAX_CHANGED_FILES || !before || !after) return undefined;
      if (before.broken.length || after.broken.length || before.manifests.length !== after.manifests.length) return undefined;
      for (let k = 0; k < after.manifests.length; k++) {
        const a = before.manifests[k]!;
        const b = after.manifests[k]!;
        if (a.kind !== 'Instance' || b.kind !== 'Instance' || manifestId(a) !== manifestId(b)) return undefined;
        const at = kept.position.get(a);
        if (at === undefined) return undefined;
        changed.push([kept.catalog.instances[at]!, b]);
      }
    }

    // From here on the index changes: any failure forgets the memo (patch()).
    const x = kept.index;
    for (const [old] of changed) releaseInstance(x, old);
    const r = new Reporter();
    const instances = kept.catalog.instances.slice();
    for (const [old, m] of changed) {
      x.byKind.Instance.set(manifestId(m), m);
      const resolved = resolveInstance(x, m, r);
      if (!resolved || r.errors.length) return undefined;
      const at = kept.position.get(old.manifest)!;
      kept.position.delete(old.manifest);
      kept.position.set(m, at);
      instances[at] = resolved;
    }
    const catalog: Catalog = { ...kept.catalog, instances };
    const usage = checkQuotas(catalog, r);
    if (r.errors.length) return undefined;
    kept.paths = paths;
    kept.parsed = parsed;
    kept.catalog = catalog;
    return { catalog, usage, counts: kept.counts };
  }
}
