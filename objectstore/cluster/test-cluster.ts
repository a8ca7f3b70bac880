/**
 * A real cluster for tests and benchmarks: N storage nodes as child processes
 * (`ringstack storage-node`, from dist/) on a temp folder, rings written with the builder, and
 * a ReplicatedBackend in the calling process. Each node can be killed (any signal) and
 * restarted on the same port and folder, its device can be swapped for another folder
 * (e.g. a tiny tmpfs) before a start, its config can be changed before a restart; nodes can
 * be added and the rings rebalanced and rewritten (nodes watch their ring files, the
 * in-process backend reloads at once); a proxy can run as a child process too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { stringify as toYaml } from 'yaml';
import { freePort, startChild, stopChild, writePrivate } from './local.js';
import { loadRings, LOCAL_PART_POWER, LOCAL_REPLICAS } from './rings.js';
import { RING_FILES } from './config.js';
import { RingBuilder } from '../ring/builder.js';
import { writeRingFile } from '../ring/ring-file.js';
import { ReplicatedBackend, type ProxyRings } from '../proxy/replicated-backend.js';
import type { HashConfig } from '../ring/hash.js';
import { compiledEntry } from '../common/compiled.js';

/** Fixed seed so a cluster's rings are reproducible. */
const RING_SEED = 1;
const PROXY_READY_TIMEOUT_MS = 30_000;
const PROXY_READY_PREFIX = 'ringstack proxy listening on ';

export interface TestNode {
  index: number;
  port: number;
  device: string;
  devicesDir: string;
  configFile: string;
  /** Extra `node:` settings written into the config (replicator, auditor, reserveBytes, …). */
  extra: Record<string, unknown>;
  child?: ChildProcess;
}

export interface TestProxy {
  url: string;
  accessKey: string;
  secretKey: string;
  account: string;
  child: ChildProcess;
}

export class TestCluster {
  readonly nodes: TestNode[] = [];
  /** Mount points to unmount at stop (after the nodes exit). */
  readonly mounts: string[] = [];
  backend!: ReplicatedBackend;
  rings!: ProxyRings;
  proxy?: TestProxy;
  readonly hash: HashConfig = { prefix: '', suffix: randomBytes(8).toString('hex') };
  readonly secret = randomBytes(24).toString('hex');
  readonly ringDir: string;
  private builder!: RingBuilder;
  private log: (l: string) => void = () => undefined;
  private constructor(readonly dir: string) {
    this.ringDir = join(dir, 'rings');
  }

