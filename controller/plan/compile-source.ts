/**
 * Validate-then-compile in one call, for callers that hold a ManifestSource (the git
 * controller after a push, `ringstack plan`): returns the validation errors, or the compiled
 * state when the commit is valid. Also reads host lists from a file for offline planning.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { DesiredState } from '../../agents/contract/desired.js';
import type { ManifestSource } from '../manifests/source.js';
import type { ParseCache } from '../manifests/parse-cache.js';
import { validate, type ValidationResult } from '../manifests/validate.js';
import type { ValidationMemo } from '../manifests/validation-memo.js';
import type { CompileCache } from './compile-cache.js';
import { compile, type CompileResult } from './compile.js';
import type { SchedulerHost, SchedulerOptions } from './scheduler.js';

export interface CompileSourceOptions {
  revision: string;
  /** A promise (hosts and previous state still being read) is awaited after validation, which it overlaps. */
  hosts: SchedulerHost[] | Promise<SchedulerHost[]>;
  previous?: DesiredState | Promise<DesiredState | undefined>;
  lastSeen?: Record<string, string | number>;
  now: Date | string | number;
  scheduler?: SchedulerOptions;
  maxFileBytes?: number;
  cache?: ParseCache;
  /** The last valid commit's checks (a long-running controller keeps one). */
  memo?: ValidationMemo;
  /** What the last compile built (a long-running controller keeps one). */
  compileCache?: CompileCache;
}

export type CompileSourceResult =
  | { ok: false; validation: ValidationResult }
  | { ok: true; validation: ValidationResult; compiled: CompileResult };

export async function compileSource(source: ManifestSource, o: CompileSourceOptions): Promise<CompileSourceResult> {
  const inputs = Promise.all([o.hosts, o.previous]);
  inputs.catch(() => undefined); // awaited below unless validation fails or throws first
  const validation = await validate(source, {
    ...(o.maxFileBytes !== undefined ? { maxFileBytes: o.maxFileBytes } : {}), ...(o.cache ? { cache: o.cache } : {}),
    ...(o.memo ? { memo: o.memo } : {}),
  });
  if (!validation.ok) return { ok: false, validation };
  const [hosts, previous] = await inputs;
  const compiled = compile({
    catalog: validation.catalog, usage: validation.usage, revision: o.revision, hosts, now: o.now,
    ...(previous ? { previous } : {}), ...(o.lastSeen ? { lastSeen: o.lastSeen } : {}),
    ...(o.scheduler ? { scheduler: o.scheduler } : {}), ...(o.compileCache ? { cache: o.compileCache } : {}),
  });
  return { ok: true, validation, compiled };
}

/** A hosts file could not be used; the message names the file and the entry. */
export class HostsFileError extends Error {
  override name = 'HostsFileError';
}

/**
 * Reads a JSON or YAML list of hosts: `[{name, zone, vcpus, memoryMiB, diskGiB, lastHeartbeat?}]`.
 * A missing lastHeartbeat means "up now".
 */
export async function readHostsFile(path: string, now: Date | number | string): Promise<SchedulerHost[]> {
  let data: unknown;
  try {
    data = parseYaml(await readFile(path, 'utf8'));
  } catch (e) {
    throw new HostsFileError(`${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(data)) throw new HostsFileError(`${path}: expected a list of hosts`);
  const seen = new Set<string>();
  return data.map((h, i) => {
    const where = `${path}: host ${i + 1}`;
    if (typeof h !== 'object' || h === null) throw new HostsFileError(`${where}: expected a mapping`);
    const r = h as Record<string, unknown>;
    if (typeof r.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(r.name)) throw new HostsFileError(`${where}: name must be a host name`);
    if (seen.has(r.name)) throw new HostsFileError(`${where}: duplicate host ${r.name}`);
    seen.add(r.name);
    for (const k of ['vcpus', 'memoryMiB', 'diskGiB'] as const) {
      if (typeof r[k] !== 'number' || !Number.isFinite(r[k]) || (r[k] as number) < 0) throw new HostsFileError(`${where} (${r.name}): ${k} must be a number >= 0`);
    }
    const hb = r.lastHeartbeat ?? new Date(now instanceof Date ? now.getTime() : now).toISOString();
    if (typeof hb !== 'string' && typeof hb !== 'number') throw new HostsFileError(`${where} (${r.name}): lastHeartbeat must be an ISO time or epoch ms`);
    return {
      name: r.name, zone: typeof r.zone === 'string' ? r.zone : 'default',
      vcpus: r.vcpus as number, memoryMiB: r.memoryMiB as number, diskGiB: r.diskGiB as number, lastHeartbeat: hb,
    };
  });
}
