/**
 * The controller process: a fastify server with the Git endpoint (`/git/<repo>.git`, pushes
 * validated before their ref moves), `/healthz`, and a timer that re-reads the hosts and
 * republishes placements when they change. The status API (read-only) mounts here too.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StateClient } from '../../objectstore/client/state-client.js';
import { PROXY_METRICS_PATH } from '../../objectstore/common/metrics.js';
import { ObjectStoreRepoBackup } from '../git/backup.js';
import type { ControllerConfig } from './config.js';
import { Controller } from './controller.js';
import { ControllerStore } from './state-store.js';
import { sourceGitdir, startSource } from './sources.js';
import { statusPlugin, type StatusPluginOptions } from '../status/plugin.js';

export interface RunningController {
  app: FastifyInstance;
  controller: Controller;
  store: ControllerStore;
  url: string;
  close(): Promise<void>;
}

export interface ControllerServerOptions {
  /** Pino logger options or false; default: info level to stderr. */
  logger?: boolean | object;
  /** Status API settings (refresh and poll intervals, usage sampling) for tests. */
  status?: Partial<Omit<StatusPluginOptions, 'source'>>;
}

/** How long /metrics waits for the object store proxy's series before answering without them. */
const PROXY_METRICS_TIMEOUT_MS = 1000;

/**
 * The request rates and latencies of ringstack's object store proxy, when the state store is
 * one (an external S3 endpoint has no such page: its answer is not Prometheus text).
 */
async function proxyMetrics(endpoint: string): Promise<string | undefined> {
  const res = await fetch(new URL(PROXY_METRICS_PATH, endpoint), { signal: AbortSignal.timeout(PROXY_METRICS_TIMEOUT_MS) });
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) return undefined;
  return res.text();
}

export async function startController(cfg: ControllerConfig, opts: ControllerServerOptions = {}): Promise<RunningController> {
  const client = new StateClient({
    endpoint: cfg.store.endpoint, accessKeyId: cfg.store.accessKey, secretAccessKey: cfg.store.secretKey,
    bucket: cfg.store.bucket, region: cfg.store.region,
  });
  await client.ensureBucket();
  const store = new ControllerStore(client);
  const reposDir = join(cfg.dataDir, 'repos');
  await mkdir(reposDir, { recursive: true });
  const app = Fastify({ logger: opts.logger ?? { level: 'info' }, bodyLimit: 1024 * 1024 });
  const backup = new ObjectStoreRepoBackup(store.objects());
  const controller = new Controller({
    store, reposDir, repo: cfg.repo, branch: cfg.branch, backup, log: app.log, repoDir: await sourceGitdir(cfg), idleGcMs: cfg.idleGcMs,
    scheduler: {
      strategy: cfg.scheduler.strategy, cpuAllocationRatio: cfg.scheduler.cpuAllocationRatio,
      ramAllocationRatio: cfg.scheduler.ramAllocationRatio, diskAllocationRatio: cfg.scheduler.diskAllocationRatio,
      heartbeatTimeoutSeconds: cfg.heartbeatTimeoutSeconds, gracePeriodSeconds: cfg.gracePeriodSeconds,
    },
  });
  // A controller on a new machine resumes: bring the tracked repository back from the store
  // before anything (resync or the Git endpoint) reads it.
  if (cfg.source.kind === 'push' && !existsSync(controller.repoDir)) await backup.restore(controller.repoDir, cfg.repo);
  const source = await startSource(app, cfg, controller, backup);
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(statusPlugin, { source: store, tokens: cfg.statusTokens, extraMetrics: () => proxyMetrics(cfg.store.endpoint), heartbeatTimeoutSeconds: cfg.heartbeatTimeoutSeconds, gracePeriodSeconds: cfg.gracePeriodSeconds, ...opts.status });
  await app.listen({ host: cfg.host, port: cfg.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await controller.resync();
    } catch (err) {
      app.log.warn({ err: String(err) }, 'host resync failed; retrying');
    }
    if (!stopped) timer = setTimeout(tick, cfg.resyncIntervalMs);
  };
  timer = setTimeout(tick, 0);

  return {
    app, controller, store, url: `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`,
    close: async () => {
      stopped = true;
      await source.close();
      if (timer) clearTimeout(timer);
      controller.idleGc.stop();
      await app.close();
      client.close();
    },
  };
}
