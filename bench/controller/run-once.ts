/**
 * One measured pass of the controller pipeline in a fresh process (so peak RSS is this pass
 * alone): validate a directory, schedule and compile for the given hosts, serialise every
 * state document canonically. Prints one JSON line of timings and memory.
 * Usage: node dist/bench/controller/run-once.js <repo-dir> <hosts.json>
 */
import { readFile } from 'node:fs/promises';
import { DirectorySource } from '../../controller/manifests/source.js';
import { validate } from '../../controller/manifests/validate.js';
import { compile, serializeCompiled } from '../../controller/plan/compile.js';
import type { SchedulerHost } from '../../controller/plan/scheduler.js';

const MIB = 1024 * 1024;

async function main(): Promise<void> {
  const [dir, hostsFile] = process.argv.slice(2);
  if (!dir || !hostsFile) throw new Error('usage: run-once <repo-dir> <hosts.json>');
  const now = Date.now();
  const hosts = (JSON.parse(await readFile(hostsFile, 'utf8')) as SchedulerHost[]).map((h) => ({ ...h, lastHeartbeat: now }));
  let heapPeak = 0;
  const sample = () => { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed); };
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const c0 = cpu();
  const t0 = performance.now();
  const v = await validate(new DirectorySource(dir));
  const t1 = performance.now();
  const c1 = cpu();
  sample();
  if (!v.ok) throw new Error(`repository invalid: ${v.errors.slice(0, 5).map((e) => `${e.file}:${e.line} ${e.message}`).join('; ')}`);
  const c = compile({ catalog: v.catalog, usage: v.usage, revision: 'bench', hosts, now });
  const t2 = performance.now();
  const c2 = cpu();
  sample();
  const json = serializeCompiled(c);
  let bytes = json.desired.length;
  for (const h of Object.values(json.hosts)) bytes += h.length;
  const t3 = performance.now();
  const c3 = cpu();
  sample();
  const placed = Object.keys(c.desired.placements.instances).length;
  process.stdout.write(`${JSON.stringify({
    validateMs: Math.round(t1 - t0), compileMs: Math.round(t2 - t1), serializeMs: Math.round(t3 - t2), totalMs: Math.round(t3 - t0),
    validateCpuMs: Math.round(c1 - c0), compileCpuMs: Math.round(c2 - c1), serializeCpuMs: Math.round(c3 - c2), totalCpuMs: Math.round(c3 - c0),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), heapPeakMiB: Math.round(heapPeak / MIB),
    files: v.files, instances: v.counts.Instance, placed, unschedulable: Object.keys(c.desired.unschedulable).length,
    stateBytes: bytes,
  })}\n`);
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
