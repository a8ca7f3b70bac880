/**
 * The whole stack on one machine (`ringstack up`): the object store (proxy + 3 storage nodes),
 * the controller with its Git endpoint, and one agent on the local libvirt. This is the only
 * module that composes the three roles; it lives beside the CLI because no part may import
 * another part's internals (DESIGN.md, Layout). Everything is kept under one data folder, so
 * running it again resumes with all data.
 *
 *   DIR/store/        the object store (rings, nodes, credentials.json)
 *   DIR/controller/   bare repositories; git-token (mode 0600)
 *   DIR/agent/        the agent's pools (images, volumes, seeds)
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { runLocalObjectStore, writePrivate, type RunningLocal } from '../objectstore/cluster/local.js';
import { controllerConfigFrom } from '../controller/service/config.js';
import { startController, type RunningController } from '../controller/service/server.js';
import { resolveAgentConfig } from '../agents/agent/config.js';
import { startAgent, type RunningAgent } from '../agents/agent/run.js';
import { LibvirtHypervisor } from '../agents/hypervisor/libvirt-hypervisor.js';

export const DEFAULT_DATA_DIR = '/var/lib/ringstack';
/** Where `ringstack image push` and `ringstack status` look when not told otherwise. */
const DEFAULT_STORE_URL = 'http://127.0.0.1:8080';
const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8081';

