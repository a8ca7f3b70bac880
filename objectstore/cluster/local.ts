/**
 * `ringstack objectstore`: a whole object store on one machine. In DIR it keeps
 *   cluster.yaml        secret and hash suffix (mode 0600), generated on first start
 *   credentials.json    the first user, unless RINGSTACK_ACCESS_KEY/SECRET_KEY are set (0600)
 *   rings/              object, container and account rings (part power 10, 3 replicas)
 *   nodeN/node.yaml     config of storage node N; nodeN/devices/dN its one device
 * Three storage nodes run as child processes (what `ringstack storage-node` runs, via
 * objectstore/node/entry.js so they load only the object store; with a large libuv
 * pool for parallel fsyncs); the proxy runs in this process. Node ports are chosen on first
 * start and then fixed (they are in the rings). Starting again resumes with all data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, open, rename } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify as toYaml } from 'yaml';
import { loadConfig, type ClusterConfig } from './config.js';
import { ensureLocalRings, LOCAL_REPLICAS } from './rings.js';
import { runProxy, type RunningProxy } from '../proxy/main.js';
import type { FrontEnd } from '../proxy/server.js';
import { NODE_READY_PREFIX } from '../node/main.js';
import { DATA_PATH_V8_FLAGS } from '../common/heap-flags.js';
import { compiledEntry } from '../common/compiled.js';
import { newAccessKey, newSecretKey } from '../auth/store-user-directory.js';

export const LOCAL_NODES = LOCAL_REPLICAS;
const CHILD_THREADPOOL_SIZE = '64';
const CHILD_READY_TIMEOUT_MS = 30_000;
const CHILD_STOP_TIMEOUT_MS = 10_000;

export interface LocalOptions {
  dataDir: string;
  port?: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
  frontEnds?: FrontEnd[];
  log?: (line: string) => void;
}

export interface RunningLocal {
  proxy: RunningProxy;
  url: string;
  credentialsFile?: string;
  children: ChildProcess[];
  stop(): Promise<void>;
}

export async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  const d = await open(dirname(file), 'r');
  await d.sync().finally(() => d.close());
}

/** Lowest port freePort picks (above the well-known and most registered service ports). */
const FREE_PORT_MIN = 10_000;
const FREE_PORT_TRIES = 64;

/** Binds `port` (0: any) on `host` and releases it; the port bound, or undefined when it is taken. */
function tryPort(host: string, port: number): Promise<number | undefined> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? res(undefined) : rej(e)));
    s.listen(port, host, () => {
      const bound = (s.address() as net.AddressInfo).port;
      s.close(() => res(bound));
    });
  });
}

/** The lowest of the kernel's ephemeral ports (source ports of outgoing connections). */
async function ephemeralLow(): Promise<number> {
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  return Number(text.trim().split(/\s+/)[0]) || 32768;
}

/**
 * A port that is free now on `host`, chosen below the kernel's ephemeral range: a port handed
 * out by listening on port 0 is an ephemeral one, which any outgoing connection may take as its
 * source port before the process it was chosen for binds it (a node then fails with EADDRINUSE;
 * seen with test clusters while other tests made connections). Port 0's choice is the fallback.
 */
export async function freePort(host: string): Promise<number> {
  const low = await ephemeralLow();
  if (low > FREE_PORT_MIN) {
    for (let i = 0; i < FREE_PORT_TRIES; i++) {
      const port = await tryPort(host, FREE_PORT_MIN + Math.floor(Math.random() * (low - FREE_PORT_MIN)));
      if (port !== undefined) return port;
    }
  }
  return (await tryPort(host, 0))!;
}

interface LocalState {
  secret: string;
  hashSuffix: string;
  nodePorts: number[];
}

async function ensureState(dir: string, host: string): Promise<LocalState> {
  const file = join(dir, 'cluster.yaml');
  try {
    const { parse } = await import('yaml');
    const s = parse(await readFile(file, 'utf8')) as LocalState;
    if (s.secret && s.hashSuffix && Array.isArray(s.nodePorts)) return s;
  } catch {
    // first start
  }
  const nodePorts: number[] = [];
  while (nodePorts.length < LOCAL_NODES) {
    const p = await freePort(host);
    if (!nodePorts.includes(p)) nodePorts.push(p);
  }
  const s: LocalState = { secret: randomBytes(32).toString('hex'), hashSuffix: randomBytes(16).toString('hex'), nodePorts };
  await writePrivate(file, toYaml(s));
  return s;
}

/** The first user's credentials file, generated unless the environment gives the keys. */
async function ensureCredentials(dir: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.RINGSTACK_ACCESS_KEY && env.RINGSTACK_SECRET_KEY) return undefined;
  const file = join(dir, 'credentials.json');
  try {
    const c = JSON.parse(await readFile(file, 'utf8'));
    if (c.accessKey && c.secretKey && c.account) return file;
  } catch {
    // generate
  }
  const creds = {
    accessKey: newAccessKey(),
    secretKey: newSecretKey(),
    account: env.RINGSTACK_ACCOUNT || 'admin',
  };
  await writePrivate(file, `${JSON.stringify(creds, null, 2)}\n`);
  return file;
}

/** The compiled storage-node entry that children run (dist/objectstore/node/entry.js). */
export function nodeEntry(): string {
  return compiledEntry('objectstore/node/entry.js');
}

