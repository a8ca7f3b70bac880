/**
 * One measured pass of the controller pipeline in a fresh process (so peak RSS is this pass
 * alone): validate a directory, schedule and compile for the given hosts, serialise every
 * state document canonically. Prints one JSON line of wall and CPU times and memory.
 *
 * Mode `cold` (default) measures a first pass. Mode `warm` first does a cold pass with a
 * ParseCache and a CompileCache, then changes one instance manifest and measures the next pass
 * (caches + previous state), which is what a running controller does for each new commit.
 * Mode `git` is `warm` as the controller runs it after a push: both passes read commits of the
 * repository's git history (`HEAD~1`, then `HEAD`, which changes one file; bench.ts makes them)
 * through the git tree source, whose blob ids let the parse cache skip unchanged files unread.
 *
 * Mode `steady` is `git` repeated as a long-running controller sees it: after the cold pass,
 * STEADY_PASSES passes alternate between the two commits (each a one-file change from the one
 * before) and the median of each measure over them is printed, so the first warm pass's JIT
 * compilation and garbage collection of the cold pass count once, as in a controller's life.
 *
 * Usage: node dist/bench/controller/run-once.js <repo-dir> <hosts.json> [cold|warm|git|steady]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { GitTreeSource } from '../../controller/git/tree-source.js';
import { DirectorySource, type ManifestSource } from '../../controller/manifests/source.js';
import { EDITED, edit } from './generate.js';
import { ParseCache } from '../../controller/manifests/parse-cache.js';
import { validate } from '../../controller/manifests/validate.js';
import { ValidationMemo } from '../../controller/manifests/validation-memo.js';
import { CompileCache } from '../../controller/plan/compile-cache.js';
import { compile, serializeCompiled } from '../../controller/plan/compile.js';
import type { SchedulerHost } from '../../controller/plan/scheduler.js';
import type { DesiredState } from '../../agents/contract/desired.js';

const MIB = 1024 * 1024;
const STEADY_PASSES = 7;

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[v.length >> 1]!;
}

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function pass(source: ManifestSource, hosts: SchedulerHost[], now: number, cache?: ParseCache, previous?: DesiredState, compileCache?: CompileCache,
  memo?: ValidationMemo) {
  const c0 = cpu();
  const t0 = performance.now();
  const v = await validate(source, { ...(cache ? { cache } : {}), ...(memo ? { memo } : {}) });
  const t1 = performance.now();
  const c1 = cpu();
  if (!v.ok) throw new Error(`repository invalid: ${v.errors.slice(0, 5).map((e) => `${e.file}:${e.line} ${e.message}`).join('; ')}`);
  const c = compile({
    catalog: v.catalog, usage: v.usage, revision: previous ? 'bench-2' : 'bench-1', hosts, now,
    ...(previous ? { previous } : {}), ...(compileCache ? { cache: compileCache } : {}),
  });
  const t2 = performance.now();
  const c2 = cpu();
  const json = serializeCompiled(c);
  let bytes = json.desired.length;
  for (const h of Object.values(json.hosts)) bytes += h.length;
  const t3 = performance.now();
  const c3 = cpu();
  const heap = process.memoryUsage().heapUsed;
  return {
    desired: c.desired, heap,
    metrics: {
      validateMs: Math.round(t1 - t0), compileMs: Math.round(t2 - t1), serializeMs: Math.round(t3 - t2), totalMs: Math.round(t3 - t0),
      validateCpuMs: Math.round(c1 - c0), compileCpuMs: Math.round(c2 - c1), serializeCpuMs: Math.round(c3 - c2), totalCpuMs: Math.round(c3 - c0),
      files: v.files, instances: v.counts.Instance, placed: Object.keys(c.desired.placements.instances).length,
      unschedulable: Object.keys(c.desired.unschedulable).length, stateBytes: bytes,
      changedHosts: Object.values(c.desired.hosts).filter((h) => h.revision === 'bench-2').length,
      rebuilt: compileCache?.built ?? -1,
      incrementalValidation: memo?.patched ?? false, incrementalCompile: compileCache?.patched ?? false,
    },
  };
}

async function main(): Promise<void> {
  const [dir, hostsFile, mode = 'cold'] = process.argv.slice(2);
  if (!dir || !hostsFile || !['cold', 'warm', 'git', 'steady'].includes(mode)) throw new Error('usage: run-once <repo-dir> <hosts.json> [cold|warm|git|steady]');
  const now = Date.now();
  const hosts = (JSON.parse(await readFile(hostsFile, 'utf8')) as SchedulerHost[]).map((h) => ({ ...h, lastHeartbeat: now }));
  let result;
  let heapPeak = 0;
  if (mode === 'cold') {
    result = await pass(new DirectorySource(dir), hosts, now);
    heapPeak = result.heap;
  } else if (mode === 'steady') {
    const cache = new ParseCache();
    const compileCache = new CompileCache();
    const memo = new ValidationMemo();
    const revs = ['HEAD~1', 'HEAD'].map((r) => execFileSync('git', ['-C', dir, 'rev-parse', r], { encoding: 'utf8' }).trim());
    const gitdir = join(dir, '.git');
    let last = await pass(new GitTreeSource(gitdir, revs[0]!), hosts, now, cache, undefined, compileCache, memo);
    const passes: typeof last[] = [];
    for (let i = 1; i <= STEADY_PASSES; i++) {
      last = await pass(new GitTreeSource(gitdir, revs[i % 2]!), hosts, now, cache, last.desired, compileCache, memo);
      passes.push(last);
      heapPeak = Math.max(heapPeak, last.heap);
    }
    const metrics = { ...last.metrics };
    for (const k of ['validateMs', 'compileMs', 'serializeMs', 'totalMs', 'validateCpuMs', 'compileCpuMs', 'serializeCpuMs', 'totalCpuMs'] as const) {
      metrics[k] = median(passes.map((p) => p.metrics[k]));
    }
    result = { ...last, metrics };
  } else if (mode === 'git') {
    const cache = new ParseCache();
    const compileCache = new CompileCache();
    const memo = new ValidationMemo();
    const rev = (r: string) => execFileSync('git', ['-C', dir, 'rev-parse', r], { encoding: 'utf8' }).trim();
    const gitdir = join(dir, '.git');
    const first = await pass(new GitTreeSource(gitdir, rev('HEAD~1')), hosts, now, cache, undefined, compileCache, memo);
    result = await pass(new GitTreeSource(gitdir, rev('HEAD')), hosts, now, cache, first.desired, compileCache, memo);
    heapPeak = Math.max(first.heap, result.heap);
  } else {
    const cache = new ParseCache();
    const compileCache = new CompileCache();
    const memo = new ValidationMemo();
    const first = await pass(new DirectorySource(dir), hosts, now, cache, undefined, compileCache, memo);
    const path = join(dir, EDITED);
    const original = await readFile(path, 'utf8');
    try {
      await writeFile(path, edit(original));
      result = await pass(new DirectorySource(dir), hosts, now, cache, first.desired, compileCache, memo);
    } finally {
      await writeFile(path, original);
    }
    heapPeak = Math.max(first.heap, result.heap);
  }
  process.stdout.write(`${JSON.stringify({
    mode, ...result.metrics, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), heapPeakMiB: Math.round(heapPeak / MIB),
  })}\n`);
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
