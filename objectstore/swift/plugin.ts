/**
 * Entry point the proxy mounts (listed in objectstore/proxy/front-ends.ts): the
 * Swift plugin with the proxy's front-end options. Tokens must be signed with a secret every
 * proxy of the cluster shares: `secret` when the proxy passes it, else the environment's
 * RINGSTACK_CLUSTER_SECRET; without either, a per-process random secret (tokens then only
 * work on the proxy that issued them, and a warning is logged).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { UserDirectory } from '../auth/users.js';
import type { ObjectBackend } from '../proxy/backend.js';
import { swiftPlugin } from './index.js';

export interface SwiftFrontEndOptions {
  backend: ObjectBackend;
  users: UserDirectory;
  secret?: string;
  tokenTtlSeconds?: number;
  storageUrlBase?: string;
}

export default async function swiftFrontEnd(app: FastifyInstance, opts: SwiftFrontEndOptions): Promise<void> {
  let secret = opts.secret ?? process.env.RINGSTACK_CLUSTER_SECRET;
  if (!secret) {
    app.log.warn('swift: no cluster secret given; tokens are valid on this proxy only');
    secret = randomBytes(32).toString('hex');
  }
  await swiftPlugin(app, { ...opts, secret });
}

export { swiftPlugin, swiftFrameworkError } from './index.js';
