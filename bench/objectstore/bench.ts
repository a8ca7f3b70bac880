/**
 * Object store benchmark: the same workload (load.ts: 4 KiB PUT/GET with 16 clients, 16 MiB
 * PUT/GET) through the Swift API (auth v1.0) and through the S3 API (SigV4, s3-load.ts) against
 * ringstack (`ringstack objectstore`, started here on a temp folder; both APIs on its one port)
 * and, with --swift, against OpenStack Swift 2.30.1 + s3api from Debian's packages on loopback
 * (test/support/swift-s3api/*.sh with the bench's own root, ports, part power 10 and one proxy
 * worker per core), in the same run. Prints one JSON document: per system and API the phases
 * (with the server's CPU per operation), the load averages, and the ratios ringstack/swift.
 *
 *   node dist/bench/objectstore/bench.js [--swift] [--api swift|s3|both|s3,swift] [--small-count 20000]
 *        [--large-count 96] [--concurrency 16] [--large-concurrency 16] [--cap 20]
 *        [--disk-limits] [--keep] [--background idle|on] [--settle SECONDS] [--warm-up SECONDS]
 *
 * Each API's result carries the 1-minute load average before and after it ran (the host is
 * shared: compare ratios from one run, not absolute numbers across runs); --disk-limits first
 * measures the disk's own fsync and write limits (disk-limits.ts) on the same filesystem.
 * --api gives the APIs in the order they run on each system (both = swift,s3).
 * --background: ringstack's replicator and auditor idle (the default, like the Swift started
 * here, which runs no background daemons) or on at their defaults.
 * --settle: seconds each system waits, once started, before it is measured (settle.ts; default
 * max(60, dirty_expire_centisecs / 100 + 5) + 1, 61 here), and longer while the data an earlier
 * run removed is under 361 s old: on ext4 without a journal, recently freed inodes slow file
 * creation. The data of every system is removed only after all were measured (--keep: never).
 * --warm-up: the workload through each API, unmeasured, each phase at most half this many
 * seconds and two waves of 16 MiB objects, after the settle and before the first measured
 * phase (load.ts, warmUp; default 10; 0: none).
 * A one-line-per-phase summary goes to stderr.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir, cpus, loadavg, release } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import net from 'node:net';
import { runWorkload, swiftClient, warmUp, type PhaseResult, type StoreClient, type WorkloadOptions } from './load.js';
import { s3Client } from './s3-load.js';
import { cpuByName, descendants, processLabel } from './procs.js';
import { measureDiskLimits } from './disk-limits.js';
import { defaultSettleSeconds, removeData, settle } from './settle.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root from dist/bench/objectstore or bench/objectstore. */
const ROOT = HERE.includes(`${join('dist', 'bench')}`) ? resolve(HERE, '..', '..', '..') : resolve(HERE, '..', '..');
/** The one set of Swift scripts, shared with test/external-store.test.ts. */
const SWIFT_SCRIPTS = join(ROOT, 'test', 'support', 'swift-s3api');
const SWIFT_ROOT_PREFIX = join(tmpdir(), 'ringstack-swift-bench-');
/** Like ringstack's ring. */
const SWIFT_PART_POWER = 10;
const SWIFT_USER = 'test:tester';
const SWIFT_KEY = 'testing';
const BENCH_KEY = 'bench';
const BENCH_SECRET = 'bench-secret-key';
const APIS = ['swift', 's3'] as const;
type Api = (typeof APIS)[number];

/** `n` distinct free loopback ports (held open together, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => res(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * The Swift started here runs its servers only (no replicators, auditors or updaters: see
 * test/support/swift-s3api/start.sh), so by default ringstack's storage nodes get the same: their
 * replicator and auditor wait a day between passes (after one pass at start, over an empty
 * store). Measured: after 5,000 small and 32 large objects, a sustained 16 MiB PUT load kept
 * each node's replicator re-hashing suffixes, 18 ms of CPU per PUT per node (45-50 ms against
 * 27-29 idle). `--background on` keeps ringstack's defaults (30 s and 60 s pauses).
 */
const IDLE_BACKGROUND: Record<string, string> = {
  RINGSTACK_REPLICATOR_INTERVAL_MS: '86400000',
  RINGSTACK_AUDITOR_INTERVAL_MS: '86400000',
};