export function startChild(configFile: string, env: NodeJS.ProcessEnv, log: (l: string) => void, name: string): Promise<ChildProcess> {
  return new Promise((resolveChild, reject) => {
    // The child's stdin is a pipe we never write: it closes when this process dies, however it
    // dies, and the node then stops (entry.ts --launcher-pipe).
    const child = spawn(process.execPath, [...DATA_PATH_V8_FLAGS, nodeEntry(), '--config', configFile, '--launcher-pipe'], {
      env: { ...env, UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE ?? CHILD_THREADPOOL_SIZE },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${CHILD_READY_TIMEOUT_MS / 1000} s`));
    }, CHILD_READY_TIMEOUT_MS);
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!ready && line.startsWith(NODE_READY_PREFIX)) {
        ready = true;
        clearTimeout(timer);
        resolveChild(child);
      }
    });
    const errLines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      errLines.push(line);
      if (errLines.length > 20) errLines.shift();
      if (ready) log(`${name}: ${line}`);
    });
    child.on('exit', (code, sig) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? sig}) before it was ready: ${errLines.join(' | ')}`));
      } else {
        log(`${name} exited (${code ?? sig})`);
      }
    });
  });
}

export async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  await new Promise<void>((res) => {
    const t = setTimeout(() => c.kill('SIGKILL'), CHILD_STOP_TIMEOUT_MS);
    c.once('exit', () => {
      clearTimeout(t);
      res();
    });
    c.kill('SIGTERM');
  });
}

/**
 * Settings every local storage node shares, taken from the caller's environment: the background
 * workers' pace (objectstore/cluster/config.ts), e.g. RINGSTACK_REPLICATOR_INTERVAL_MS, and
 * whether large bodies are received outside JavaScript (RINGSTACK_NODE_RECEIVE), their
 * write-back started on the way (RINGSTACK_NODE_WRITEBACK) and their socket woken per batch
 * (RINGSTACK_NODE_RCVLOWAT), and whether small writes go through the log (RINGSTACK_SMALL_WRITE_LOG).
 */
const SHARED_NODE_SETTING = /^RINGSTACK_(REPLICATOR_|AUDITOR_|RECLAIM_AGE_SECONDS$|DEBUG$|SMALL_WRITE_LOG$|NODE_(RECEIVE|WRITEBACK|RCVLOWAT)$)/;

/**
 * The environment of the local storage nodes: the caller's, without the RINGSTACK_ settings
 * that differ per node (port, devices folder, …: each node reads them from its own file, and one
 * value for all three would break them), but with those they share.
 */
export function storageNodeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const k of Object.keys(out)) if (k.startsWith('RINGSTACK_') && !SHARED_NODE_SETTING.test(k)) delete out[k];
  return out;
}

/** Starts (or resumes) the one-machine object store in `dataDir`. */
export async function runLocalObjectStore(o: LocalOptions): Promise<RunningLocal> {
  const env = o.env ?? process.env;
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = resolve(o.dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const state = await ensureState(dir, host);
  const credentialsFile = await ensureCredentials(dir, env);
  const ringDir = join(dir, 'rings');
  const devices = state.nodePorts.map((port, i) => ({ ip: host, port, device: `d${i + 1}`, zone: i + 1 }));
  await ensureLocalRings(ringDir, devices);
  const base = { secret: state.secret, hashSuffix: state.hashSuffix, ringDir };
  const nodeConfigs: string[] = [];
  for (const [i, d] of devices.entries()) {
    const nodeDir = join(dir, `node${i + 1}`);
    await mkdir(join(nodeDir, 'devices', d.device), { recursive: true });
    const file = join(nodeDir, 'node.yaml');
    await writePrivate(file, toYaml({ ...base, node: { host, port: d.port, devicesDir: join(nodeDir, 'devices') } }));
    nodeConfigs.push(file);
  }
  const childEnv = storageNodeEnv(env);
  const children: ChildProcess[] = [];
  try {
    for (const [i, f] of nodeConfigs.entries()) children.push(await startChild(f, childEnv, log, `node${i + 1}`));
  } catch (e) {
    await Promise.all(children.map(stopChild));
    throw e;
  }
  const proxyFile = join(dir, 'proxy.yaml');
  await writePrivate(proxyFile, toYaml({
    ...base, proxy: { host, port: o.port ?? 8080, ...(credentialsFile ? { credentialsFile } : {}) },
  }));
  let proxy: RunningProxy;
  try {
    const cfg: ClusterConfig = await loadConfig(proxyFile, {
      ...Object.fromEntries(Object.entries(env).filter(([k]) => ['RINGSTACK_ACCESS_KEY', 'RINGSTACK_SECRET_KEY', 'RINGSTACK_ACCOUNT', 'RINGSTACK_PROXY_RECEIVE_BUFFER_BYTES'].includes(k))),
    });
    proxy = await runProxy(cfg, { frontEnds: o.frontEnds });
    if (proxy.warning) log(`proxy: ${proxy.warning}`);
  } catch (e) {
    await Promise.all(children.map(stopChild));
    throw e;
  }
  return {
    proxy, url: proxy.url, credentialsFile, children,
    stop: async () => {
      await proxy.close();
      await Promise.all(children.map(stopChild));
    },
  };
}