  /** Creates the folders, rings and configs and starts every node. */
  static async start(opts: {
    nodes?: number;
    extra?: (i: number) => Record<string, unknown>;
    log?: (l: string) => void;
    /** Runs after the rings exist and before any node starts (e.g. to mount a device). */
    beforeStart?: (c: TestCluster) => Promise<void>;
  } = {}): Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'ringstack-cluster-'));
    const c = new TestCluster(dir);
    c.log = opts.log ?? (() => undefined);
    const n = opts.nodes ?? 3;
    c.builder = new RingBuilder(LOCAL_PART_POWER, LOCAL_REPLICAS, 1);
    for (let i = 0; i < n; i++) await c.prepareNode(opts.extra?.(i) ?? {});
    c.builder.rebalance({ seed: RING_SEED });
    await c.writeRings();
    c.rings = await loadRings(c.ringDir, c.hash);
    c.backend = new ReplicatedBackend({ rings: c.rings, secret: c.secret, nodeTimeoutMs: 5000 });
    try {
      await opts.beforeStart?.(c);
      // Every start settles before a failure is thrown: the nodes that did start are stopped,
      // or they would keep the test process alive until its timeout.
      const failed = (await Promise.allSettled(c.nodes.map((x) => c.startNode(x.index)))).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Folder, port and config of a new node, and its device in the builder (not yet balanced). */
  private async prepareNode(extra: Record<string, unknown>): Promise<TestNode> {
    const i = this.nodes.length;
    const port = await freePort('127.0.0.1');
    const devicesDir = join(this.dir, `node${i + 1}`);
    const device = `d${i + 1}`;
    await mkdir(join(devicesDir, device), { recursive: true });
    const node: TestNode = { index: i, port, device, devicesDir, configFile: join(this.dir, `node${i + 1}.yaml`), extra };
    this.nodes.push(node);
    await this.writeNodeConfig(i);
    this.builder.addDevice({ region: 1, zone: i + 1, ip: '127.0.0.1', port, device, meta: '', weight: 1 });
    return node;
  }

  private async writeNodeConfig(i: number): Promise<void> {
    const n = this.nodes[i]!;
    await writePrivate(n.configFile, toYaml({
      secret: this.secret, hashSuffix: this.hash.suffix, ringDir: this.ringDir,
      node: { host: '127.0.0.1', port: n.port, devicesDir: n.devicesDir, ...n.extra },
    }));
  }

  /** Changes a node's extra settings; they apply at its next start. */
  async setNodeExtra(i: number, extra: Record<string, unknown>): Promise<void> {
    this.nodes[i]!.extra = extra;
    await this.writeNodeConfig(i);
  }

  private async writeRings(): Promise<void> {
    await mkdir(this.ringDir, { recursive: true });
    const data = this.builder.toRingData();
    for (const f of Object.values(RING_FILES)) await writeRingFile(join(this.ringDir, f), data);
  }

  /**
   * Adds a node (folder, config, device of weight 1 in its own zone) and starts it. The rings
   * do not change until rebalance().
   */
  async addNode(extra: Record<string, unknown> = {}): Promise<number> {
    const n = await this.prepareNode(extra);
    await this.startNode(n.index);
    return n.index;
  }

  /**
   * Rebalances the rings (as if min_part_hours had passed) and writes them; the in-process
   * backend's rings reload at once, the nodes' when they next look (node.ringWatchMs).
   * Returns the share of part-replicas that moved.
   */
  async rebalance(): Promise<number> {
    this.builder.pretendMinPartHoursPassed();
    const r = this.builder.rebalance({ seed: RING_SEED });
    await this.writeRings();
    await Promise.all(Object.values(this.rings).map((ring) => ring.reloadIfChanged()));
    return r.changed / (this.builder.parts * LOCAL_REPLICAS);
  }

  async startNode(i: number, log: (l: string) => void = this.log): Promise<void> {
    const n = this.nodes[i]!;
    n.child = await startChild(n.configFile, { ...process.env, NODE_OPTIONS: '' }, log, `node${i + 1}`);
  }

  /** Kills a node (SIGKILL by default) and waits for it to exit. */
  async killNode(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await killChild(this.nodes[i]!.child, signal);
  }

  /** Path of node i's device folder. */
  devicePath(i: number): string {
    const n = this.nodes[i]!;
    return join(n.devicesDir, n.device);
  }

  /** Index of the node holding `device`. */
  nodeOf(device: string): number {
    return this.nodes.findIndex((n) => n.device === device);
  }

  /**
   * Starts a proxy (`ringstack proxy`, from dist/) as a child process on a free port, with one
   * user (account "acct"); `startProxy` again after killProxy restarts it on the same port.
   */
  async startProxy(): Promise<TestProxy> {
    const port = this.proxy ? Number(new URL(this.proxy.url).port) : await freePort('127.0.0.1');
    const file = join(this.dir, 'proxy.yaml');
    await writePrivate(file, toYaml({
      secret: this.secret, hashSuffix: this.hash.suffix, ringDir: this.ringDir,
      proxy: { host: '127.0.0.1', port, nodeTimeoutMs: 5000 },
    }));
    const accessKey = this.proxy?.accessKey ?? `TEST${randomBytes(6).toString('hex').toUpperCase()}`;
    const secretKey = this.proxy?.secretKey ?? randomBytes(20).toString('hex');
    const env: NodeJS.ProcessEnv = {
      ...process.env, NODE_OPTIONS: '', RINGSTACK_ACCESS_KEY: accessKey, RINGSTACK_SECRET_KEY: secretKey, RINGSTACK_ACCOUNT: 'acct',
    };
    const child = spawn(process.execPath, [cliEntry(), 'proxy', '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('proxy did not start')), PROXY_READY_TIMEOUT_MS);
      const errs: string[] = [];
      createInterface({ input: child.stderr! }).on('line', (l) => {
        errs.push(l);
        this.log(`proxy: ${l}`);
      });
      createInterface({ input: child.stdout! }).on('line', (l) => {
        if (l.startsWith(PROXY_READY_PREFIX)) {
          clearTimeout(timer);
          res(l.slice(PROXY_READY_PREFIX.length).trim());
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`proxy exited (${code}): ${errs.slice(-5).join(' | ')}`));
      });
    });
    this.proxy = { url, accessKey, secretKey, account: 'acct', child };
    return this.proxy;
  }

  async killProxy(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await killChild(this.proxy?.child, signal);
  }

  async stop(): Promise<void> {
    this.backend?.close();
    if (this.proxy) await stopChild(this.proxy.child);
    await Promise.all(this.nodes.map((n) => (n.child ? stopChild(n.child) : undefined)));
    const { execFile } = await import('node:child_process');
    for (const m of this.mounts) await new Promise((r) => execFile('umount', [m], () => r(undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function killChild(c: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  await new Promise<void>((r) => {
    c.once('exit', () => r());
    c.kill(signal);
  });
}

/** The compiled CLI (dist/bin/main.js), also when running from sources. */
function cliEntry(): string {
  return compiledEntry('bin/main.js');
}
