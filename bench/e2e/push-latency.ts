/**
 * End-to-end latency of a `git push` as a user sees it (issues 7 and 8): `bin/ringstack up`
 * runs as a real process on qemu:///system, the tiny image is uploaded with
 * examples/make-image.sh, and a repository with one project, the tiny flavor, the image and one
 * network-less instance is pushed with the real git CLI; that first instance warms the agent's
 * image cache. Then, each round, a commit adds one NEW instance and the clock starts when
 * `git push` is spawned:
 *   (b) desired: the host's state/hosts/<host>/desired.json lists the instance (polled with the
 *       S3 SDK every DESIRED_POLL_MS, conditional GET so unchanged reads are 304s);
 *   (a) running: `virsh list --state-running` shows its domain (polled every DOMAIN_POLL_MS).
 * The instance is then deleted in a commit and its domain awaited gone before the next round,
 * so at most two domains exist. Samples, medians, maxima and the targets are printed as JSON.
 *
 * Everything created in libvirt carries a random name prefix and is removed at the end (after
 * SIGINT to `up`); the temp folder is removed too.
 *
 *   npx tsc -p . && node dist/bench/e2e/push-latency.js [--rounds 5]
 */
import { isolatedUpEnv } from '../../test/support/up-env.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { StateClient } from '../../objectstore/client/state-client.js';
import { hostDesiredKey, type HostDesiredState } from '../../agents/contract/index.js';
import { median } from '../stats.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const URI = 'qemu:///system';
const HOST = 'e2ebench';
const PROJECT = 'bench';
const PREFIX = `eb${randomBytes(3).toString('hex')}`;
const DEFAULT_ROUNDS = 5;
const DESIRED_POLL_MS = 20;
const DOMAIN_POLL_MS = 50;
/** Waits for `up`, the warm-up instance and each round (TCG on a shared machine is slow). */
const UP_TIMEOUT_MS = 90_000;
const WARM_TIMEOUT_MS = 300_000;
const ROUND_TIMEOUT_MS = 120_000;
/** After SIGINT, `up` gets this long before its process group is killed. */
const STOP_TIMEOUT_MS = 15_000;
const TARGET_RUNNING_MS = 5000;
const TARGET_DESIRED_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function virsh(...args: string[]): Promise<string> {
  return (await run('virsh', ['-q', '-c', URI, ...args])).stdout;
}

async function prefixed(kind: 'list' | 'net-list' | 'pool-list', ...extra: string[]): Promise<string[]> {
  const out = await virsh(kind, '--name', ...(extra.length ? extra : ['--all']));
  return out.split('\n').map((s) => s.trim()).filter((s) => s.startsWith(`${PREFIX}-`));
}

async function runningDomain(name: string): Promise<string | undefined> {
  return (await prefixed('list', '--state-running')).find((d) => d.endsWith(`-${name}`));
}

async function anyDomain(name: string): Promise<string | undefined> {
  return (await prefixed('list')).find((d) => d.endsWith(`-${name}`));
}

/** Removes every domain, network and pool with this run's prefix. */
async function cleanLibvirt(): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  for (const d of await prefixed('list')) {
    await quiet(virsh('destroy', d));
    await quiet(virsh('undefine', d));
  }
  for (const n of await prefixed('net-list')) {
    await quiet(virsh('net-destroy', n));
    await quiet(virsh('net-undefine', n));
  }
  for (const p of await prefixed('pool-list')) {
    await quiet(virsh('pool-destroy', p));
    await quiet(virsh('pool-undefine', p));
  }
}

/** Polls `check` every `everyMs` until it returns true; the elapsed ms since `t0`. */
async function pollUntil(what: string, t0: number, everyMs: number, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return performance.now() - t0;
    } catch (e) {
      last = e;
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await sleep(everyMs);
  }
}

