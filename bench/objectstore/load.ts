/**
 * The load generator shared by every API the object store benchmark drives: keep-alive
 * agents, N requests in flight, the same phases and percentiles for everyone, so ringstack and
 * OpenStack Swift (and the Swift and S3 APIs of each) run the very same workload. Phases:
 * put_small / get_small (unique objects, e.g. 4 KiB) and put_large / get_large (e.g. 16 MiB),
 * each with its own number of clients; each stops at its count or its time cap. Bodies are
 * generated once and reused.
 *
 * Requests go through the proxy's lean node client (objectstore/node/lean-http.ts), whose
 * `drain()` counts a response body without copying it: with node:http, whose reads are copied
 * into a new Buffer each, the load generator cost 13-26 ms of CPU per 16 MiB GET (session 8),
 * more than the servers under test, on the same two cores. An API is a `StoreClient` (create a
 * container, PUT and GET an object); this module holds the Swift one (auth v1.0,
 * X-Auth-Token), s3-load.ts the S3 one (SigV4).
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { LeanHttp } from '../../objectstore/node/lean-http.js';
import { diskCounters, diskRates, hostJiffies, jiffiesToSeconds } from './procs.js';

export interface Endpoint {
  storageUrl: string;
  token: string;
}

export interface PhaseResult {
  phase: string;
  ops: number;
  errors: number;
  seconds: number;
  ops_s: number;
  mb_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** CPU of the server processes per second of the phase (when the caller can see them). */
  server_cpu_cores?: number;
  /** CPU milliseconds of the server processes per successful operation. */
  server_cpu_ms_per_op?: number;
  /** The same, per named server process (procs.ts processLabel: proxy, node1, object-1, …). */
  server_cpu_ms_per_op_by_process?: Record<string, number>;
  /** CPU milliseconds of the load generator itself per successful operation. */
  client_cpu_ms_per_op?: number;
  /**
   * The whole host during the phase (Linux): the share of its CPU time left idle (iowait
   * included), and the cores busy outside the server processes and the load generator (the
   * kernel's write-back threads and interrupts, anything else on the machine). They tell a
   * system that waits (idle) from one whose deferred work lands in the phase (other).
   */
  host_idle_share?: number;
  other_cpu_cores?: number;
  /**
   * The host's disks during the phase (Linux, since session 30): MB written per second, all
   * writers together (replicas, logs, journals, write-back of earlier phases), and the busiest
   * disk's share of the time with I/O in flight. Beside the disk's own limits (disk-limits.ts)
   * they tell a phase the disk bounds from one the CPU does.
   */
  disk_write_mb_s?: number;
  disk_busy_share?: number;
  /**
   * Write phases: seconds the sync(1) after the last acknowledged write took. They are part of
   * `seconds` (and so of `ops_s` and `mb_s`): write-back a system defers is charged to the phase
   * that wrote, not to the phase after it.
   */
  sync_s?: number;
}

/** What the workload needs from an API. Paths are `container` and `container/key`. */
export interface StoreClient {
  /** Creates the container (bucket); throws when the server refuses. */
  createContainer(container: string): Promise<void>;
  /** True when the object was stored. */
  put(container: string, key: string, body: Buffer): Promise<boolean>;
  /** The body's length when the server answered 200, otherwise -1. */
  get(container: string, key: string): Promise<number>;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  /** Bytes of the response body. */
  bytes: number;
}

/**
 * Idle connections close after this, before the servers' own keep-alive timeouts (Node's
 * default is 5 s) can close them under a request.
 */
const IDLE_MS = 4_000;
/** Time allowed until a response head: a 16 MiB PUT's comes after its whole body. */
const REPLY_TIMEOUT_MS = 300_000;
const client = new LeanHttp(IDLE_MS);

/**
 * One request (the client adds `host` and the body's `content-length`); the response body is
 * counted, not kept.
 */
