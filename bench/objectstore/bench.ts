/**
 * Object store benchmark: the same Swift-API workload (4 KiB PUT/GET with 16 clients,
 * 16 MiB PUT/GET) against ringstack (`ringstack objectstore`, started here on a temp folder)
 * and, with --swift, against OpenStack Swift 2.30.1 from Debian's packages on loopback
 * (bench/objectstore/swift/*.sh), in the same run. Prints one JSON document with both
 * results, the server CPU they used and the ratio ringstack/swift per phase.
 *
 *   node dist/bench/objectstore/bench.js [--swift] [--small-count 5000] [--large-count 32]
 *        [--concurrency 16] [--large-concurrency 16] [--cap 20] [--disk-limits] [--keep]
 *
 * Each system's result carries the 1-minute load average before and after it ran (the host is
 * shared: compare ratios from one run, not absolute numbers across runs); --disk-limits first
 * measures the disk's own fsync and write limits (disk-limits.ts) on the same filesystem.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import net from 'node:net';
import { authV1, runWorkload, type PhaseResult, type WorkloadOptions } from './load.js';
import { cpuSeconds, descendants } from './procs.js';
import { measureDiskLimits } from './disk-limits.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root from dist/bench/objectstore or bench/objectstore. */
const ROOT = HERE.includes(`${join('dist', 'bench')}`) ? resolve(HERE, '..', '..', '..') : resolve(HERE, '..', '..');
const SWIFT_DIR = join(ROOT, 'bench', 'objectstore', 'swift');
const BENCH_KEY = 'bench';
const BENCH_SECRET = 'bench-secret-key';

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => res(p));
    });
  });
}

export async function startRingstack(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(join(ROOT, 'bin', 'ringstack'), ['objectstore', '--data-dir', dataDir, '--port', String(port)], {
    env: { ...process.env, NODE_OPTIONS: '', RINGSTACK_ACCESS_KEY: BENCH_KEY, RINGSTACK_SECRET_KEY: BENCH_SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res, rej) => {
    createInterface({ input: child.stdout! }).once('line', () => res());
    child.once('exit', (c) => rej(new Error(`ringstack objectstore exited ${c}`)));
  });
  return child;
}

export async function stopRingstack(child: ChildProcess): Promise<void> {
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGINT');
  });
}

async function measure(label: string, authUrl: string, user: string, key: string, pids: number[], o: WorkloadOptions) {
  const ep = await authV1(authUrl, user, key);
  const load = () => Math.round(loadavg()[0]! * 100) / 100;
  const loadBefore = load();
  const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const t0 = Date.now();
  const phases = await runWorkload(ep, o);
  const wall = (Date.now() - t0) / 1000;
  const cpu = pids.reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
  return { label, phases, server_cpu_cores: Math.round((cpu / wall) * 100) / 100, loadavg_1m: [loadBefore, load()] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      swift: { type: 'boolean', default: false },
      'small-count': { type: 'string', default: '5000' },
      'small-size': { type: 'string', default: '4096' },
      'large-count': { type: 'string', default: '32' },
      'large-size': { type: 'string', default: String(16 * 1024 * 1024) },
      concurrency: { type: 'string', default: '16' },
      'large-concurrency': { type: 'string', default: '16' },
      'disk-limits': { type: 'boolean', default: false },
      cap: { type: 'string', default: '20' },
      keep: { type: 'boolean', default: false },
    },
  });
  const o: WorkloadOptions = {
    concurrency: Number(values.concurrency), largeConcurrency: Number(values['large-concurrency']), smallCount: Number(values['small-count']), smallSize: Number(values['small-size']),
    largeCount: Number(values['large-count']), largeSize: Number(values['large-size']), capSeconds: Number(values.cap),
    container: `bench-${Date.now()}`,
  };
  const result: Record<string, unknown> = { workload: o, cores: cpus().length };
  if (values['disk-limits']) result.disk_limits = await measureDiskLimits(tmpdir(), 3, 256);

  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-'));
  const port = await freePort();
  const rs = await startRingstack(dir, port);
  try {
    result.ringstack = await measure('ringstack', `http://127.0.0.1:${port}/auth/v1.0`, BENCH_KEY, BENCH_SECRET, descendants(rs.pid!), o);
  } finally {
    await stopRingstack(rs);
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }

  if (values.swift) {
    execFileSync('bash', [join(SWIFT_DIR, 'start.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    try {
      const pids = execFileSync('bash', [join(SWIFT_DIR, 'pids.sh')]).toString().trim().split(/\s+/).map(Number);
      const url = execFileSync('bash', [join(SWIFT_DIR, 'url.sh')]).toString().trim();
      result.swift = await measure('swift', `${url}/auth/v1.0`, 'test:tester', 'testing', pids, o);
    } finally {
      execFileSync('bash', [join(SWIFT_DIR, 'stop.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    }
    const r = result.ringstack as { phases: PhaseResult[] };
    const s = result.swift as { phases: PhaseResult[] };
    result.ratio_ringstack_over_swift = Object.fromEntries(r.phases.map((p, i) => [p.phase,
      s.phases[i]!.ops_s ? Math.round((p.ops_s / s.phases[i]!.ops_s) * 100) / 100 : null]));
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(() => process.exit(0), (e) => {
    process.stderr.write(`bench: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}