function instanceYaml(name: string): string {
  return `apiVersion: ringstack.dev/v1\nkind: Instance\nmetadata:\n  name: ${name}\n  project: ${PROJECT}\n`
    + 'spec:\n  image: blank\n  flavor: tiny\n';
}

const REPO_FILES: Record<string, string> = {
  'projects/bench.yaml': `apiVersion: ringstack.dev/v1\nkind: Project\nmetadata:\n  name: ${PROJECT}\n`
    + 'spec:\n  quotas:\n    instances: 4\n    vcpus: 4\n    memoryMiB: 1024\n    volumeGiB: 10\n    networks: 1\n',
  'flavors/tiny.yaml': 'apiVersion: ringstack.dev/v1\nkind: Flavor\nmetadata:\n  name: tiny\n'
    + 'spec:\n  vcpus: 1\n  memoryMiB: 128\n  diskGiB: 1\n',
};

const round1 = (x: number) => Math.round(x * 10) / 10;

function parseRounds(argv: string[]): number {
  const i = argv.indexOf('--rounds');
  if (i < 0) return DEFAULT_ROUNDS;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--rounds must be a whole number from 1, got ${JSON.stringify(argv[i + 1])}`);
  return v;
}

interface Sample { instance: string; pushExitMs: number; desiredMs: number; runningMs: number }

async function main(): Promise<void> {
  const rounds = parseRounds(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'rs-e2e-bench-'));
  const dataDir = join(root, 'data');
  const work = join(root, 'repo');
  const env = isolatedUpEnv(root, PREFIX, HOST);
  let up: ChildProcess | undefined;
  let state: StateClient | undefined;
  try {
    up = spawn(join(ROOT, 'bin/ringstack'), ['up', '--data-dir', dataDir, '--port', '0', '--controller-port', '0'], {
      cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '';
    let err = '';
    up.stdout!.on('data', (b) => { out += b; });
    up.stderr!.on('data', (b) => { err += b; });
    const t0 = performance.now();
    await pollUntil('"ringstack is up"', t0, 200, UP_TIMEOUT_MS, async () => {
      if (up!.exitCode !== null) throw new Error(`up exited ${up!.exitCode}: ${err}`);
      return out.includes('ringstack is up');
    });
    const endpoint = /S3:\s+endpoint (http:\/\/\S+),/.exec(out)?.[1];
    const remote = /git remote add ringstack (\S+)/.exec(out)?.[1];
    if (!endpoint || !remote) throw new Error(`could not read the endpoint and remote from up's output:\n${out}`);
    const creds = JSON.parse(readFileSync(join(dataDir, 'store/credentials.json'), 'utf8'));
    state = new StateClient({ endpoint, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
    await run(join(ROOT, 'examples/make-image.sh'), ['--data-dir', dataDir, '--endpoint', endpoint], { env });

    const git = async (...args: string[]) => {
      const r = await run('git', ['-c', 'user.email=bench@ringstack.dev', '-c', 'user.name=e2e bench', ...args], { cwd: work, env });
      return `${r.stdout}${r.stderr}`;
    };
    mkdirSync(join(work, 'instances'), { recursive: true });
    mkdirSync(join(work, 'projects'), { recursive: true });
    mkdirSync(join(work, 'flavors'), { recursive: true });
    cpSync(join(ROOT, 'examples/images'), join(work, 'images'), { recursive: true });
    for (const [path, body] of Object.entries(REPO_FILES)) writeFileSync(join(work, path), body);
    writeFileSync(join(work, 'instances/warm.yaml'), instanceYaml('warm'));
    await git('init', '-q', '-b', 'main');
    await git('add', '.');
    await git('commit', '-q', '-m', 'bench: project, flavor, image, one instance');
    await git('remote', 'add', 'ringstack', remote);
    const warmStart = performance.now();
    const pushed = await git('push', 'ringstack', 'main');
    if (!/accepted/.test(pushed)) throw new Error(`the first push was not accepted:\n${pushed}`);
    const warmMs = await pollUntil('the warm-up instance to run', warmStart, 500, WARM_TIMEOUT_MS,
      async () => (await runningDomain('warm')) !== undefined);
    process.stderr.write(`warm-up instance running after ${Math.round(warmMs)} ms (image downloaded)\n`);

    const desiredKey = hostDesiredKey(HOST);
    const samples: Sample[] = [];
    for (let i = 1; i <= rounds; i++) {
      const name = `lat${i}`;
      const file = join(work, `instances/${name}.yaml`);
      writeFileSync(file, instanceYaml(name));
      await git('add', file);
      await git('commit', '-q', '-m', `bench: add ${name}`);
      // Prime the conditional read so the desired poll pays only 304s until the change lands.
      const primed = await state.getJson<HostDesiredState>(desiredKey);
      let etag = primed.status === 'missing' ? undefined : primed.etag;

      const start = performance.now();
      const push = spawn('git', ['push', '-q', 'ringstack', 'main'], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let pushErr = '';
      push.stderr!.on('data', (b) => { pushErr += b; });
      const pushExit = new Promise<number>((res, rej) => push.on('exit', (code) => {
        if (code === 0) res(performance.now() - start); else rej(new Error(`git push exited ${code}: ${pushErr}`));
      }));
      const id = `${PROJECT}/${name}`;
      const [pushExitMs, desiredMs, runningMs] = await Promise.all([
        pushExit,
        pollUntil(`${id} in ${desiredKey}`, start, DESIRED_POLL_MS, ROUND_TIMEOUT_MS, async () => {
          const r = await state!.getJson<HostDesiredState>(desiredKey, etag);
          if (r.status !== 'ok') return false;
          etag = r.etag;
          return r.value.instances[id] !== undefined;
        }),
        pollUntil(`${name}'s domain to run`, start, DOMAIN_POLL_MS, ROUND_TIMEOUT_MS, async () => (await runningDomain(name)) !== undefined),
      ]);
      const sample = { instance: name, pushExitMs: round1(pushExitMs), desiredMs: round1(desiredMs), runningMs: round1(runningMs) };
      samples.push(sample);
      process.stderr.write(`round ${i}: ${JSON.stringify(sample)}\n`);

      unlinkSync(file);
      await git('add', '-A', 'instances');
      await git('commit', '-q', '-m', `bench: delete ${name}`);
      await git('push', '-q', 'ringstack', 'main');
      const gone = performance.now();
      await pollUntil(`${name}'s domain to be removed`, gone, 200, ROUND_TIMEOUT_MS, async () => (await anyDomain(name)) === undefined);
    }

    const stat = (key: 'pushExitMs' | 'desiredMs' | 'runningMs') => {
      const xs = samples.map((s) => s[key]);
      return { medianMs: round1(median(xs)), maxMs: Math.max(...xs) };
    };
    const desired = stat('desiredMs');
    const running = stat('runningMs');
    console.log(JSON.stringify({
      rounds, uri: URI, loadAvg1m: round1(loadavg()[0]!), warmUpRunningMs: Math.round(warmMs),
      samples,
      pushExit: stat('pushExitMs'),
      desired: { ...desired, targetMs: TARGET_DESIRED_MS, met: desired.medianMs < TARGET_DESIRED_MS },
      running: { ...running, targetMs: TARGET_RUNNING_MS, met: running.medianMs < TARGET_RUNNING_MS },
    }, null, 2));
  } finally {
    state?.close();
    if (up && up.exitCode === null && up.signalCode === null) {
      const exited = new Promise<number | null>((r) => up!.once('exit', (code) => r(code)));
      up.kill('SIGINT');
      const timer = setTimeout(() => { try { process.kill(-up!.pid!, 'SIGKILL'); } catch { /* gone */ } }, STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      process.stderr.write(`up stopped on SIGINT with exit code ${code}\n`);
    }
    await cleanLibvirt();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`push-latency: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