export async function send(host: string, port: string | number, path: string, method: string,
  headers: Record<string, string>, body?: Buffer): Promise<HttpReply> {
  const r = await client.request({ host, port: Number(port), method, path, headers, body, timeoutMs: REPLY_TIMEOUT_MS });
  return { status: r.status, headers: r.headers, bytes: await r.body.drain() };
}

export async function authV1(authUrl: string, user: string, key: string): Promise<Endpoint> {
  const url = new URL(authUrl);
  const r = await send(url.hostname, url.port, url.pathname, 'GET', { 'x-auth-user': user, 'x-auth-key': key });
  if (r.status !== 200 && r.status !== 204) throw new Error(`auth failed: ${r.status}`);
  return { storageUrl: String(r.headers['x-storage-url']), token: String(r.headers['x-auth-token']) };
}

/** A Swift-API request below the storage URL (`path` starts with '/'). */
export function request(ep: Endpoint, method: string, path: string, body?: Buffer): Promise<HttpReply> {
  const url = new URL(ep.storageUrl + path);
  return send(url.hostname, url.port, url.pathname + url.search, method, { 'x-auth-token': ep.token }, body);
}

/** The Swift API (auth v1.0 once, then X-Auth-Token). */
export async function swiftClient(authUrl: string, user: string, key: string): Promise<StoreClient> {
  const ep = await authV1(authUrl, user, key);
  return {
    async createContainer(container) {
      const r = await request(ep, 'PUT', `/${container}`);
      if (r.status >= 300) throw new Error(`Swift container PUT got ${r.status}`);
    },
    put: async (container, key, body) => (await request(ep, 'PUT', `/${container}/${key}`, body)).status === 201,
    async get(container, key) {
      const r = await request(ep, 'GET', `/${container}/${key}`);
      return r.status === 200 ? r.bytes : -1;
    },
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return round2(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);
}

/** Seconds a sync(1) of every filesystem takes: until what the phase wrote is on disk. */
function syncSeconds(): number {
  const t0 = process.hrtime.bigint();
  execFileSync('sync');
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Runs `count` operations with `concurrency` in flight, at most `capSeconds`. With `writes`, the
 * phase ends when what it wrote is on disk (since session 29): a system may acknowledge a write
 * once it is durable in a log and write the object's own file back later (ringstack's
 * small-write log does), and that write-back used to land in the phase after; now a sync(1)
 * after the last answer is part of the phase's time, charged to the system that deferred it.
 */
export async function runPhase(phase: string, count: number, concurrency: number, capSeconds: number, bytesPerOp: number,
  op: (i: number) => Promise<boolean>, writes = false): Promise<PhaseResult> {
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + capSeconds * 1000;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const i = next++;
      const t0 = process.hrtime.bigint();
      let ok = false;
      try {
        ok = await op(i);
      } catch {
        ok = false;
      }
      if (ok) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const sync = writes ? syncSeconds() : undefined;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  return {
    phase, ops: lat.length, errors, seconds: round2(seconds),
    ops_s: Math.round((lat.length / seconds) * 10) / 10,
    mb_s: Math.round(((lat.length * bytesPerOp) / seconds / 1e6) * 10) / 10,
    ...(sync !== undefined ? { sync_s: round2(sync) } : {}),
    p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99), max_ms: pct(lat, 1),
  };
}

export interface WorkloadOptions {
  concurrency: number;
  /** Clients for the 16 MiB phases (issue 4 asks for 16, like the small phases). */
  largeConcurrency: number;
  smallCount: number;
  smallSize: number;
  largeCount: number;
  largeSize: number;
  capSeconds: number;
  container: string;
}

/**
 * The standard workload, unrecorded, shorter (each phase at most `seconds` / 2, two waves of
 * large objects) and in a container of its own: a server is measured as it runs in service,
 * not while it warms up. Before it existed, the API measured first on a freshly started
 * ringstack was the slower one, whichever it was (bench/objectstore/README.md, "Session 19":
 * most likely V8 still compiling the body path); Swift showed no such order. It also opens the
 * connections the phases use.
 */
