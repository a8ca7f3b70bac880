/**
 * Starts the Swift plugin on the in-memory backend on 127.0.0.1 (random port), the way the
 * proxy mounts it (raw request streams, no body parsing). For tests and local trials:
 * `node dist/objectstore/swift/test-server.js` prints the URL and serves until killed.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { StaticUserDirectory, type User } from '../auth/users.js';
import type { ObjectBackend } from '../proxy/backend.js';
import { MemoryBackend } from '../proxy/memory-backend.js';
import { swiftFrameworkError, swiftPlugin } from './index.js';
import { raw, swiftLogin, type RawRequest, type RawResponse } from './test-client.js';

export const TEST_USERS: User[] = [
  { accessKey: 'test:tester', secretKey: 'testing', account: 'test' },
  { accessKey: 'PLAINKEY', secretKey: 'plainsecret', account: 'PLAINKEY' },
  { accessKey: 'other:user', secretKey: 'othersecret', account: 'other' },
];

export interface TestSwiftServer {
  app: FastifyInstance;
  backend: ObjectBackend;
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export async function startTestSwiftServer(opts: { backend?: ObjectBackend; tokenTtlSeconds?: number; secret?: string; expirerIntervalMs?: number } = {}): Promise<TestSwiftServer> {
  const backend = opts.backend ?? new MemoryBackend();
  const app = Fastify({
    logger: false,
    frameworkErrors: (error, request, reply) => {
      if (!swiftFrameworkError(error, request as FastifyRequest, reply as FastifyReply)) (reply as FastifyReply).code(400).send(error.message);
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  await app.register(swiftPlugin, {
    backend, users: new StaticUserDirectory(TEST_USERS), secret: opts.secret ?? 'cluster-secret',
    tokenTtlSeconds: opts.tokenTtlSeconds, expirerIntervalMs: opts.expirerIntervalMs,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app, backend, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startTestSwiftServer();
  process.stdout.write(`${server.url}\n`);
}

/** A server plus a logged-in caller: `call(path, req)` sends to `<storage url><path>` with the token. */
export async function swiftSession(t: { teardown(fn: () => unknown): void }, opts: Parameters<typeof startTestSwiftServer>[0] = {}) {
  const server = await startTestSwiftServer(opts);
  t.teardown(() => server.close());
  const { storageUrl, token } = await swiftLogin(server.url, 'test:tester', 'testing');
  const call = (path: string, req: RawRequest = {}): Promise<RawResponse> =>
    raw(`${storageUrl}${path}`, { ...req, headers: { 'x-auth-token': token, ...(req.headers ?? {}) } });
  return { server, storageUrl, token, call };
}
