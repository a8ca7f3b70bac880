/**
 * A real S3 server for tests: fastify with the S3 plugin on an in-memory backend, listening on
 * 127.0.0.1 with a free port, plus an SDK client factory at default settings.
 */
import Fastify from 'fastify';
import * as http from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { MemoryBackend } from '../proxy/memory-backend.js';
import type { ObjectBackend } from '../proxy/backend.js';
import { StaticUserDirectory, type User, type UserDirectory } from '../auth/users.js';
import type { UserAdmin } from '../auth/store-user-directory.js';
import { s3Plugin } from './plugin.js';

export const ROOT: User = { accessKey: 'ROOTACCESSKEY', secretKey: 'root-secret-key', account: 'root', admin: true };

export interface TestServer {
  url: string;
  port: number;
  backend: ObjectBackend;
  /** Every request received (method, raw URL, headers), to assert on what clients sent. */
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function startS3Server(o: { users?: User[]; directory?: UserDirectory & Partial<UserAdmin>; domain?: string; backend?: ObjectBackend } = {}): Promise<TestServer> {
  const backend = o.backend ?? new MemoryBackend();
  const app = Fastify({ logger: false });
  // As the proxy does: every content type is the raw stream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const requests: TestServer['requests'] = [];
  app.addHook('onRequest', async (req) => {
    requests.push({ method: req.method, url: req.raw.url ?? '', headers: req.headers });
  });
  const users = o.directory ?? new StaticUserDirectory(o.users ?? [ROOT]);
  const userAdmin = o.directory && 'add' in o.directory ? (o.directory as unknown as UserAdmin) : undefined;
  await app.register(s3Plugin, { backend, users, domain: o.domain, userAdmin });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port, backend, requests, close: () => app.close() };
}

/** An SDK client at default settings (checksums on), path style unless `virtualHost`. */
export function sdkClient(endpoint: string, user: User, opts: { virtualHost?: boolean } = {}): S3Client {
  // Virtual-host style needs `<bucket>.<domain>` to reach this machine: resolve every name to loopback.
  const agent = new http.Agent({
    keepAlive: true,
    lookup: ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (options && options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as never,
  });
  return new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: !opts.virtualHost,
    credentials: { accessKeyId: user.accessKey, secretAccessKey: user.secretKey },
    requestHandler: { httpAgent: agent },
  });
}
