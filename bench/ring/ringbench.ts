/**
 * Ring builder benchmark, ringstack against swift-ring-builder (Debian swift 2.30.1), side by
 * side in one run: part power 18, 3 replicas, min_part_hours 1, 100 devices (5 zones × 4 hosts ×
 * 5 disks, weight 100) → rebalance; then add 10 devices (2 per zone on a new host), pretend
 * min_part_hours passed, rebalance again. Both tools run as real processes through their CLIs
 * (`ringstack ring …` and `swift-ring-builder …`), so each time includes process start-up and
 * reading/writing the builder and ring files. Prints each run and the medians as a table and
 * one JSON line.
 *
 * usage: node dist/bench/ring/ringbench.js [--runs N] [--part-power P] [--seed S] [--only ringstack|swift]
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readBuilderFile } from '../../objectstore/ring/builder-file.js';
import { PYTHON, swiftBuilderStats, SWIFT_RING_BUILDER } from '../../objectstore/ring/oracle/swift-oracle.js';
import { median } from '../stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RINGSTACK = join(ROOT, 'bin', 'ringstack');
const RING_ONLY = join(ROOT, 'dist', 'bench', 'ring', 'ring-cli.js');
const REPLICAS = 3;

interface Step {
  /** swift-ring-builder, or `ringstack ring rebalance` loading only the ring command. */
  secs: number;
  /** CPU seconds (user + system) of that process. */
  cpu: number;
  /** ringstack only: the full `bin/ringstack` process (all subcommands' modules loaded). */
  fullCliSecs?: number;
  /** ringstack only: RingBuilder.rebalance() alone, in memory. */
  librarySecs?: number;
  reassigned: number;
  balance: number;
  dispersion: number;
}
interface RunResult { tool: string; rebalance1: Step; rebalance2: Step; moved2Pct: number }

function devices(first: boolean): string[] {
  const out: string[] = [];
  for (let z = 1; z <= 5; z++) {
    if (first) {
      for (let s = 1; s <= 4; s++) for (let d = 1; d <= 5; d++) out.push(`r1z${z}-127.0.${z}.${s}:6200/d${d}`, '100');
    } else {
      for (let d = 1; d <= 2; d++) out.push(`r1z${z}-127.0.${z}.5:6200/d${d}`, '100');
    }
  }
  return out;
}

/**
 * Python wrapper that runs a command and reports its wall time and CPU time (user + system, children
 * included) on the last line of stderr: CPU time is steadier than wall time on a shared machine.
 */
const CPU_WRAPPER = 'import resource, subprocess, sys, time\n' +
  't = time.monotonic()\n' +
  'r = subprocess.run(sys.argv[1:])\n' +
  't = time.monotonic() - t\n' +
  'u = resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
  'sys.stderr.write("\\nwall=%.6f cpu=%.6f\\n" % (t, u.ru_utime + u.ru_stime))\n' +
  'sys.exit(r.returncode)';

