/**
 * Validation of a whole commit: lists the source, reads every *.yaml / *.yml file (skipping
 * dot-folders), refuses oversized, binary, non-UTF-8 and symlinked manifests with a clear
 * error, parses each file once, then checks references and quotas across all of them.
 * Never throws for bad content: every problem becomes a `ManifestError`. Only an I/O failure
 * of the source itself throws (ManifestSourceError).
 *
 * This is what `ringstack validate` and the git pre-receive check call.
 */
import type { ProjectUsage } from '../../agents/contract/desired.js';
import { sortErrors, type ManifestError } from './errors.js';
import { parseManifestFile, type BrokenRef, type ParsedFile } from './parse.js';
import { checkQuotas } from './quotas.js';
import { checkReferences } from './references.js';
import { ParseCache } from './parse-cache.js';
import { Reporter } from './reporter.js';
import type { ValidationMemo } from './validation-memo.js';
import { isHidden, symlinkEscapes, type ManifestSource } from './source.js';
import { KINDS, type Catalog, type Kind, type Manifest } from './types.js';

/** Largest manifest file read (bigger ones are refused without being read). */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** Files read at once. */
const READ_CONCURRENCY = 16;
const YAML_FILE = /\.ya?ml$/i;

export interface ValidateOptions {
  maxFileBytes?: number;
  /** Reuse files parsed by earlier validations (long-running controllers). */
  cache?: ParseCache;
  /** The last valid commit's checks: a commit changing a few instances is checked against them (validation-memo.ts). */
  memo?: ValidationMemo;
}

export interface ValidationResult {
  ok: boolean;
  /** Sorted by file, line, column. */
  errors: ManifestError[];
  /** The valid manifests with references resolved (complete only when ok). */
  catalog: Catalog;
  usage: Map<string, ProjectUsage>;
  /** Manifest files read. */
  files: number;
  /** Valid documents per kind. */
  counts: Record<Kind, number>;
}

/** Validates every manifest of `source`. */
export async function validate(source: ManifestSource, options: ValidateOptions = {}): Promise<ValidationResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const reporter = new Reporter();
  const entries = (await source.list()).filter((e) => !isHidden(e.path));
  const toRead: string[] = [];
  /** Content ids (git blob ids) of `toRead`, when the source knows them. */
  const ids: Array<string | undefined> = [];
  for (const e of entries) {
    const yaml = YAML_FILE.test(e.path);
    if (e.kind === 'symlink') {
      const escapes = e.target !== undefined && symlinkEscapes(e.path, e.target);
      if (escapes) reporter.file(e.path, `symbolic link to ${JSON.stringify(e.target)} points outside the repository; it is not followed`);
      else if (yaml) reporter.file(e.path, `is a symbolic link${e.target ? ` to ${JSON.stringify(e.target)}` : ''}; manifests must be regular files (links are not followed)`);
      continue;
    }
    if (!yaml) continue;
    if (e.size > maxBytes) {
      reporter.file(e.path, `file is ${e.size} bytes, over the ${maxBytes}-byte limit for a manifest; split it`);
      continue;
    }
    toRead.push(e.path);
    ids.push(e.id);
  }

  const cache = options.cache;
  cache?.begin();
  const parsedFiles = new Array<ParsedFile | undefined>(toRead.length);
  let next = 0;
  const worker = async () => {
    while (next < toRead.length) {
      const i = next++;
      const path = toRead[i]!;
      const id = ids[i];
      let hit = cache && id !== undefined ? cache.at(i, path, id) : undefined;
      let key: string | undefined;
      let bytes: Buffer | undefined;
      if (!hit) {
        bytes = await source.read(path);
        if (cache && id === undefined) {
          key = ParseCache.key(path, ParseCache.contentId(bytes));
          hit = cache.get(key);
        }
      }
      if (hit) {
        reporter.setLines(path, hit.lines);
        for (const e of hit.errors) reporter.errors.push(e);
        parsedFiles[i] = hit.parsed;
        continue;
      }
      const text = decode(path, bytes!, maxBytes, reporter);
      if (text === undefined) continue;
      const before = reporter.errors.length;
      let parsed: ParsedFile;
      try {
        parsed = parseManifestFile(path, text, reporter);
      } catch (e) {
        // The YAML library or a check failed on hostile input: report it, never crash.
        reporter.errors.length = before;
        reporter.file(path, `could not be parsed: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      parsedFiles[i] = parsed;
      if (cache) {
        const file = { parsed, errors: reporter.errors.slice(before), lines: reporter.linesOf(path)! };
        if (id !== undefined) cache.setAt(i, path, id, file);
        else cache.set(key!, file);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, toRead.length) }, worker));

  const memo = options.memo;
  if (memo && reporter.errors.length === 0) {
    const p = memo.patch(toRead, parsedFiles);
    if (p) return { ok: true, errors: [], catalog: p.catalog, usage: p.usage, files: toRead.length, counts: p.counts };
  }

  const manifests: Manifest[] = [];
  const broken: BrokenRef[] = [];
  for (const parsed of parsedFiles) {
    if (!parsed) continue;
    for (const m of parsed.manifests) manifests.push(m);
    for (const b of parsed.broken) broken.push(b);
  }

  const { catalog, index } = checkReferences(manifests, broken, reporter);
  const usage = checkQuotas(catalog, reporter);
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const m of manifests) counts[m.kind]++;
  const errors = sortErrors(reporter.errors);
  if (memo && errors.length === 0) memo.record(toRead, parsedFiles, index, catalog, counts);
  else memo?.forget();
  return { ok: errors.length === 0, errors, catalog, usage, files: toRead.length, counts };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of a manifest file, or undefined (after reporting) when it is not UTF-8 text. */
function decode(path: string, bytes: Buffer, maxBytes: number, reporter: Reporter): string | undefined {
  if (bytes.length > maxBytes) {
    reporter.file(path, `file is ${bytes.length} bytes, over the ${maxBytes}-byte limit for a manifest; split it`);
    return undefined;
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    reporter.file(path, `is a binary file (NUL byte at offset ${nul}), not YAML`);
    return undefined;
  }
  try {
    const text = utf8.decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    reporter.file(path, 'is not valid UTF-8 text');
    return undefined;
  }
}
