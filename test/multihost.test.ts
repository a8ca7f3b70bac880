/**
 * ringstack on several hosts, each role from its own config file, with network namespaces
 * standing in for machines (test/support/netns.ts): three storage nodes, a proxy, a controller
 * and two agents, each its own `bin/ringstack <role> --config F` process in its own namespace
 * on a private bridge. The test (in the root namespace, like an operator's laptop) uploads a
 * small qcow2 image through the proxy's S3 API, pushes a manifest repository with the real git
 * CLI to the controller's address, and sees both agents run their instances on the real
 * libvirt (qemu:///system; the agents reach libvirtd through its unix socket, as the filesystem
 * is shared), with the image's replicas on all three storage hosts. Then one agent host is
 * taken away (agent SIGKILLed, its guests destroyed as if the machine had lost power): after
 * the heartbeat timeout and the grace period the controller places its instances on the
 * surviving host, which runs them as the same instances (same UUIDs).
 *
 * Needs root (ip netns), libvirtd at qemu:///system, qemu-img and a compiled dist/; skipped
 * otherwise (a failure instead when CI is set and namespaces cannot be made). Everything in
 * libvirt carries the agents' random name prefixes and is removed in teardown, with the
 * namespaces and the bridge.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StateClient } from '../objectstore/client/state-client.js';
import { ensureLocalRings } from '../objectstore/cluster/rings.js';
import { NODE_READY_PREFIX } from '../objectstore/node/main.js';
import {
  CURRENT_DESIRED_KEY, desiredKey, hostDesiredKey, hostObservedKey,
} from '../agents/contract/keys.js';
import type { CurrentDesired, DesiredState, HostDesiredState } from '../agents/contract/desired.js';
import type { HostObservedState } from '../agents/contract/observed.js';
import { netnsAvailable, TestNet, type HostProcess } from './support/netns.js';
import { until as waitUntil } from './support/wait.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/ringstack');
const URI = 'qemu:///system';
const TAG = randomBytes(2).toString('hex');
const AGENTS = ['agent1', 'agent2'] as const;
const NODES = ['node1', 'node2', 'node3'] as const;
const NODE_PORT = 6200;
const PROXY_PORT = 8080;
const CONTROLLER_PORT = 8081;
/** Three of the agent's 5 s heartbeat refreshes during a long pass: a busy host is not taken for a lost one. */
const HEARTBEAT_TIMEOUT_S = 15;
const GRACE_S = 5;
const INSTANCES = ['demo/mh-1', 'demo/mh-2'];
/** Bounds for each step (TCG and a shared 2-core machine). */
const START_MS = 60_000;
const CONVERGE_MS = 150_000;
const POLL_MS = 1000;
/** Polls at this file's pace: each check may start virsh or read several documents. */
const until = <T>(what: string, ms: number, check: Parameters<typeof waitUntil<T>>[2]) => waitUntil(what, ms, check, POLL_MS);
const SCENARIO_MS = 8 * 60_000;

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

