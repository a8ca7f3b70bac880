/**
 * Controller benchmark: generates a repository (default 10,000 instances, 100 networks,
 * 5,000 volumes, 200 hosts), then runs validate + schedule + compile + serialise several
 * times, each in a fresh process, and reports the median time and peak memory.
 * Targets: total < 2 s, peak RSS < 300 MB.
 *
 * Usage: npx tsc -p . && node dist/bench/controller/bench.js [--runs N] [--instances N]
 *        [--networks N] [--volumes N] [--hosts N] [--keep]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_SIZE, generateRepo } from './generate.js';

const run = promisify(execFile);
const TARGET_MS = 2000;
const TARGET_RSS_MIB = 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' }, instances: { type: 'string' }, networks: { type: 'string' },
      volumes: { type: 'string' }, hosts: { type: 'string' }, keep: { type: 'boolean', default: false },
    },
  });
  const size = {
    instances: Number(values.instances ?? DEFAULT_SIZE.instances), networks: Number(values.networks ?? DEFAULT_SIZE.networks),
    volumes: Number(values.volumes ?? DEFAULT_SIZE.volumes), hosts: Number(values.hosts ?? DEFAULT_SIZE.hosts),
  };
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-controller-'));
  try {
    const g0 = performance.now();
    const hosts = await generateRepo(join(dir, 'repo'), size);
    const hostsFile = join(dir, 'hosts.json');
    await writeFile(hostsFile, JSON.stringify(hosts));
    const generateMs = Math.round(performance.now() - g0);
    const once = join(dirname(fileURLToPath(import.meta.url)), 'run-once.js');
    const runs: Array<Record<string, number>> = [];
    for (let i = 0; i < Number(values.runs); i++) {
      const { stdout } = await run(process.execPath, [once, join(dir, 'repo'), hostsFile], { maxBuffer: 1 << 20 });
      runs.push(JSON.parse(stdout));
    }
    const keys = ['validateMs', 'compileMs', 'serializeMs', 'totalMs', 'validateCpuMs', 'compileCpuMs', 'serializeCpuMs', 'totalCpuMs', 'maxRssMiB', 'heapPeakMiB'];
    const med = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]!))]));
    const last = runs[runs.length - 1]!;
    const report = {
      size, runs: runs.length, generateMs, median: med,
      files: last.files, placed: last.placed, unschedulable: last.unschedulable, stateBytes: last.stateBytes,
      targets: { totalMs: TARGET_MS, maxRssMiB: TARGET_RSS_MIB },
      ok: med.totalMs! < TARGET_MS && med.maxRssMiB! < TARGET_RSS_MIB,
      node: process.version,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\n${size.instances} instances, ${size.networks} networks, ${size.volumes} volumes, ${size.hosts} hosts (${last.files} files):\n` +
      `  validate ${med.validateMs} ms + compile ${med.compileMs} ms + serialise ${med.serializeMs} ms = ${med.totalMs} ms (target < ${TARGET_MS})\n` +
      `  peak RSS ${med.maxRssMiB} MiB (target < ${TARGET_RSS_MIB}), peak heap ${med.heapPeakMiB} MiB; ` +
      `${last.placed} placed, ${last.unschedulable} unschedulable; state ${(last.stateBytes! / 1048576).toFixed(1)} MiB\n` +
      `  median of ${runs.length} runs: ${report.ok ? 'within targets' : 'OVER TARGET'}\n`);
    if (values.keep) process.stdout.write(`repository kept in ${dir}\n`);
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
