/**
 * A Swift-API load generator (auth v1.0, keep-alive agents, N requests in flight) used for
 * ringstack and for OpenStack Swift alike, so both run the very same workload. Phases:
 * put_small / get_small (unique objects, e.g. 4 KiB) and put_large / get_large (e.g. 16 MiB),
 * each with its own number of clients.
 * Each phase stops at its count or its time cap. Bodies are generated once and reused.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';

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
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export async function authV1(authUrl: string, user: string, key: string): Promise<Endpoint> {
  return new Promise((resolve, reject) => {
    const req = http.get(authUrl, { headers: { 'x-auth-user': user, 'x-auth-key': key }, agent }, (res) => {
      res.resume();
      if (res.statusCode !== 200 && res.statusCode !== 204) return reject(new Error(`auth failed: ${res.statusCode}`));
      resolve({ storageUrl: String(res.headers['x-storage-url']), token: String(res.headers['x-auth-token']) });
    });
    req.on('error', reject);
  });
}

export function request(ep: Endpoint, method: string, path: string, body?: Buffer): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(ep.storageUrl + path);
    const headers: Record<string, string> = { 'x-auth-token': ep.token };
    if (body) headers['content-length'] = String(body.length);
    else if (method === 'PUT') headers['content-length'] = '0';
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 100) / 100;
}

/** Runs `count` operations with `concurrency` in flight, at most `capSeconds`. */
export async function runPhase(phase: string, count: number, concurrency: number, capSeconds: number, bytesPerOp: number,
  op: (i: number) => Promise<boolean>): Promise<PhaseResult> {
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
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((a, b) => a - b);
  return {
    phase, ops: lat.length, errors, seconds: Math.round(seconds * 100) / 100,
    ops_s: Math.round((lat.length / seconds) * 10) / 10,
    mb_s: Math.round(((lat.length * bytesPerOp) / seconds / 1e6) * 10) / 10,
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

/** The standard workload; returns one result per phase. */
export async function runWorkload(ep: Endpoint, o: WorkloadOptions): Promise<PhaseResult[]> {
  const out: PhaseResult[] = [];
  const c = await request(ep, 'PUT', `/${o.container}`);
  if (c.status >= 300) throw new Error(`container PUT got ${c.status}`);
  const small = randomBytes(o.smallSize);
  const large = randomBytes(o.largeSize);
  // Warm-up: connections and partition directories.
  await runPhase('warmup', 64, o.concurrency, 30, o.smallSize, async (i) => (await request(ep, 'PUT', `/${o.container}/warm-${i}`, small)).status === 201);
  const put = await runPhase('put_small', o.smallCount, o.concurrency, o.capSeconds, o.smallSize,
    async (i) => (await request(ep, 'PUT', `/${o.container}/s-${i}`, small)).status === 201);
  out.push(put);
  const written = put.ops + put.errors;
  out.push(await runPhase('get_small', o.smallCount, o.concurrency, o.capSeconds, o.smallSize, async (i) => {
    const r = await request(ep, 'GET', `/${o.container}/s-${i % Math.max(1, written)}`);
    return r.status === 200 && r.bytes === o.smallSize;
  }));
  const largeConc = o.largeConcurrency;
  const lput = await runPhase('put_large', o.largeCount, largeConc, o.capSeconds, o.largeSize,
    async (i) => (await request(ep, 'PUT', `/${o.container}/l-${i}`, large)).status === 201);
  out.push(lput);
  out.push(await runPhase('get_large', o.largeCount, largeConc, o.capSeconds, o.largeSize, async (i) => {
    const r = await request(ep, 'GET', `/${o.container}/l-${i % Math.max(1, lput.ops)}`);
    return r.status === 200 && r.bytes === o.largeSize;
  }));
  return out;
}