async function qemuImg(): Promise<boolean> {
  try {
    await run('qemu-img', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const ns = await netnsAvailable();
if (!ns.ok) {
  if (process.env.CI) t.fail(`multi-host test needs network namespaces (run as root with iproute2): ${ns.reason}`);
  else t.plan(0, `network namespaces not available: ${ns.reason}`);
} else if (!existsSync(join(ROOT, 'dist/bin/main.js'))) {
  t.plan(0, 'dist/ is not built (npx tsc -p .)');
} else if (!(await libvirtAnswers())) {
  t.plan(0, `libvirtd does not answer at ${URI}`);
} else if (!(await qemuImg())) {
  t.plan(0, 'qemu-img not installed');
} else {
  await t.test('three storage hosts, a proxy, a controller and two agents', { timeout: SCENARIO_MS }, scenario);
}


function prefixOf(agent: string): string {
  return `mh${TAG}${agent.slice(-1)}`;
}

/** Libvirt names (domains, networks or pools) made by one of this test's agents. */
async function ours(kind: 'list' | 'net-list' | 'pool-list', prefix?: string): Promise<string[]> {
  const out = await virsh(kind, '--all', '--name');
  const prefixes = prefix ? [prefix] : AGENTS.map(prefixOf);
  return out.split('\n').map((s) => s.trim()).filter((s) => prefixes.some((p) => s.startsWith(`${p}-`)));
}

function quiet(p: Promise<unknown>): Promise<unknown> {
  return p.catch(() => undefined);
}

/** Destroys and undefines the domains of one agent prefix (or of all of this test's agents). */
async function removeDomains(prefix?: string): Promise<void> {
  for (const d of await ours('list', prefix).catch(() => [])) {
    await quiet(virsh('destroy', d));
    await quiet(virsh('undefine', d));
  }
}

async function cleanLibvirt(): Promise<void> {
  await removeDomains();
  for (const n of await ours('net-list').catch(() => [])) {
    await quiet(virsh('net-destroy', n));
    await quiet(virsh('net-undefine', n));
  }
  for (const p of await ours('pool-list').catch(() => [])) {
    await quiet(virsh('pool-destroy', p));
    await quiet(virsh('pool-undefine', p));
  }
}

/** Waits for a role's ready line on stdout; fails with its stderr if it exits first. */
async function ready(name: string, p: HostProcess, line: string): Promise<void> {
  const deadline = Date.now() + START_MS;
  while (!p.out().includes(line)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${name} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.out().slice(-1000)} ${p.err().slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start within ${START_MS / 1000} s: ${p.err().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, POLL_MS / 4));
  }
}

/** Whether some `.data` file under `objectsDir` starts with `bytes` (the body precedes the metadata footer). */
function holdsReplica(objectsDir: string, bytes: Buffer): boolean {
  if (!existsSync(objectsDir)) return false;
  const files = readdirSync(objectsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.data'));
  return files.some((f) => {
    const data = readFileSync(join(objectsDir, f));
    return data.length > bytes.length && data.subarray(0, bytes.length).equals(bytes);
  });
}

function manifests(sha256: string): Record<string, string> {
  const instance = (name: string) => ({
    apiVersion: 'ringstack.dev/v1', kind: 'Instance', metadata: { name, project: 'demo' },
    spec: { image: 'tiny', flavor: 'tiny' },
  });
  return {
    'projects/demo.yaml': toYaml({ apiVersion: 'ringstack.dev/v1', kind: 'Project', metadata: { name: 'demo' }, spec: {} }),
    'flavors/tiny.yaml': toYaml({ apiVersion: 'ringstack.dev/v1', kind: 'Flavor', metadata: { name: 'tiny' }, spec: { vcpus: 1, memoryMiB: 128, diskGiB: 1 } }),
    'images/tiny.yaml': toYaml({
      apiVersion: 'ringstack.dev/v1', kind: 'Image', metadata: { name: 'tiny' },
      spec: { source: { bucket: 'images', key: 'tiny.qcow2' }, format: 'qcow2', sha256, minDiskGiB: 1, minMemoryMiB: 128 },
    }),
    'instances/mh.yaml': [instance('mh-1'), instance('mh-2')].map((m) => toYaml(m)).join('---\n'),
  };
}

async function scenario(t: Test): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-multihost-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', GIT_TERMINAL_PROMPT: '0' };
  for (const k of Object.keys(env)) if (k.startsWith('RINGSTACK_')) delete env[k];
  let net: TestNet | undefined;
  t.teardown(async () => {
    await net?.destroy();
    await cleanLibvirt();
    rmSync(dir, { recursive: true, force: true });
  });
  net = await TestNet.create();
  for (const h of [...NODES, 'proxy', 'controller', ...AGENTS]) await net.addHost(h);
  const addr = (h: string) => net!.host(h).address;
  const write = (file: string, data: unknown) => {
    const path = join(dir, file);
    mkdirSync(resolve(path, '..'), { recursive: true });
    writeFileSync(path, typeof data === 'string' ? data : toYaml(data), { mode: 0o600 });
    return path;
  };

  // Cluster-wide files, as an operator copies them to every storage host.
  const cluster = { secret: randomBytes(24).toString('hex'), hashSuffix: randomBytes(8).toString('hex') };
  const ringDir = join(dir, 'rings');
  await ensureLocalRings(ringDir, NODES.map((n, i) => ({ ip: addr(n), port: NODE_PORT, device: 'd1', zone: i + 1 })));
  const creds = { accessKey: `RS${randomBytes(8).toString('hex').toUpperCase()}`, secretKey: randomBytes(24).toString('base64url'), account: 'admin' };
  const credentialsFile = write('proxy/credentials.json', JSON.stringify(creds));

  const nodes = NODES.map((n) => {
    mkdirSync(join(dir, n, 'devices', 'd1'), { recursive: true });
    const cfg = write(`${n}/node.yaml`, { ...cluster, ringDir, node: { host: addr(n), port: NODE_PORT, devicesDir: join(dir, n, 'devices') } });
    return { n, p: net!.spawnIn(n, CLI, ['storage-node', '--config', cfg], { env, cwd: ROOT }) };
  });
  for (const { n, p } of nodes) await ready(n, p, NODE_READY_PREFIX);
  const proxyCfg = write('proxy/proxy.yaml', { ...cluster, ringDir, proxy: { host: addr('proxy'), port: PROXY_PORT, credentialsFile } });
  const proxy = net.spawnIn('proxy', CLI, ['proxy', '--config', proxyCfg], { env, cwd: ROOT });
  await ready('proxy', proxy, 'ringstack proxy listening');
  const endpoint = `http://${addr('proxy')}:${PROXY_PORT}`;
  t.pass(`object store: 3 storage nodes and a proxy at ${endpoint}`);

  const token = randomBytes(16).toString('hex');
  const controllerCfg = write('controller/controller.yaml', {
    dataDir: join(dir, 'controller', 'data'), host: addr('controller'), port: CONTROLLER_PORT, gitTokens: [token],
    store: { endpoint, accessKey: creds.accessKey, secretKey: creds.secretKey },
    heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S, gracePeriodSeconds: GRACE_S, resyncIntervalMs: 500,
  });
  const controller = net.spawnIn('controller', CLI, ['controller', '--config', controllerCfg], { env, cwd: ROOT });
  await ready('controller', controller, 'ringstack controller ready');

  const agents = new Map<string, HostProcess>();
  for (const a of AGENTS) {
    const cfg = write(`${a}/agent.yaml`, {
      host: `mh${TAG}-${a}`, libvirtUri: URI, dataDir: join(dir, a, 'data'), namePrefix: prefixOf(a),
      state: { endpoint, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
      pollIntervalMs: 1000, shutdownTimeoutMs: 3000,
    });
    const p = net.spawnIn(a, CLI, ['agent', '--config', cfg], { env, cwd: ROOT });
    await ready(a, p, 'ringstack agent');
    agents.set(`mh${TAG}-${a}`, p);
  }
  const hostNames = [...agents.keys()];

  const state = new StateClient({ endpoint, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey });
  t.teardown(() => state.close());
  await until('both agents to report', START_MS, async () => {
    for (const h of hostNames) if ((await state.getJson<HostObservedState>(hostObservedKey(h))).status !== 'ok') return undefined;
    return true;
  });

  // The image: a small qcow2 uploaded through the proxy's S3 API.
  const image = join(dir, 'tiny.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1G']);
  const bytes = readFileSync(image);
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey } });
  t.teardown(() => s3.destroy());
  await s3.send(new CreateBucketCommand({ Bucket: 'images' }));
  await s3.send(new PutObjectCommand({ Bucket: 'images', Key: 'tiny.qcow2', Body: bytes }));
  for (const n of NODES) {
    // The PUT returns at a write quorum; the last replica may land a moment later.
    await until(`a replica of the image on ${n}`, START_MS, () => holdsReplica(join(dir, n, 'devices', 'd1', 'objects'), bytes));
    t.pass(`storage host ${n} holds a replica of the image`);
  }

  // The manifests pushed with git from the root namespace to the controller's host.
  const work = join(dir, 'repo');
  mkdirSync(work);
  for (const [f, text] of Object.entries(manifests(createHash('sha256').update(bytes).digest('hex')))) {
    mkdirSync(resolve(work, f, '..'), { recursive: true });
    writeFileSync(join(work, f), text);
  }
  const git = async (...args: string[]) => {
    const r = await run('git', ['-c', 'user.email=test@ringstack.dev', '-c', 'user.name=multihost test', ...args], { cwd: work, env });
    return `${r.stdout}${r.stderr}`;
  };
  await git('init', '-q', '-b', 'main');
  await git('add', '.');
  await git('commit', '-q', '-m', 'two instances');
  await git('remote', 'add', 'ringstack', `http://ringstack:${token}@${addr('controller')}:${CONTROLLER_PORT}/git/infra.git`);
  const pushed = await git('push', 'ringstack', 'main');
  t.match(pushed, /accepted/, 'the push is accepted by the controller on its own host');

  const desiredNow = async (): Promise<DesiredState> => {
    const cur = await state.getJson<CurrentDesired>(CURRENT_DESIRED_KEY);
    if (cur.status !== 'ok') throw new Error('no current desired state');
    const d = await state.getJson<DesiredState>(desiredKey(cur.value.revision));
    if (d.status !== 'ok') throw new Error(`no desired state for ${cur.value.revision}`);
    return d.value;
  };
  const placed = await until('both instances placed', START_MS, async () => {
    const d = await desiredNow();
    return INSTANCES.every((i) => d.placements.instances[i]) ? d.placements.instances : undefined;
  });
  t.same(Object.values(placed).sort(), [...hostNames].sort(), `spread: one instance per agent host (${JSON.stringify(placed)})`);

  /** Whether `host` reports every one of `ids` ACTIVE and libvirt runs a domain of its prefix for each. */
  const runsAll = async (host: string, ids: string[]): Promise<boolean> => {
    const o = await state.getJson<HostObservedState>(hostObservedKey(host));
    if (o.status !== 'ok') return false;
    const notActive = ids.filter((i) => o.value.instances[i]?.state !== 'ACTIVE');
    if (notActive.length) throw new Error(`${host} reports ${notActive.map((i) => `${i} ${JSON.stringify(o.value.instances[i] ?? 'absent')}`).join(', ')}`);
    const running = (await virsh('list', '--name', '--state-running')).split('\n').map((s) => s.trim());
    const prefix = prefixOf(host.split('-').pop()!);
    return ids.every((i) => running.some((d) => d.startsWith(`${prefix}-`) && d.endsWith(`-${i.split('/')[1]}`)));
  };
  for (const h of hostNames) {
    const mine = INSTANCES.filter((i) => placed[i] === h);
    await until(`${h} to run ${mine.join(', ')}`, CONVERGE_MS, () => runsAll(h, mine));
    t.pass(`${h} runs ${mine.join(', ')} (observed ACTIVE, domain running in libvirt)`);
  }

  // One agent host goes away.
  const [lost, survivor] = hostNames as [string, string];
  const moved = INSTANCES.filter((i) => placed[i] === lost);
  const lostObserved = await state.getJson<HostObservedState>(hostObservedKey(lost));
  if (lostObserved.status !== 'ok') throw new Error(`no observed state of ${lost}`);
  const uuids = Object.fromEntries(moved.map((i) => [i, lostObserved.value.instances[i]?.uuid]));
  agents.get(lost)!.child.kill('SIGKILL');
  await agents.get(lost)!.exit;
  // Its guests go down with it (here they share one libvirtd with the survivor, which would
  // refuse a second domain with the same instance UUID while the lost host's one exists).
  await removeDomains(prefixOf(lost.split('-').pop()!));
  const after = await until(`${moved.join(', ')} to be rescheduled onto ${survivor}`, CONVERGE_MS, async () => {
    const d = await desiredNow();
    return INSTANCES.every((i) => d.placements.instances[i] === survivor) ? d : undefined;
  });
  t.same(Object.keys(after.placements.instances).sort(), INSTANCES, 'both instances placed');
  t.notOk(Object.values(after.placements.instances).includes(lost), `no instance left on the lost host ${lost}`);
  const hd = await state.getJson<HostDesiredState>(hostDesiredKey(survivor));
  t.ok(hd.status === 'ok' && INSTANCES.every((i) => hd.value.instances[i]), `${survivor}'s desired.json lists both instances`);
  await until(`${survivor} to run both instances`, CONVERGE_MS, () => runsAll(survivor, INSTANCES));
  t.pass(`${survivor} runs ${INSTANCES.join(', ')} after ${lost} went away`);
  const survived = await state.getJson<HostObservedState>(hostObservedKey(survivor));
  for (const i of moved) {
    const uuid = survived.status === 'ok' ? survived.value.instances[i]?.uuid : undefined;
    t.ok(uuid && uuid === uuids[i], `${i} moved as the same instance (UUID ${uuids[i]})`);
    const domain = (await ours('list', prefixOf(survivor.split('-').pop()!))).find((d) => d.endsWith(`-${i.split('/')[1]}`));
    t.equal(domain && (await virsh('domuuid', domain)).trim(), uuids[i], `libvirt on ${survivor} has ${i}'s domain with that UUID`);
  }
}
