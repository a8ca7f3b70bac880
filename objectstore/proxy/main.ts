/**
 * Runs the proxy from a cluster config: rings (watched for changes), the replicated backend,
 * the users, and the HTTP server with the front ends.
 */
import { readFile } from 'node:fs/promises';
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ClusterConfig } from '../cluster/config.js';
import { ConfigError } from '../cluster/config.js';
import { loadRings } from '../cluster/rings.js';
import { StaticUserDirectory, type User, type UserDirectory } from '../auth/users.js';
import { ReplicatedBackend } from './replicated-backend.js';
import { createProxyServer, type FrontEnd } from './server.js';
import { FRONT_ENDS } from './front-ends.js';
import { StoreUserDirectory } from '../auth/store-user-directory.js';
import { setReceiveBuffer, type ReceiveBufferResult } from '../common/socket-buffer.js';

const RING_WATCH_MS = 15_000;

export interface RunningProxy {
  app: FastifyInstance;
  backend: ReplicatedBackend;
  url: string;
  /** Set when a configured setting could not be applied: a line for the operator's log. */
  warning?: string;
  close(): Promise<void>;
}

/** The first user: RINGSTACK_ACCESS_KEY/SECRET_KEY(/ACCOUNT) or the credentials file. */
export async function loadUsers(cfg: ClusterConfig, env = process.env): Promise<UserDirectory> {
  const users: User[] = [];
  if (env.RINGSTACK_ACCESS_KEY && env.RINGSTACK_SECRET_KEY) {
    users.push({ accessKey: env.RINGSTACK_ACCESS_KEY, secretKey: env.RINGSTACK_SECRET_KEY, account: env.RINGSTACK_ACCOUNT || 'admin' });
  }
  if (cfg.proxy.credentialsFile) {
    try {
      const u = JSON.parse(await readFile(cfg.proxy.credentialsFile, 'utf8')) as User;
      if (u.accessKey && u.secretKey && u.account) users.push(u);
    } catch (e) {
      throw new ConfigError(`cannot read credentials ${cfg.proxy.credentialsFile}: ${(e as Error).message}`);
    }
  }
  return new StaticUserDirectory(users);
}

export async function runProxy(cfg: ClusterConfig, opts: { frontEnds?: FrontEnd[]; logger?: boolean } = {}): Promise<RunningProxy> {
  const rings = await loadRings(cfg.ringDir, { prefix: cfg.hashPrefix, suffix: cfg.hashSuffix });
  for (const r of Object.values(rings)) r.watch(RING_WATCH_MS);
  const backend = new ReplicatedBackend({ rings, secret: cfg.secret, nodeTimeoutMs: cfg.proxy.nodeTimeoutMs });
  // One directory for both front ends: the configured root users, then the users kept in the
  // store's system account (`ringstack user`), so a user added once signs in to S3 and Swift.
  const users = new StoreUserDirectory(backend, { base: await loadUsers(cfg) });
  const frontEnds = opts.frontEnds ?? [...FRONT_ENDS];
  // Front ends get a key derived from the cluster secret, never the secret the nodes check.
  const feSecret = createHmac('sha256', cfg.secret).update('ringstack front-end tokens').digest('hex');
  const app = await createProxyServer({ backend, users, frontEnds, region: cfg.proxy.region, secret: feSecret, logger: opts.logger });
  const close = async () => {
    await app.close();
    backend.close();
    for (const r of Object.values(rings)) r.close();
  };
  const url = await app.listen({ port: cfg.proxy.port, host: cfg.proxy.host });
  let receiveBuffer: ReceiveBufferResult | undefined;
  try {
    // Set once on the listening socket; every client connection accepted from now on inherits it.
    if (cfg.proxy.receiveBufferBytes > 0) receiveBuffer = setReceiveBuffer(app.server, cfg.proxy.receiveBufferBytes);
  } catch (e) {
    await close();
    throw new ConfigError(`cannot set proxy.receiveBufferBytes (${cfg.proxy.receiveBufferBytes}): ${(e as Error).message}`);
  }
  return {
    app, backend, url, close,
    warning: receiveBuffer && 'kept' in receiveBuffer
      ? `proxy.receiveBufferBytes not applied, the kernel's autotuning stays: ${receiveBuffer.kept}` : undefined,
  };
}
