/**
 * The whole stack as a user runs it: `bin/ringstack up` as a real process, the examples' image
 * made and uploaded with examples/make-image.sh, the examples pushed with the real git CLI, and
 * the agent converging qemu:///system: domains (vcpus, memory, overlay disk on the image, MAC),
 * the NAT network. Then a change (power web-1 off) converges, `git revert` brings it back,
 * Ctrl-C (SIGINT) stops everything with exit 0 and no children left, and a second `up` on the
 * same data folder adopts the running domains instead of duplicating them.
 *
 * On one host the examples' Soft anti-affinity group (a preference, not a rule) places all
 * three web instances there: four domains run, db-1 and web-1..3.
 *
 * Needs libvirtd with qemu:///system and a compiled dist/ (`npx tsc -p .`); skipped otherwise.
 * Everything it creates in libvirt carries a random name prefix and is removed in teardown.
 */
import { isolatedUpEnv } from './support/up-env.js';
import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { StateClient } from '../objectstore/client/state-client.js';
import { hostDesiredKey, hostObservedKey, type HostDesiredState, type HostObservedState } from '../agents/contract/index.js';
import { until as waitUntil } from './support/wait.js';
import { gitEnv, initWorkingCopy } from './support/git.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const URI = 'qemu:///system';
const HOST = 'stacktest';
const PREFIX = `st${randomBytes(3).toString('hex')}`;
/** TCG is slow and the machine shared: bounds for each convergence step. */
const CONVERGE_MS = 180_000;
const UP_MS = 60_000;
const POLL_MS = 2000;
/** The examples' web instances (examples/instances/web.yaml). */
const WEBS = ['web-1', 'web-2', 'web-3'];
/** Polls at this file's pace: each check may start virsh or read several documents. */
const until = <T>(what: string, ms: number, check: Parameters<typeof waitUntil<T>>[2]) => waitUntil(what, ms, check, POLL_MS);

async function virsh(...args: string[]): Promise<string> {
  return (await run('virsh', ['-q', '-c', URI, ...args])).stdout;
}

async function libvirtAnswers(): Promise<boolean> {
  try {
    await virsh('list', '--name');
    return true;
  } catch {
    return false;
  }
}

const skip = !existsSync(join(ROOT, 'dist/bin/main.js')) ? 'dist/ is not built (npx tsc -p .)'
  : !(await libvirtAnswers()) ? 'libvirtd does not answer at qemu:///system' : undefined;
if (skip) t.comment(`skipping the whole-stack test: ${skip}`);
t.test('ringstack up, the examples pushed, converged, changed, reverted, stopped and resumed', { skip: skip ?? false }, (t) => scenario(t));

async function names(kind: 'list' | 'net-list' | 'pool-list'): Promise<string[]> {
  const out = await virsh(kind, '--all', '--name');
  return out.split('\n').map((s) => s.trim()).filter((s) => s.startsWith(`${PREFIX}-`));
}

/** Removes every domain, network and pool with this test's prefix. */
async function cleanLibvirt(): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  for (const d of await names('list')) {
    await quiet(virsh('destroy', d));
    await quiet(virsh('undefine', d));
  }
  for (const n of await names('net-list')) {
    await quiet(virsh('net-destroy', n));
    await quiet(virsh('net-undefine', n));
  }
  for (const p of await names('pool-list')) {
    await quiet(virsh('pool-destroy', p));
    await quiet(virsh('pool-undefine', p));
  }
}

