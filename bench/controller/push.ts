/**
 * Push → desired-state latency on the generated repository, end to end on real processes:
 * `ringstack objectstore` (proxy + 3 storage nodes) and `ringstack controller` (Git endpoint)
 * run as children, 200 hosts are registered in the state bucket as agents would (info.json and
 * observed.json with a fresh heartbeat), and the real `git` CLI pushes the repository (the
 * cold push), then `--rounds` one-line changes (a label of one instance set to a new value).
 * For each round the clock starts when `git push` is spawned; the host's
 * `state/hosts/<host>/desired.json` is polled with conditional GETs until it holds the new
 * value (`desiredMs`); `pushExitMs` is when git exits. The controller's CPU time per push
 * (from /proc, all its threads) and its peak RSS (VmHWM) are reported too.
 *
 * Usage: npx tsc -p . && node dist/bench/controller/push.js [--rounds 5] [--instances N]
 *        [--networks N] [--volumes N] [--hosts N] [--settle S] [--cpu-prof DIR] [--gap S]
 *        [--node-args "FLAGS"]
 * `--settle S` (default 10) waits S seconds after the cold push before the first round (the
 * store is still writing replicas of the first 26 MB state, the controller collecting garbage);
 * `--cpu-prof DIR` writes a CPU profile of the controller into DIR when it stops.
 * `--gap S` (default 0) waits S seconds between rounds (pushes spaced in time, as people push).
 * `--node-args "FLAGS"` starts the controller with these Node/V8 flags (e.g. a young-generation size).
 * With PUSH_BENCH_LOG_DIR set, the children's standard output (their logs) goes to files there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { StateClient } from '../../objectstore/client/state-client.js';
import {
  CURRENT_DESIRED_KEY, STATE_FORMAT_VERSION, canonicalJson, desiredKey, hostDesiredKey, hostInfoKey, hostObservedKey,
  type CurrentDesired, type DesiredState, type HostDesiredState,
} from '../../agents/contract/index.js';
import { controllerRemote, gitEnv, initWorkingCopy } from '../../test/support/git.js';
import { DEFAULT_SIZE, EDITED, generateRepo } from './generate.js';
import { median } from '../stats.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'dist', 'bin', 'main.js');
const TOKEN = 'bench-push-token';
const POLL_MS = 10;
const START_TIMEOUT_MS = 120_000;
const ROUND_TIMEOUT_MS = 120_000;
const TARGET_MS = 500;
/** Clock ticks per second of /proc/<pid>/stat (Linux USER_HZ). */
const TICKS = 100;
const INSTANCE = 'p000/vm-0001';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `ringstack <args>` and resolves with the URL of its "ready at <url>" line. */
function start(args: string[], env: NodeJS.ProcessEnv, log: string, nodeArgs: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...nodeArgs, MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => { err = (err + d).slice(-4000); });
  if (process.env.PUSH_BENCH_LOG_DIR) child.stdout!.pipe(createWriteStream(join(process.env.PUSH_BENCH_LOG_DIR, `${args[0]}.out`)));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${args[0]} did not start: ${err}`)), START_TIMEOUT_MS);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /ready at (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); res({ child, url: m[1]! }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); writeFileSync(log, err); rej(new Error(`${args[0]} exited ${code}: ${err}`)); });
  });
}

/** CPU seconds (user + system, all threads) and peak RSS in MiB of a process. */
function procStats(pid: number): { cpuMs: number; hwmMiB: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuMs, hwmMiB: Math.round(kib('VmHWM') / 1024), rssMiB: Math.round(kib('VmRSS') / 1024) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' }, instances: { type: 'string' }, networks: { type: 'string' },
      volumes: { type: 'string' }, hosts: { type: 'string' }, settle: { type: 'string', default: '10' }, 'cpu-prof': { type: 'string' },
      'node-args': { type: 'string' }, gap: { type: 'string', default: '0' },
    },
  });
  const size = {
    instances: Number(values.instances ?? DEFAULT_SIZE.instances), networks: Number(values.networks ?? DEFAULT_SIZE.networks),
    volumes: Number(values.volumes ?? DEFAULT_SIZE.volumes), hosts: Number(values.hosts ?? DEFAULT_SIZE.hosts),
  };
  const dir = mkdtempSync(join(tmpdir(), 'ringstack-bench-push-'));
  const children: ChildProcess[] = [];
  const say = (s: string) => process.stderr.write(`${s}\n`);
  try {
    const work = join(dir, 'work');
    const hosts = await generateRepo(work, size);
    const store = await start(['objectstore', '--data-dir', join(dir, 'store'), '--port', '0'], process.env, join(dir, 'store.log'));
    children.push(store.child);
    const creds = JSON.parse(readFileSync(join(dir, 'store', 'credentials.json'), 'utf8')) as { accessKey: string; secretKey: string };
    const client = new StateClient({ endpoint: store.url, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
    await client.ensureBucket();
    const now = new Date().toISOString();
    await Promise.all(hosts.map(async (h) => {
      await client.putJson(hostInfoKey(h.name), canonicalJson({
        formatVersion: STATE_FORMAT_VERSION, kind: 'HostInfo', host: h.name, zone: h.zone, vcpus: h.vcpus, memoryMiB: h.memoryMiB, diskGiB: h.diskGiB, startedAt: now,
      }));
      await client.putJson(hostObservedKey(h.name), canonicalJson({
        formatVersion: STATE_FORMAT_VERSION, kind: 'HostObservedState', host: h.name, heartbeat: now,
        totals: { vcpus: h.vcpus, memoryMiB: h.memoryMiB, diskGiB: h.diskGiB, usedVcpus: 0, usedMemoryMiB: 0, usedDiskGiB: 0 },
        networks: {}, images: {}, volumes: {}, instances: {},
      }));
    }));
    const ctl = await start(['controller'], {
      ...process.env, RINGSTACK_CONTROLLER_DATA_DIR: join(dir, 'ctl'), RINGSTACK_CONTROLLER_PORT: '0', RINGSTACK_GIT_TOKENS: TOKEN,
      RINGSTACK_STATE_ENDPOINT: store.url, RINGSTACK_STATE_ACCESS_KEY: creds.accessKey, RINGSTACK_STATE_SECRET_KEY: creds.secretKey,
      // The registered hosts stay up for the whole run (no agent refreshes their heartbeat).
      RINGSTACK_HEARTBEAT_TIMEOUT: '86400',
    }, join(dir, 'controller.log'), [
      ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : []),
      ...(values['node-args'] ? values['node-args'].split(/\s+/).filter(Boolean) : []),
    ]);
    children.push(ctl.child);
    const pid = ctl.child.pid!;
    const git = await initWorkingCopy(work, gitEnv(join(dir, 'home')), { name: 'origin', url: controllerRemote(ctl.url, TOKEN) });
    await git('add', '-A');
    await git('commit', '-qm', 'repository');

    const timedPush = async () => {
      const cpu0 = procStats(pid).cpuMs;
      const t0 = performance.now();
      const r = await git('push', '-q', 'origin', 'main');
      if (r.status !== 0) throw new Error(`git push failed: ${r.stderr}`);
      return { ms: performance.now() - t0, cpuMs: procStats(pid).cpuMs - cpu0 };
    };
    say('cold push of the whole repository...');
    const cold = await timedPush();
    const current = (await client.getJson<CurrentDesired>(CURRENT_DESIRED_KEY));
    if (current.status !== 'ok') throw new Error('nothing published after the first push');
    const state = await client.getJson<DesiredState>(desiredKey(current.value.revision));
    if (state.status !== 'ok') throw new Error('no desired state after the first push');
    const host = state.value.placements.instances[INSTANCE];
    if (!host) throw new Error(`${INSTANCE} was not placed`);
    const afterCold = procStats(pid);
    say(`cold push ${Math.round(cold.ms)} ms (controller ${Math.round(cold.cpuMs)} ms CPU, RSS ${afterCold.rssMiB} MiB); ${INSTANCE} on ${host}`);

    await sleep(Number(values.settle) * 1000);
    const key = hostDesiredKey(host);
    let etag: string | undefined;
    const edited = join(work, EDITED);
    const original = readFileSync(edited, 'utf8');
    const samples: Array<{ round: number; desiredMs: number; pushExitMs: number; controllerCpuMs: number; rssBeforeMiB: number; controllerRssMiB: number }> = [];
    for (let round = 1; round <= Number(values.rounds); round++) {
      if (round > 1) await sleep(Number(values.gap) * 1000);
      const value = `r${round}`;
      writeFileSync(edited, original.replace('tier: ', `edited: "${value}"\n    tier: `));
      await git('commit', '-qam', `round ${round}`);
      const first = await client.getJson<HostDesiredState>(key);
      etag = first.status === 'missing' ? undefined : first.etag;
      const before = procStats(pid);
      const cpu0 = before.cpuMs;
      const t0 = performance.now();
      const push = git('push', '-q', 'origin', 'main').then((r) => {
        if (r.status !== 0) throw new Error(`git push failed: ${r.stderr}`);
        return performance.now() - t0;
      });
      let desiredMs = -1;
      while (performance.now() - t0 < ROUND_TIMEOUT_MS) {
        const r = await client.getJson<HostDesiredState>(key, etag);
        if (r.status === 'ok') {
          etag = r.etag;
          if (r.value.instances[INSTANCE]?.labels.edited === value) { desiredMs = performance.now() - t0; break; }
        }
        await sleep(POLL_MS);
      }
      const pushExitMs = await push;
      if (desiredMs < 0) throw new Error(`round ${round}: ${key} never showed the change`);
      const after = procStats(pid);
      const controllerCpuMs = after.cpuMs - cpu0;
      samples.push({ round, desiredMs: Math.round(desiredMs), pushExitMs: Math.round(pushExitMs), controllerCpuMs: Math.round(controllerCpuMs), rssBeforeMiB: before.rssMiB, controllerRssMiB: after.rssMiB });
      say(`round ${round}: desired ${Math.round(desiredMs)} ms, push exit ${Math.round(pushExitMs)} ms, controller ${Math.round(controllerCpuMs)} ms CPU, RSS ${before.rssMiB} -> ${after.rssMiB} MiB`);
    }
    const end = procStats(pid);
    const report = {
      size, rounds: samples.length, coldPushMs: Math.round(cold.ms), coldControllerCpuMs: Math.round(cold.cpuMs), samples,
      desired: { medianMs: median(samples.map((s) => s.desiredMs)), maxMs: Math.max(...samples.map((s) => s.desiredMs)), targetMs: TARGET_MS },
      pushExit: { medianMs: median(samples.map((s) => s.pushExitMs)) },
      controllerCpuMs: { median: median(samples.map((s) => s.controllerCpuMs)) },
      controllerPeakRssMiB: end.hwmMiB, controllerRssMiB: end.rssMiB,
      met: median(samples.map((s) => s.desiredMs)) < TARGET_MS,
      node: process.version, controllerNodeArgs: values['node-args'] ?? '', loadavg: loadavg().map((x) => Math.round(x * 10) / 10),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    client.close();
  } finally {
    for (const c of children.reverse()) {
      if (c.exitCode !== null) continue;
      c.kill('SIGINT');
      await new Promise((r) => { const t = setTimeout(() => { c.kill('SIGKILL'); r(undefined); }, 15_000); c.once('exit', () => { clearTimeout(t); r(undefined); }); });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exitCode = 1; });
