/**
 * A real cluster for tests and benchmarks: N storage nodes as child processes
 * (`ringstack storage-node`, from dist/) on a temp folder, rings written with the builder, and
 * a ReplicatedBackend in the calling process. Each node can be killed (any signal) and
 * restarted on the same port and folder, its device can be swapped for another folder
 * (e.g. a tiny tmpfs) before a start.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { freePort, startChild, stopChild, writePrivate } from './local.js';
import { ensureLocalRings, loadRings } from './rings.js';
import { ReplicatedBackend, type ProxyRings } from '../proxy/replicated-backend.js';
import type { HashConfig } from '../ring/hash.js';

export interface TestNode {
  index: number;
  port: number;
  device: string;
  devicesDir: string;
  configFile: string;
  child?: ChildProcess;
}

export class TestCluster {
  readonly nodes: TestNode[] = [];
  /** Mount points to unmount at stop (after the nodes exit). */
  readonly mounts: string[] = [];
  backend!: ReplicatedBackend;
  rings!: ProxyRings;
  readonly hash: HashConfig = { prefix: '', suffix: randomBytes(8).toString('hex') };
  readonly secret = randomBytes(24).toString('hex');
  private constructor(readonly dir: string) {}

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
    const n = opts.nodes ?? 3;
    const ringDir = join(dir, 'rings');
    for (let i = 0; i < n; i++) {
      const port = await freePort('127.0.0.1');
      const devicesDir = join(dir, `node${i + 1}`);
      const device = `d${i + 1}`;
      await mkdir(join(devicesDir, device), { recursive: true });
      const configFile = join(dir, `node${i + 1}.yaml`);
      await writePrivate(configFile, toYaml({
        secret: c.secret, hashSuffix: c.hash.suffix, ringDir,
        node: { host: '127.0.0.1', port, devicesDir, ...(opts.extra?.(i) ?? {}) },
      }));
      c.nodes.push({ index: i, port, device, devicesDir, configFile });
    }
    await ensureLocalRings(ringDir, c.nodes.map((x) => ({ ip: '127.0.0.1', port: x.port, device: x.device, zone: x.index + 1 })));
    c.rings = await loadRings(ringDir, c.hash);
    c.backend = new ReplicatedBackend({ rings: c.rings, secret: c.secret, nodeTimeoutMs: 5000 });
    const log = opts.log ?? (() => undefined);
    await opts.beforeStart?.(c);
    await Promise.all(c.nodes.map((x) => c.startNode(x.index, log)));
    return c;
  }

  async startNode(i: number, log: (l: string) => void = () => undefined): Promise<void> {
    const n = this.nodes[i]!;
    n.child = await startChild(n.configFile, { ...process.env, NODE_OPTIONS: '' }, log, `node${i + 1}`);
  }

  /** Kills a node (SIGKILL by default) and waits for it to exit. */
  async killNode(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.nodes[i]!.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill(signal);
    });
  }

  /** Path of node i's device folder. */
  devicePath(i: number): string {
    const n = this.nodes[i]!;
    return join(n.devicesDir, n.device);
  }

  async stop(): Promise<void> {
    this.backend?.close();
    await Promise.all(this.nodes.map((n) => (n.child ? stopChild(n.child) : undefined)));
    const { execFile } = await import('node:child_process');
    for (const m of this.mounts) await new Promise((r) => execFile('umount', [m], () => r(undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