export interface StackOptions {
  dataDir: string;
  host: string;
  storePort: number;
  controllerPort: number;
  /** Explicit libvirt URI; by default qemu:///system when libvirtd answers, else test:///default. */
  libvirtUri?: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface RunningStack {
  /** The data folder, absolute. */
  dataDir: string;
  store: RunningLocal;
  controller: RunningController;
  agent?: RunningAgent;
  credentials: { accessKey: string; secretKey: string; file?: string };
  gitToken: string;
  gitUrl: string;
  libvirtUri?: string;
  notices: string[];
  stop(): Promise<void>;
}

/** The token for `git push`: from RINGSTACK_GIT_TOKENS, else generated once and kept. */
async function gitToken(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const fromEnv = env.RINGSTACK_GIT_TOKENS?.split(',')[0]?.trim();
  if (fromEnv) return fromEnv;
  const file = join(dir, 'git-token');
  try {
    const t = (await readFile(file, 'utf8')).trim();
    if (t) return t;
  } catch {
    // first start
  }
  const token = randomBytes(24).toString('base64url');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writePrivate(file, `${token}\n`);
  return token;
}

/** qemu:///system when libvirtd answers, else test:///default; undefined when no libvirtd at all. */
async function chooseLibvirt(explicit: string | undefined, notices: string[]): Promise<string | undefined> {
  const candidates = explicit ? [explicit] : ['qemu:///system', 'test:///default'];
  for (const uri of candidates) {
    try {
      const h = await LibvirtHypervisor.open({ uri });
      await h.close();
      if (uri === 'test:///default' && !explicit) {
        notices.push('libvirt answers but qemu:///system does not: the agent uses test:///default (an in-memory demo hypervisor that forgets everything when it stops)');
      }
      return uri;
    } catch (e) {
      if (explicit) throw new Error(`cannot connect to libvirt at ${uri}: ${(e as Error).message}`);
    }
  }
  notices.push('libvirtd is not running: no agent started. Start it with "bash agents/hypervisor/libvirt/setup-libvirtd.sh" and run "ringstack up" again');
  return undefined;
}

export async function startStack(o: StackOptions): Promise<RunningStack> {
  const dir = resolve(o.dataDir);
  const notices: string[] = [];
  const store = await runLocalObjectStore({ dataDir: join(dir, 'store'), port: o.storePort, host: o.host, env: o.env, log: o.log });
  let controller: RunningController | undefined;
  let agent: RunningAgent | undefined;
  try {
    const credentials = store.credentialsFile
      ? { ...JSON.parse(await readFile(store.credentialsFile, 'utf8')), file: store.credentialsFile }
      : { accessKey: o.env.RINGSTACK_ACCESS_KEY!, secretKey: o.env.RINGSTACK_SECRET_KEY! };
    const token = await gitToken(join(dir, 'controller'), o.env);
    const stateStore = { endpoint: store.url, accessKey: credentials.accessKey, secretKey: credentials.secretKey };
    controller = await startController(controllerConfigFrom({
      dataDir: join(dir, 'controller'), host: o.host, port: o.controllerPort, gitTokens: [token], store: stateStore,
    }, { ...o.env, RINGSTACK_GIT_TOKENS: undefined }), { logger: { level: o.env.RINGSTACK_LOG_LEVEL ?? 'warn' } });

    const libvirtUri = await chooseLibvirt(o.libvirtUri ?? o.env.RINGSTACK_AGENT_LIBVIRT_URI, notices);
    if (libvirtUri) {
      const agentConfig = resolveAgentConfig({
        host: hostname().split('.')[0], libvirtUri, dataDir: join(dir, 'agent'),
        state: { endpoint: store.url, accessKeyId: credentials.accessKey, secretAccessKey: credentials.secretKey },
      }, dir, o.env);
      const pino = (await import('pino')).default;
      agent = await startAgent(agentConfig, pino({ name: 'ringstack-agent', level: o.env.RINGSTACK_LOG_LEVEL ?? 'warn' }));
    }
    const gitUrl = `${controller.url}/git/infra.git`;
    const running: RunningStack = {
      dataDir: dir, store, controller, agent, credentials, gitToken: token, gitUrl, libvirtUri, notices,
      stop: async () => {
        await agent?.stop();
        await controller?.close();
        await store.stop();
      },
    };
    return running;
  } catch (e) {
    await agent?.stop().catch(() => undefined);
    await controller?.close().catch(() => undefined);
    await store.stop();
    throw e;
  }
}

/**
 * What `ringstack up` prints once everything runs: where things are and what to do next, with
 * the options the other commands need to find this stack when it is not on its defaults.
 */
export function nextSteps(s: RunningStack): string {
  const authed = s.gitUrl.replace('://', `://ringstack:${s.gitToken}@`);
  const storeArgs = [
    ...(resolve(s.dataDir) !== DEFAULT_DATA_DIR ? [` --data-dir ${s.dataDir}`] : []),
    ...(s.store.url !== DEFAULT_STORE_URL ? [` --endpoint ${s.store.url}`] : []),
  ].join('');
  const statusArgs = s.controller.url !== DEFAULT_CONTROLLER_URL ? ` --controller ${s.controller.url}` : '';
  const lines = [
    'ringstack is up.',
    '',
    `  Object store (S3 and Swift):  ${s.store.url}`,
    `    S3:    endpoint ${s.store.url}, region us-east-1, path-style`,
    `    Swift: auth ${s.store.url}/auth/v1.0 (X-Auth-User = access key, X-Auth-Key = secret)`,
    `    credentials: ${s.credentials.file ?? 'RINGSTACK_ACCESS_KEY / RINGSTACK_SECRET_KEY'}`,
    `  Controller (Git, status API): ${s.controller.url}/api/v1/`,
    `  Dashboard:                    ${s.controller.url}/dashboard/`,
    `  Agent:                        ${s.libvirtUri ? `${s.agent?.agent ? 'running on ' : ''}${s.libvirtUri}` : 'not running'}`,
    '',
    'Next (examples/README.md goes through each step, from the repository\'s folder):',
    `  examples/make-image.sh${storeArgs}    # the examples' image${storeArgs ? `; give "ringstack image push" the same options` : ''}`,
    '  cp -r examples ~/infra && cd ~/infra && git init -b main && git add . && git commit -m "demo project"',
    `  git remote add ringstack ${authed}`,
    '  git push ringstack main',
    `  ringstack status instances${statusArgs}`,
    '',
  ];
  for (const n of s.notices) lines.push(`Notice: ${n}`);
  lines.push('Ctrl-C stops everything; "ringstack up" again resumes with all data.');
  return `${lines.join('\n')}\n`;
}