/** Runs a command; `okCodes` are the exit statuses that mean success (swift-ring-builder: 1 = warning). */
function run(cmd: string, args: string[], okCodes: number[]): { secs: number; cpu: number; out: string } {
  const r = spawnSync(PYTHON, ['-c', CPU_WRAPPER, cmd, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const m = /wall=([\d.]+) cpu=([\d.]+)\s*$/.exec(r.stderr ?? '');
  const secs = Number(m?.[1] ?? NaN);
  const cpu = Number(m?.[2] ?? NaN);
  if (r.status === null || !okCodes.includes(r.status)) {
    throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
  }
  return { secs, cpu, out: r.stdout };
}

const reassigned = (out: string): number => Number(/Reassigned (\d+)/.exec(out)?.[1] ?? NaN);

async function benchOne(tool: 'ringstack' | 'swift', partPower: number, seed: number): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), `ringbench-${tool}-`));
  try {
    const builder = join(dir, 'object.builder');
    const call = tool === 'swift'
      ? (args: string[]) => run(SWIFT_RING_BUILDER, [builder, ...args], [0, 1])
      : (args: string[]) => run(process.execPath, [RING_ONLY, args[0]!, builder, ...args.slice(1)], [0]);
    /** ringstack: also time the full CLI and the library call on copies of the same builder. */
    const extra = async (): Promise<Partial<Step>> => {
      if (tool === 'swift') return {};
      const copy = join(dir, 'copy.builder');
      await copyFile(builder, copy);
      const full = run(process.execPath, [RINGSTACK, 'ring', 'rebalance', copy, '--seed', String(seed)], [0]);
      const b = await readBuilderFile(builder);
      const t0 = process.hrtime.bigint();
      b.rebalance({ seed });
      return { fullCliSecs: full.secs, librarySecs: Number(process.hrtime.bigint() - t0) / 1e9 };
    };
    call(['create', String(partPower), String(REPLICAS), '1']);
    call(['add', ...devices(true)]);
    const x1 = await extra();
    const r1 = call(['rebalance', '--seed', String(seed)]);
    const stats = async () => {
      if (tool === 'swift') return swiftBuilderStats(builder);
      const b = await readBuilderFile(builder);
      return { balance: b.balance(), dispersion: b.dispersion() };
    };
    const s1 = await stats();
    call(['add', ...devices(false)]);
    call([tool === 'swift' ? 'pretend_min_part_hours_passed' : 'pretend-min-part-hours-passed']);
    const x2 = await extra();
    const r2 = call(['rebalance', '--seed', String(seed)]);
    const s2 = await stats();
    const moved = reassigned(r2.out);
    return {
      tool,
      rebalance1: { secs: r1.secs, cpu: r1.cpu, ...x1, reassigned: reassigned(r1.out), ...s1 },
      rebalance2: { secs: r2.secs, cpu: r2.cpu, ...x2, reassigned: moved, ...s2 },
      moved2Pct: 100 * moved / (REPLICAS * 2 ** partPower),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' }, 'part-power': { type: 'string', default: '18' },
      seed: { type: 'string', default: '7' }, only: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const partPower = Number(values['part-power']);
  const seed = Number(values.seed);
  const tools = (values.only ? [values.only] : ['ringstack', 'swift']) as Array<'ringstack' | 'swift'>;
  const results: Record<string, RunResult[]> = { ringstack: [], swift: [] };
  console.log(`ring bench: part power ${partPower}, ${REPLICAS} replicas, 100 devices in 5 zones, +10 devices; ` +
    `${runs} runs, seed ${seed}, ${cpus().length} cpus (${cpus()[0]?.model ?? '?'})`);
  for (let i = 0; i < runs; i++) {
    for (const tool of tools) {
      const r = await benchOne(tool, partPower, seed);
      results[tool]!.push(r);
      const more = (st: Step) => (st.fullCliSecs === undefined ? '' :
        ` [full CLI ${st.fullCliSecs.toFixed(2)} s, library ${st.librarySecs!.toFixed(2)} s]`);
      console.log(`run ${i + 1} ${tool.padEnd(9)} rebalance1 ${r.rebalance1.secs.toFixed(2)} s (cpu ${r.rebalance1.cpu.toFixed(2)} s)${more(r.rebalance1)} (balance ${r.rebalance1.balance.toFixed(4)}, ` +
        `dispersion ${r.rebalance1.dispersion.toFixed(2)})  rebalance2 ${r.rebalance2.secs.toFixed(2)} s (cpu ${r.rebalance2.cpu.toFixed(2)} s)` +
        `${more(r.rebalance2)} (balance ${r.rebalance2.balance.toFixed(4)}, dispersion ${r.rebalance2.dispersion.toFixed(2)}, moved ${r.moved2Pct.toFixed(3)}% of part-replicas)`);
    }
  }
  const summary: Record<string, unknown> = { tool: 'ringbench', part_power: partPower, replicas: REPLICAS, runs, seed };
  console.log('\nmedians:');
  console.log('tool       rebalance1 s  balance1  disp1  rebalance2 s  balance2  disp2  moved2 % of part-replicas');
  for (const tool of tools) {
    const rs = results[tool]!;
    const m = {
      rebalance1_secs: median(rs.map((r) => r.rebalance1.secs)),
      rebalance1_cpu_secs: median(rs.map((r) => r.rebalance1.cpu)),
      rebalance2_cpu_secs: median(rs.map((r) => r.rebalance2.cpu)),
      balance1: median(rs.map((r) => r.rebalance1.balance)),
      dispersion1: median(rs.map((r) => r.rebalance1.dispersion)),
      rebalance2_secs: median(rs.map((r) => r.rebalance2.secs)),
      balance2: median(rs.map((r) => r.rebalance2.balance)),
      dispersion2: median(rs.map((r) => r.rebalance2.dispersion)),
      moved2_pct: median(rs.map((r) => r.moved2Pct)),
      ...(tool === 'ringstack' ? {
        rebalance1_full_cli_secs: median(rs.map((r) => r.rebalance1.fullCliSecs!)),
        rebalance1_library_secs: median(rs.map((r) => r.rebalance1.librarySecs!)),
        rebalance2_full_cli_secs: median(rs.map((r) => r.rebalance2.fullCliSecs!)),
        rebalance2_library_secs: median(rs.map((r) => r.rebalance2.librarySecs!)),
      } : {}),
    };
    summary[tool] = m;
    console.log(`${tool.padEnd(10)} ${m.rebalance1_secs.toFixed(2).padStart(12)}  ${m.balance1.toFixed(4).padStart(8)}  ` +
      `${m.dispersion1.toFixed(2).padStart(5)}  ${m.rebalance2_secs.toFixed(2).padStart(12)}  ${m.balance2.toFixed(4).padStart(8)}  ` +
      `${m.dispersion2.toFixed(2).padStart(5)}  ${m.moved2_pct.toFixed(3)} (ideal ${(100 * 10 / 110).toFixed(3)})`);
  }
  if (tools.length === 2) {
    const a = summary.ringstack as Record<string, number>;
    const b = summary.swift as Record<string, number>;
    summary.speedup_rebalance1 = b.rebalance1_secs! / a.rebalance1_secs!;
    summary.speedup_rebalance2 = b.rebalance2_secs! / a.rebalance2_secs!;
    summary.cpu_ratio_rebalance1 = b.rebalance1_cpu_secs! / a.rebalance1_cpu_secs!;
    summary.cpu_ratio_rebalance2 = b.rebalance2_cpu_secs! / a.rebalance2_cpu_secs!;
    summary.speedup_full_cli_rebalance1 = b.rebalance1_secs! / a.rebalance1_full_cli_secs!;
    summary.speedup_full_cli_rebalance2 = b.rebalance2_secs! / a.rebalance2_full_cli_secs!;
    console.log(`\nringstack medians: full bin/ringstack process rebalance1 ${a.rebalance1_full_cli_secs!.toFixed(2)} s, ` +
      `rebalance2 ${a.rebalance2_full_cli_secs!.toFixed(2)} s; RingBuilder.rebalance() alone ${a.rebalance1_library_secs!.toFixed(2)} s, ` +
      `${a.rebalance2_library_secs!.toFixed(2)} s`);
    console.log(`swift-ring-builder / ringstack ring (process wall time): rebalance1 ${(summary.speedup_rebalance1 as number).toFixed(1)}x, ` +
      `rebalance2 ${(summary.speedup_rebalance2 as number).toFixed(1)}x; against the full CLI ` +
      `${(summary.speedup_full_cli_rebalance1 as number).toFixed(1)}x, ${(summary.speedup_full_cli_rebalance2 as number).toFixed(1)}x`);
    console.log(`CPU time (user + system) medians: swift ${b.rebalance1_cpu_secs!.toFixed(2)} s / ${b.rebalance2_cpu_secs!.toFixed(2)} s, ` +
      `ringstack ring ${a.rebalance1_cpu_secs!.toFixed(2)} s / ${a.rebalance2_cpu_secs!.toFixed(2)} s: ` +
      `${(summary.cpu_ratio_rebalance1 as number).toFixed(1)}x, ${(summary.cpu_ratio_rebalance2 as number).toFixed(1)}x`);
  }
  console.log(JSON.stringify(summary));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