interface Up {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function startUp(dataDir: string, env: NodeJS.ProcessEnv): Up {
  const child = spawn(join(ROOT, 'bin/ringstack'), ['up', '--data-dir', dataDir, '--port', '0', '--controller-port', '0'], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => { out += b; });
  child.stderr!.on('data', (b) => { err += b; });
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, out: () => out, err: () => err, exit };
}


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function childPids(pid: number): Promise<number[]> {
  try {
    return (await run('pgrep', ['-P', String(pid)])).stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function scenario(t: Test): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'rs-stack-'));
  const dataDir = join(root, 'data');
  const work = join(root, 'repo');
  const env = isolatedUpEnv(root, PREFIX, HOST);
  const ups: Up[] = [];
  t.teardown(async () => {
    for (const u of ups) {
      if (u.child.exitCode === null && u.child.signalCode === null) {
        try { process.kill(-u.child.pid!, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    await cleanLibvirt();
    rmSync(root, { recursive: true, force: true });
  });


  let up = startUp(dataDir, env);
  ups.push(up);
  await until('"ringstack is up"', UP_MS, () => up.out().includes('ringstack is up') || (up.child.exitCode !== null ? Promise.reject(new Error(up.err())) : undefined));
  const endpoint = /S3:\s+endpoint (http:\/\/\S+),/.exec(up.out())?.[1];
  const remote = /git remote add ringstack (\S+)/.exec(up.out())?.[1];
  t.ok(endpoint && !endpoint.endsWith(':0'), `up prints the store's real port (${endpoint})`);
  t.ok(remote && !/:0\//.test(remote), 'up prints the remote with the controller\'s real port');
  t.match(up.out(), /Agent:\s+running on qemu:\/\/\/system/);
  const creds = JSON.parse(readFileSync(join(dataDir, 'store/credentials.json'), 'utf8'));
  const state = new StateClient({ endpoint: endpoint!, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
  t.teardown(() => state.close());

  // The image, made and uploaded by the examples' script.
  const made = await run(join(ROOT, 'examples/make-image.sh'), ['--data-dir', dataDir, '--endpoint', endpoint!], { env });
  t.match(made.stdout, /matches images\/blank\.yaml/, 'qemu-img made the committed bytes');

  // The examples as a user's repository, pushed as they are.
  cpSync(join(ROOT, 'examples'), work, { recursive: true });
  const git = await initWorkingCopy(work, gitEnv(join(root, 'home'), env), { name: 'ringstack', url: remote! });
  /** git in the user's repository: its output, or an error when it fails. */
  const gitOut = async (...args: string[]) => {
    const r = await git(...args);
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return `${r.stdout}${r.stderr}`;
  };
  await gitOut('add', '.');
  await gitOut('commit', '-q', '-m', 'examples');
  const pushed = await gitOut('push', 'ringstack', 'main');
  t.match(pushed, /accepted/);
  t.match(pushed, /\+ instance demo\/web-1 on stacktest/, 'the plan is shown');
  for (const w of WEBS) t.match(pushed, new RegExp(`\\+ instance demo/${w} on stacktest`), `Soft anti-affinity places ${w} on the only host`);
  t.notMatch(pushed, /unschedulable/, 'nothing is unschedulable');

  const domainOf = async (name: string) => (await names('list')).find((d) => d.endsWith(`-${name}`));
  const running = async () => (await virsh('list', '--name', '--state-running')).split('\n').map((s) => s.trim()).filter((s) => s.startsWith(`${PREFIX}-`));
  await until('db-1 and web-1..3 to run', CONVERGE_MS, async () => {
    const r = await running();
    return ['db-1', ...WEBS].every((n) => r.some((d) => d.endsWith(`-${n}`))) ? true : undefined;
  });
  const domains = await names('list');
  t.equal(domains.length, 4, `four domains on the one host: ${domains.join(', ')}`);

  const desired = await state.getJson<HostDesiredState>(hostDesiredKey(HOST));
  if (desired.status !== 'ok') throw new Error('no desired state for the host');
  for (const [name, memKiB] of [['web-1', 131072], ['db-1', 262144]] as const) {
    const xml = await virsh('dumpxml', (await domainOf(name))!);
    const inst = desired.value.instances[`demo/${name}`];
    t.match(xml, /<vcpu[^>]*>1<\/vcpu>/, `${name}: 1 vcpu`);
    t.match(xml, new RegExp(`<memory unit='KiB'>${memKiB}</memory>`), `${name}: memory of its flavor`);
    t.match(xml, new RegExp(`<source file='${dataDir}/agent/volumes/[^']*${name}\\.boot\\.qcow2'`), `${name}: boot disk in the volume pool`);
    t.match(xml, /<backingStore type='file'[^>]*>\s*<format type='qcow2'\/>\s*<source file='[^']*\/agent\/images\/3b107e52[0-9a-f]*\.qcow2'\/>|<backingStore type='file'[^>]*>[\s\S]*?<source file='[^']*\/agent\/images\/3b107e52[0-9a-f]*\.qcow2'\/>/, `${name}: an overlay on the image`);
    t.ok(inst?.nics[0]?.mac && xml.includes(`<mac address='${inst.nics[0].mac}'/>`), `${name}: the MAC of its desired state`);
  }
  const dbXml = await virsh('dumpxml', (await domainOf('db-1'))!);
  t.match(dbXml, /db-data\.qcow2'[\s\S]*?<target dev='vdb'/, 'db-1 has its data volume as vdb');
  const net = (await names('net-list')).find((n) => n.endsWith('-demo-net'));
  t.ok(net, 'the network exists');
  t.match(await virsh('net-info', net!), /Active:\s+yes/, 'the network is active');
  // The status API (read-only, open on loopback) says the same.
  const controllerUrl = /Controller \(Git, status API\):\s+(http:\/\/[^/\s]+)\/api\/v1\//.exec(up.out())![1];
  t.match(up.out(), new RegExp(`Dashboard:\\s+${controllerUrl}/dashboard/`), 'up prints the dashboard URL');
  t.equal((await fetch(`${controllerUrl}/dashboard/`)).status, 200, 'the dashboard answers there');
  const listed = await until('the status API to see every instance ready', CONVERGE_MS, async () => {
    const r = await fetch(`${controllerUrl}/api/v1/instances`);
    if (!r.ok) return undefined;
    const body = await r.json() as { items: Array<{ id: string; conditions: Array<{ type: string; status: string }> }> };
    const ready = (id: string) => body.items.find((i) => i.id === id)?.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    return ['db-1', ...WEBS].every((n) => ready(`demo/${n}`)) ? body.items : undefined;
  });
  t.same(listed.map((i) => i.id).sort(), ['demo/db-1', ...WEBS.map((w) => `demo/${w}`)], 'the status API lists the four instances, all Ready');
  const uuids = Object.fromEntries(await Promise.all(domains.map(async (d) => [d, (await virsh('domuuid', d)).trim()])));

  // A change: power web-1 off.
  const webFile = join(work, 'instances/web.yaml');
  writeFileSync(webFile, readFileSync(webFile, 'utf8').replace('  flavor: tiny\n', '  flavor: tiny\n  powerState: Stopped\n'));
  await gitOut('commit', '-q', '-am', 'stop web-1');
  const changed = await gitOut('push', 'ringstack', 'main');
  t.match(changed, /~ instance demo\/web-1/, 'the plan shows the update');
  await until('web-1 to be shut off', CONVERGE_MS, async () => (await virsh('domstate', (await domainOf('web-1'))!)).includes('shut off') || undefined);
  t.ok((await running()).some((d) => d.endsWith('-db-1')), 'db-1 still runs');

  // Rolled back with git revert.
  await gitOut('revert', '--no-edit', 'HEAD');
  const reverted = await gitOut('push', 'ringstack', 'main');
  t.match(reverted, /accepted/);
  await until('web-1 to run again', CONVERGE_MS, async () => (await running()).some((d) => d.endsWith('-web-1')) || undefined);
  t.equal((await virsh('domuuid', (await domainOf('web-1'))!)).trim(), uuids[(await domainOf('web-1'))!], 'the same domain, not a new one');

  // Ctrl-C stops everything cleanly.
  const kids = await childPids(up.child.pid!);
  t.ok(kids.length >= 3, 'the storage nodes run as children');
  up.child.kill('SIGINT');
  t.equal(await up.exit, 0, 'up exits 0 on SIGINT');
  await until('children to be gone', 10_000, () => kids.every((k) => !alive(k)) || undefined);
  t.same(kids.filter(alive), [], 'no child process left');

  // A second `up` resumes: same domains, adopted.
  up = startUp(dataDir, env);
  ups.push(up);
  await until('"ringstack is up" again', UP_MS, () => up.out().includes('ringstack is up') || (up.child.exitCode !== null ? Promise.reject(new Error(up.err())) : undefined));
  const endpoint2 = /S3:\s+endpoint (http:\/\/\S+),/.exec(up.out())![1];
  const state2 = new StateClient({ endpoint: endpoint2, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
  t.teardown(() => state2.close());
  const restarted = Date.now();
  await until('a heartbeat after the restart', UP_MS, async () => {
    const o = await state2.getJson<HostObservedState>(hostObservedKey(HOST));
    return o.status === 'ok' && Date.parse(o.value.heartbeat) > restarted + POLL_MS ? true : undefined;
  });
  const after = await names('list');
  t.same(after.sort(), domains.sort(), 'the same domains, none duplicated');
  for (const d of after) t.equal((await virsh('domuuid', d)).trim(), uuids[d], `${d} kept its UUID`);
  up.child.kill('SIGINT');
  t.equal(await up.exit, 0, 'the second up exits 0 too');
}
