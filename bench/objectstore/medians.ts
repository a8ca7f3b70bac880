/**
 * Medians of several `bench.js --swift` runs, per API and phase: the ratio ringstack / Swift
 * (with each run's ratio beside it), the two systems' own throughput and p99, and the range of
 * server CPU per operation. The issues ask for medians of several runs, and one run on this
 * shared host can be far off (a Swift run at a third of its usual rate, a load spike); reading
 * them by hand from nine JSON files was slow and error-prone.
 *
 *   node dist/bench/objectstore/medians.js run1.json run2.json run3.json [--json]
 *
 * Prints a Markdown table (or, with --json, the same as JSON), then the disk limits of every
 * run that measured them (`--disk-limits`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PhaseResult } from './load.js';
import { median } from '../stats.js';

type Api = 'swift_api' | 's3_api';
const PHASES = ['put_small', 'get_small', 'put_large', 'get_large'] as const;
type Phase = typeof PHASES[number];

/** The part of bench.js's output this reads. */
export interface BenchRun {
  ringstack: Partial<Record<Api, { phases: PhaseResult[] }>>;
  swift?: Partial<Record<Api, { phases: PhaseResult[] }>>;
  /** bench.ts's own ratios (`ratios`), taken as they are rather than computed a second way. */
  ratio_ringstack_over_swift?: Partial<Record<Api, Record<string, { throughput: number | null }>>>;
  disk_limits?: unknown;
}

export interface CellSummary {
  api: Api;
  phase: Phase;
  /** ops/s for 4 KiB phases, MB/s for 16 MiB ones. */
  unit: 'ops/s' | 'MB/s';
  /** Median of the per-run ratios ringstack / Swift (above 1: ringstack faster). */
  ratio: number;
  ratios: number[];
  ringstack: { median: number; p99_ms: number; cpu_ms_per_op: [number, number] };
  swift: { median: number; p99_ms: number; cpu_ms_per_op: [number, number] };
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function phaseOf(run: BenchRun, system: 'ringstack' | 'swift', api: Api, phase: Phase): PhaseResult | undefined {
  return run[system]?.[api]?.phases.find((p) => p.phase === phase);
}

/**
 * One summary per API and phase that every run measured on both systems. Throws when a run
 * lacks Swift (a run without --swift has no ratio to take).
 */
export function summarize(runs: BenchRun[]): CellSummary[] {
  if (runs.length === 0) throw new Error('no runs given');
  runs.forEach((r, i) => {
    if (!r.swift || !r.ratio_ringstack_over_swift) throw new Error(`run ${i + 1} has no Swift results (bench.js without --swift)`);
  });
  const out: CellSummary[] = [];
  for (const api of ['swift_api', 's3_api'] as const) {
    for (const phase of PHASES) {
      const pairs = runs.map((r) => [phaseOf(r, 'ringstack', api, phase), phaseOf(r, 'swift', api, phase)] as const);
      const ratios = runs.map((r) => r.ratio_ringstack_over_swift![api]?.[phase]?.throughput);
      if (pairs.some(([a, b]) => !a || !b) || ratios.some((x) => typeof x !== 'number')) continue;
      const unit = phase.endsWith('small') ? 'ops/s' : 'MB/s';
      const value = (p: PhaseResult) => (unit === 'ops/s' ? p.ops_s : p.mb_s);
      const side = (k: 0 | 1) => {
        const ps = pairs.map((x) => x[k]!);
        const cpu = ps.map((p) => p.server_cpu_ms_per_op).filter((c): c is number => c !== undefined);
        return {
          median: round(median(ps.map(value)), 1),
          p99_ms: round(median(ps.map((p) => p.p99_ms)), 1),
          cpu_ms_per_op: (cpu.length ? [Math.min(...cpu), Math.max(...cpu)] : [NaN, NaN]) as [number, number],
        };
      };
      out.push({ api, phase, unit, ratio: round(median(ratios as number[]), 2), ratios: ratios as number[], ringstack: side(0), swift: side(1) });
    }
  }
  return out;
}

/** The Markdown table of the bench READMEs: ratio (per run), medians rs / swift, p99, CPU range. */
export function markdown(cells: CellSummary[]): string {
  const api = (a: Api) => (a === 'swift_api' ? 'Swift' : 'S3');
  const phase = (p: Phase) => `${p.endsWith('small') ? '4 KiB' : '16 MiB'} ${p.startsWith('put') ? 'PUT' : 'GET'}`;
  const range = ([a, b]: [number, number]) => (Number.isNaN(a) ? '-' : a === b ? `${a}` : `${a}-${b}`);
  const lines = [
    '| API | phase | ratio (per run) | ringstack / Swift | p99 ms | server CPU ms/op |',
    '|---|---|---|---|---|---|',
    ...cells.map((c) => `| ${api(c.api)} | ${phase(c.phase)} | ${c.ratio.toFixed(2)}× (${c.ratios.map((r) => r.toFixed(2)).join(', ')}) `
      + `| ${c.ringstack.median} / ${c.swift.median} ${c.unit} | ${c.ringstack.p99_ms} / ${c.swift.p99_ms} `
      + `| ${range(c.ringstack.cpu_ms_per_op)} / ${range(c.swift.cpu_ms_per_op)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

function main(): void {
  const args = process.argv.slice(2);
  const asJson = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (files.length === 0) {
    process.stderr.write('usage: medians.js RUN.json [RUN.json ...] [--json]\n');
    process.exit(2);
  }
  const runs = files.map((f) => {
    const text = readFileSync(f, 'utf8');
    try {
      return JSON.parse(text) as BenchRun;
    } catch (e) {
      throw new Error(`${f}: not a bench.js result (${(e as Error).message})`);
    }
  });
  const cells = summarize(runs);
  const disks = files.flatMap((f, i) => (runs[i]!.disk_limits ? [{ file: f, disk_limits: runs[i]!.disk_limits }] : []));
  if (asJson) {
    process.stdout.write(`${JSON.stringify({ runs: files.length, cells, disk_limits: disks }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${files.length} runs\n\n${markdown(cells)}`);
  for (const d of disks) process.stdout.write(`\ndisk limits (${d.file}): ${JSON.stringify(d.disk_limits)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`medians: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
