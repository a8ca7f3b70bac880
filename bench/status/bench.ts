/**
 * bench/status: requests per second and latency percentiles of the status API's instance
 * list with 10,000 instances (generated state documents in an in-memory store), through a
 * listening fastify server and keep-alive HTTP clients in the same process. Several runs,
 * medians printed as JSON.
 *
 *   npx tsc -p . && node dist/bench/status/bench.js [--instances 10000] [--hosts 50]
 *       [--runs 3] [--seconds 5] [--concurrency 8] [--refresh-ms 1000]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { statusPlugin } from '../../controller/status/plugin.js';
import { MemoryStateSource } from '../../controller/status/source.js';
import { buildStack, writeStack } from '../../controller/status/test-fixtures.js';
import { StatusReader } from '../../controller/status/reader.js';
import { buildViews } from '../../controller/status/views.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '10000' }, hosts: { type: 'string', default: '50' }, runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '8' }, 'refresh-ms': { type: 'string', default: '1000' },
  },
});
const N = Number(values.instances);
const HOSTS = Number(values.hosts);
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const PROJECTS = 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const source = new MemoryStateSource();
const stack = buildStack({
  hosts: Array.from({ length: HOSTS }, (_, i) => `hv${String(i).padStart(3, '0')}`),
  instances: Object.fromEntries(Array.from({ length: PROJECTS }, (_, i) => [`p${i}`, Math.ceil(N / PROJECTS)])),
});
writeStack(source, stack);

// Cost of one refresh + building the instance views (what every refresh interval pays once).
const buildTimes: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const reader = new StatusReader(source, { refreshMs: 0 });
  const t0 = process.hrtime.bigint();
  const snap = await reader.snapshot(true);
  const views = buildViews(snap, Date.now(), { heartbeatTimeoutSeconds: 30, gracePeriodSeconds: 300 });
  if (views.instances.length !== N) throw new Error(`built ${views.instances.length} instance views, want ${N}`);
  buildTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
}

const app = Fastify({ logger: false });
await app.register(statusPlugin, { source, usage: false, refreshMs: Number(values['refresh-ms']) });
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as { port: number }).port;
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

async function load(path: string): Promise<{ rps: number; p50Ms: number; p99Ms: number; requests: number }> {
  await get(path); // warm: first snapshot
  const lat: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  const start = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) lat.push(await get(path));
  }));
  const secs = (Date.now() - start) / 1000;
  return { rps: lat.length / secs, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99), requests: lat.length };
}

const scenarios: Record<string, string> = {
  'list first page (limit=100)': '/api/v1/instances?limit=100',
  'list page 50 (continue token)': '',
  'filtered (project + label, limit=100)': '/api/v1/instances?project=p3&label=app=web&limit=100',
  'one instance': '/api/v1/instances/p7/vm-00500',
};
{
  // A continuation token from the middle of the list.
  let next = '';
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/instances?limit=100${next ? `&continue=${next}` : ''}`);
    next = encodeURIComponent(((await r.json()) as { next: string }).next);
  }
  scenarios['list page 50 (continue token)'] = `/api/v1/instances?limit=100&continue=${next}`;
}
const results: Record<string, { rps: number; p50Ms: number; p99Ms: number }> = {};
for (const [name, path] of Object.entries(scenarios)) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await load(path));
  results[name] = {
    rps: Math.round(median(runs.map((r) => r.rps))),
    p50Ms: Math.round(median(runs.map((r) => r.p50Ms)) * 100) / 100,
    p99Ms: Math.round(median(runs.map((r) => r.p99Ms)) * 100) / 100,
  };
}
await app.close();
agent.destroy();
console.log(JSON.stringify({
  instances: Object.keys(stack.desired.instances).length, hosts: HOSTS, runs: RUNS, secondsPerRun: SECONDS, concurrency: CONCURRENCY,
  refreshMs: Number(values['refresh-ms']), refreshAndViewBuildMsMedian: Math.round(median(buildTimes)), results,
}, null, 2));
