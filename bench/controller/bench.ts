/**
 * Controller benchmark: generates a repository (default 10,000 instances, 100 networks,
 * 5,000 volumes, 200 hosts), then runs validate + schedule + compile + serialise several
 * times, each in a fresh process, and reports the median time and peak memory: a cold pass, a
 * warm pass (one file changed, caches kept) from the directory, the same warm pass from two
 * git commits as the controller runs it after a push, and the median of seven such passes in
 * a row (a running controller's steady state).
 * Targets: cold total < 2 s, peak RSS < 300 MB; one-line change to desired state < 500 ms.
 *
 * Usage: npx tsc -p . && node dist/bench/controller/bench.js [--runs N] [--instances N]
 *        [--networks N] [--volumes N] [--hosts N] [--keep]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_SIZE, EDITED, edit, generateRepo } from './generate.js';

const run = promisify(execFile);
const TARGET_MS = 2000;
const TARGET_RSS_MIB = 300;
const TARGET_PUSH_MS = 500;

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
    // Two commits for git mode: the repository, then the one-line change (the directory keeps the first).
    const repo = join(dir, 'repo');
    const git = (...args: string[]) => run('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { maxBuffer: 1 << 24 });
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'repository');
    const original = await readFile(join(repo, EDITED), 'utf8');
    await writeFile(join(repo, EDITED), edit(original));
    await git('commit', '-q', '-a', '-m', 'one-line change');
    await writeFile(join(repo, EDITED), original);
    const generateMs = Math.round(performance.now() - g0);
    // The kernel writes the 10,000 new files back in the background for a while; measuring
    // during that writeback made the first cold runs 20-40 % slower than the later ones.
    await run('sync', []);
    const once = join(dirname(fileURLToPath(import.meta.url)), 'run-once.js');
    const keys = ['validateMs', 'compileMs', 'serializeMs', 'totalMs', 'validateCpuMs', 'compileCpuMs', 'serializeCpuMs', 'totalCpuMs', 'maxRssMiB', 'heapPeakMiB'];
    const measure = async (mode: 'cold' | 'warm' | 'git' | 'steady') => {
      const runs: Array<Record<string, number>> = [];
      for (let i = 0; i < Number(values.runs); i++) {
        const { stdout } = await run(process.execPath, [once, join(dir, 'repo'), hostsFile, mode], { maxBuffer: 1 << 20 });
        runs.push(JSON.parse(stdout));
      }
      return { median: Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]!))])), last: runs[runs.length - 1]! };
    };
    const cold = await measure('cold');
    const warm = await measure('warm');
    const fromGit = await measure('git');
    const steady = await measure('steady');
    const last = cold.last;
    const med = cold.median;
    const report = {
      size, runs: Number(values.runs), generateMs, cold: cold.median, warm: warm.median, git: fromGit.median, steady: steady.median,
      files: last.files, placed: last.placed, unschedulable: last.unschedulable, stateBytes: last.stateBytes,
      warmChangedHosts: warm.last.changedHosts,
      targets: { totalMs: TARGET_MS, maxRssMiB: TARGET_RSS_MIB },
      coldWithinTargets: med.totalMs! < TARGET_MS && med.maxRssMiB! < TARGET_RSS_MIB,
      warmWithinTargets: warm.median.totalMs! < TARGET_PUSH_MS && warm.median.maxRssMiB! < TARGET_RSS_MIB,
      gitWithinTargets: fromGit.median.totalMs! < TARGET_PUSH_MS && fromGit.median.maxRssMiB! < TARGET_RSS_MIB,
      steadyWithinTargets: steady.median.totalMs! < TARGET_PUSH_MS && steady.median.maxRssMiB! < TARGET_RSS_MIB,
      node: process.version, cpus: availableParallelism(), loadavg: loadavg().map((x) => Math.round(x * 10) / 10),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const line = (name: string, m: Record<string, number>) =>
      `  ${name}: validate ${m.validateMs} ms + compile ${m.compileMs} ms + serialise ${m.serializeMs} ms = ${m.totalMs} ms wall ` +
      `(${m.totalCpuMs} ms CPU), peak RSS ${m.maxRssMiB} MiB, peak heap ${m.heapPeakMiB} MiB\n`;
    process.stdout.write(`\n${size.instances} instances, ${size.networks} networks, ${size.volumes} volumes, ${size.hosts} hosts (${last.files} files), ` +
      `median of ${report.runs} runs, load average ${report.loadavg.join(' ')} on ${report.cpus} CPUs:\n` +
      line('cold (first commit)', cold.median) + line('warm (one file changed, caches)', warm.median) +
      line('git (next commit, caches)', fromGit.median) + line('steady (median of 7 further commits)', steady.median) +
      `  ${last.placed} placed, ${last.unschedulable} unschedulable; state ${(last.stateBytes! / 1048576).toFixed(1)} MiB; ` +
      `targets: cold < ${TARGET_MS} ms, one-line change < ${TARGET_PUSH_MS} ms, < ${TARGET_RSS_MIB} MiB: ` +
      `cold ${report.coldWithinTargets ? 'met' : 'NOT met'}, warm ${report.warmWithinTargets ? 'met' : 'NOT met'}, git ${report.gitWithinTargets ? 'met' : 'NOT met'}, ` +
      `steady ${report.steadyWithinTargets ? 'met' : 'NOT met'}\n`);
    if (values.keep) process.stdout.write(`repository kept in ${dir}\n`);
  } finally {
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