export async function warmUp(client: StoreClient, o: WorkloadOptions, seconds: number): Promise<void> {
  await runWorkload(client, { ...o, container: `${o.container}-warm`, capSeconds: seconds / 2, largeCount: 2 * o.largeConcurrency });
}

/**
 * The standard workload through `client` (after warmUp); returns one result per phase, each with the load
 * generator's CPU per operation. With `serverCpu` (CPU seconds so far of each named server
 * process), each phase also carries the server's CPU, in all and per process.
 */
export async function runWorkload(client: StoreClient, o: WorkloadOptions,
  serverCpu?: () => Record<string, number>): Promise<PhaseResult[]> {
  const out: PhaseResult[] = [];
  const perOp = (ms: number, ops: number) => (ops ? round2(ms / ops) : 0);
  const phase = async (name: string, count: number, conc: number, bytes: number, op: (i: number) => Promise<boolean>, writes = false) => {
    const cpu0 = serverCpu?.();
    const host0 = hostJiffies();
    const disk0 = diskCounters();
    const self0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await runPhase(name, count, conc, o.capSeconds, bytes, op, writes);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const self = process.cpuUsage(self0);
    const host1 = hostJiffies();
    const disk1 = diskCounters();
    const clientSeconds = (self.user + self.system) / 1e6;
    r.client_cpu_ms_per_op = perOp(clientSeconds * 1000, r.ops);
    let serverSeconds = 0;
    if (serverCpu && cpu0) {
      const cpu1 = serverCpu();
      const by = Object.fromEntries(Object.keys(cpu1).map((k) => [k, cpu1[k]! - (cpu0[k] ?? 0)]));
      serverSeconds = Object.values(by).reduce((a, b) => a + b, 0);
      r.server_cpu_cores = r.seconds ? round2(serverSeconds / r.seconds) : 0;
      r.server_cpu_ms_per_op = perOp(serverSeconds * 1000, r.ops);
      r.server_cpu_ms_per_op_by_process = Object.fromEntries(Object.entries(by).map(([k, v]) => [k, perOp(v * 1000, r.ops)]));
    }
    if (host0 && host1 && host1.total > host0.total && r.seconds) {
      const busy = jiffiesToSeconds(host1.busy - host0.busy);
      r.host_idle_share = round2(1 - (host1.busy - host0.busy) / (host1.total - host0.total));
      // Only meaningful when the server processes were counted (bench.ts); never below zero
      // (the counters tick at different moments).
      if (serverCpu) r.other_cpu_cores = round2(Math.max(0, busy - serverSeconds - clientSeconds) / r.seconds);
    }
    if (disk0 && disk1 && elapsed > 0) {
      const d = diskRates(disk0, disk1, elapsed);
      r.disk_write_mb_s = d.write_mb_s;
      r.disk_busy_share = d.busy_share;
    }
    return r;
  };
  await client.createContainer(o.container);
  const small = randomBytes(o.smallSize);
  const large = randomBytes(o.largeSize);
  const put = await phase('put_small', o.smallCount, o.concurrency, o.smallSize, (i) => client.put(o.container, `s-${i}`, small), true);
  out.push(put);
  const written = put.ops + put.errors;
  out.push(await phase('get_small', o.smallCount, o.concurrency, o.smallSize,
    async (i) => (await client.get(o.container, `s-${i % Math.max(1, written)}`)) === o.smallSize));
  const lput = await phase('put_large', o.largeCount, o.largeConcurrency, o.largeSize, (i) => client.put(o.container, `l-${i}`, large), true);
  out.push(lput);
  out.push(await phase('get_large', o.largeCount, o.largeConcurrency, o.largeSize,
    async (i) => (await client.get(o.container, `l-${i % Math.max(1, lput.ops)}`)) === o.largeSize));
  return out;
}