export async function startRingstack(dataDir: string, port: number, background: 'idle' | 'on' = 'idle'): Promise<ChildProcess> {
  const child = spawn(join(ROOT, 'bin', 'ringstack'), ['objectstore', '--data-dir', dataDir, '--port', String(port)], {
    env: {
      ...process.env, NODE_OPTIONS: '', RINGSTACK_ACCESS_KEY: BENCH_KEY, RINGSTACK_SECRET_KEY: BENCH_SECRET,
      ...(background === 'idle' ? IDLE_BACKGROUND : {}),
    },
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

/** One system under test: where its APIs are and which processes are its servers. */
interface System {
  label: string;
  pids: number[];
  /** Each server process's name in the per-process CPU (procs.ts processLabel). */
  names: Map<number, string>;
  client(api: Api): Promise<StoreClient>;
}

interface ApiResult {
  phases: PhaseResult[];
  server_cpu_cores: number;
  loadavg_1m: [number, number];
}

const load1 = () => Math.round(loadavg()[0]! * 100) / 100;

async function measure(sys: System, client: StoreClient, o: WorkloadOptions): Promise<ApiResult> {
  const byName = () => cpuByName(sys.pids, sys.names);
  const total = () => Object.values(byName()).reduce((a, b) => a + b, 0);
  const loadBefore = load1();
  const cpu0 = total();
  const t0 = Date.now();
  const phases = await runWorkload(client, o, byName);
  const wall = (Date.now() - t0) / 1000;
  return { phases, server_cpu_cores: Math.round(((total() - cpu0) / wall) * 100) / 100, loadavg_1m: [loadBefore, load1()] };
}

/** Every API on one started system, once the filesystem has settled (settle.ts). */
async function measureAll(sys: System, apis: Api[], o: WorkloadOptions, settleSeconds: number,
  warmSeconds: number): Promise<Partial<Record<`${Api}_api`, ApiResult>>> {
  await settle(settleSeconds);
  const clients = await Promise.all(apis.map((api) => sys.client(api)));
  const perApi = (i: number) => ({ ...o, container: `${o.container}-${apis[i]}` });
  // Every API warms up before any is measured, so the first measured does not pay for the
  // system's start (load.ts, warmUp).
  if (warmSeconds > 0) for (const [i, client] of clients.entries()) await warmUp(client, perApi(i), warmSeconds);
  const out: Partial<Record<`${Api}_api`, ApiResult>> = {};
  for (const [i, api] of apis.entries()) {
    out[`${api}_api`] = await measure(sys, clients[i]!, perApi(i));
    summarise(sys.label, api, out[`${api}_api`]!);
  }
  return out;
}

/** The four processes that took the most CPU per operation, e.g. `proxy 4.7 node2 6.1 …`. */
function topProcesses(by: Record<string, number> | undefined): string {
  return Object.entries(by ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(' ');
}

function summarise(label: string, api: Api, r: ApiResult): void {
  for (const p of r.phases) {
    process.stderr.write(`${label.padEnd(9)} ${api.padEnd(5)} ${p.phase.padEnd(9)} ${String(p.ops_s).padStart(7)} op/s ${String(p.mb_s).padStart(7)} MB/s${p.sync_s !== undefined ? ` (sync ${p.sync_s} s)` : ''}`
      + ` p50 ${p.p50_ms} p99 ${p.p99_ms} ms errors ${p.errors} cpu ${p.server_cpu_ms_per_op ?? '-'} ms/op`
      + ` (${topProcesses(p.server_cpu_ms_per_op_by_process)}; client ${p.client_cpu_ms_per_op ?? '-'})`
      + ` host idle ${p.host_idle_share ?? '-'} other ${p.other_cpu_cores ?? '-'} cores  disk ${p.disk_write_mb_s ?? '-'} MB/s written, busy ${p.disk_busy_share ?? '-'}`
      + `  load ${r.loadavg_1m.join('->')}\n`);
  }
}

/**
 * Runs `fn` on a started ringstack. Its data dir joins `dataDirs`, which main removes once every
 * system was measured (settle.ts: a removal slows the file creation of whatever runs next).
 */
async function withRingstack<T>(dataDirs: string[], background: 'idle' | 'on', fn: (sys: System) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-'));
  dataDirs.push(dir);
  const [port] = await freePorts(1);
  const rs = await startRingstack(dir, port!, background);
  const base = `http://127.0.0.1:${port}`;
  try {
    const pids = descendants(rs.pid!);
    return await fn({
      label: 'ringstack',
      pids,
      // The launcher's own process is the proxy; its children are the storage nodes.
      names: new Map(pids.map((p) => [p, p === rs.pid ? 'proxy' : processLabel(p)])),
      client: (api) => api === 'swift' ? swiftClient(`${base}/auth/v1.0`, BENCH_KEY, BENCH_SECRET)
        : Promise.resolve(s3Client({ endpoint: base, accessKey: BENCH_KEY, secret: BENCH_SECRET })),
    });
  } finally {
    await stopRingstack(rs);
  }
}

/** Runs `fn` on a started Swift; its data joins `dataDirs` as in withRingstack. */
async function withSwift<T>(dataDirs: string[], fn: (sys: System) => Promise<T>): Promise<T> {
  const root = await mkdtemp(SWIFT_ROOT_PREFIX);
  dataDirs.push(root);
  const [proxy, memcached, logUdp, ...nodes] = await freePorts(12);
  const env = {
    ...process.env, SWIFT_PROXY_PORT: String(proxy), SWIFT_MEMCACHED_PORT: String(memcached), SWIFT_LOG_UDP_PORT: String(logUdp),
    SWIFT_NODE_PORTS: nodes.join(' '), SWIFT_PART_POWER: String(SWIFT_PART_POWER), SWIFT_PROXY_WORKERS: 'auto',
  };
  const script = (name: string) => execFileSync('bash', [join(SWIFT_SCRIPTS, name), root], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  try {
    script('setup.sh');
    script('start.sh');
    const base = `http://127.0.0.1:${proxy}`;
    const pids = script('pids.sh').trim().split(/\s+/).map(Number);
    return await fn({
      label: 'swift',
      pids,
      names: new Map(pids.map((p) => [p, processLabel(p)])),
      client: (api) => api === 'swift' ? swiftClient(`${base}/auth/v1.0`, SWIFT_USER, SWIFT_KEY)
        : Promise.resolve(s3Client({ endpoint: base, accessKey: SWIFT_USER, secret: SWIFT_KEY })),
    });
  } finally {
    script('stop.sh');
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** ringstack / Swift per phase: throughput (above 1: ringstack faster) and p99 (below 1: ringstack lower). */
export function ratios(r: Pick<ApiResult, 'phases'>, s: Pick<ApiResult, 'phases'>) {
  return Object.fromEntries(r.phases.map((p, i) => {
    const q = s.phases[i]!;
    return [p.phase, { throughput: q.ops_s ? round2(p.ops_s / q.ops_s) : null, p99: q.p99_ms ? round2(p.p99_ms / q.p99_ms) : null }];
  }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      swift: { type: 'boolean', default: false },
      api: { type: 'string', default: 'both' },
      // Counts large enough that no phase is over in a second or two (since session 29): with
      // 5,000 and 32, ringstack's 4 KiB GET phase lasted 1.4 s and its 16 MiB PUT phase 1.6-2.4 s
      // (two rounds of 16 clients), and one slow replica moved a run's ratio by a fifth. Swift's
      // small phases end at the time cap (--cap) either way.
      'small-count': { type: 'string', default: '20000' },
      'small-size': { type: 'string', default: '4096' },
      'large-count': { type: 'string', default: '96' },
      'large-size': { type: 'string', default: String(16 * 1024 * 1024) },
      concurrency: { type: 'string', default: '16' },
      'large-concurrency': { type: 'string', default: '16' },
      'disk-limits': { type: 'boolean', default: false },
      cap: { type: 'string', default: '20' },
      keep: { type: 'boolean', default: false },
      background: { type: 'string', default: 'idle' },
      settle: { type: 'string' },
      'warm-up': { type: 'string', default: '10' },
    },
  });
  if (values.background !== 'idle' && values.background !== 'on') throw new Error(`--background must be idle or on (got ${values.background})`);
  const background = values.background;
  const apis = (values.api === 'both' ? [...APIS] : values.api!.split(',')) as Api[];
  if (apis.length === 0 || apis.some((a) => !APIS.includes(a)) || new Set(apis).size !== apis.length) {
    throw new Error(`--api must be swift, s3, both (= swift,s3) or s3,swift (got ${values.api})`);
  }
  const o: WorkloadOptions = {
    concurrency: Number(values.concurrency), largeConcurrency: Number(values['large-concurrency']), smallCount: Number(values['small-count']), smallSize: Number(values['small-size']),
    largeCount: Number(values['large-count']), largeSize: Number(values['large-size']), capSeconds: Number(values.cap),
    container: `bench-${Date.now()}`,
  };
  const settleSeconds = values.settle === undefined ? defaultSettleSeconds() : Number(values.settle);
  if (!Number.isFinite(settleSeconds) || settleSeconds < 0) throw new Error(`--settle must be a number of seconds (got ${values.settle})`);
  const warmSeconds = Number(values['warm-up']);
  if (!Number.isFinite(warmSeconds) || warmSeconds < 0) throw new Error(`--warm-up must be a number of seconds (got ${values['warm-up']})`);
  const result: Record<string, unknown> = {
    workload: o, apis, cores: cpus().length,
    // Sessions run on different machines: say which, so runs are compared on like hardware.
    host: { cpu: cpus()[0]?.model ?? 'unknown', kernel: release() },
    ringstack_background: background, settle_seconds: settleSeconds, warm_up_seconds: warmSeconds,
  };
  if (values['disk-limits']) result.disk_limits = await measureDiskLimits(tmpdir(), 3, 256);

  const dataDirs: string[] = [];
  try {
    const rs = await withRingstack(dataDirs, background, (sys) => measureAll(sys, apis, o, settleSeconds, warmSeconds));
    result.ringstack = rs;
    if (values.swift) {
      const sw = await withSwift(dataDirs, (sys) => measureAll(sys, apis, o, settleSeconds, warmSeconds));
      result.swift = sw;
      result.ratio_ringstack_over_swift = Object.fromEntries(apis.map((a) => [`${a}_api`, ratios(rs[`${a}_api`]!, sw[`${a}_api`]!)]));
    }
  } finally {
    if (!values.keep) await removeData(dataDirs);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().then(() => process.exit(0), (e) => {
    process.stderr.write(`bench: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}
