/**
 * The public HTTP server of the object store (fastify). It owns no routes of its own except
 * a health check: the front ends (S3 in objectstore/s3, Swift in objectstore/swift) are
 * fastify plugins given to it, each called as `plugin(app, { backend, users, region })`.
 * Bodies are never parsed or buffered here: a catch-all content type parser hands the raw
 * request stream to the routes, so uploads stream straight through to the storage nodes.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback } from 'fastify';
import type { ObjectBackend } from './backend.js';
import type { UserDirectory } from '../auth/users.js';
import { MetricsRegistry, PROXY_METRICS_PATH } from '../common/metrics.js';

/** Health check path (GET): 200 "ok". Swift's /healthcheck. */
export const HEALTH_PATH = '/healthcheck';
/** Prometheus metrics of this proxy (request rates and latencies). */
export const METRICS_PATH = PROXY_METRICS_PATH;
/** Largest body fastify will hand through; objects themselves are limited by the backend. */
const BODY_LIMIT = 6 * 1024 ** 3;

export interface FrontEndOptions {
  backend: ObjectBackend;
  users: UserDirectory;
  region: string;
  /** A key every proxy of the cluster shares (derived from the cluster secret), e.g. to sign Swift tokens. */
  secret?: string;
}

export type FrontEnd = FastifyPluginAsync<FrontEndOptions> | FastifyPluginCallback<FrontEndOptions>;

export interface ProxyServerOptions {
  backend: ObjectBackend;
  users: UserDirectory;
  frontEnds?: FrontEnd[];
  region?: string;
  secret?: string;
  logger?: boolean | object;
}

/** Builds the server (not listening yet). */
export async function createProxyServer(opts: ProxyServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: BODY_LIMIT,
    requestTimeout: 0,
    keepAliveTimeout: 65_000,
    routerOptions: {
      // Object names are up to 1024 bytes, percent-encoded up to 3x, plus bucket and query.
      maxParamLength: 8192,
      // S3 and Swift both allow any characters in names; fastify must not rewrite paths.
      ignoreDuplicateSlashes: false,
      ignoreTrailingSlash: false,
    },
  });
  const registry = new MetricsRegistry();
  const requests = registry.counter('ringstack_proxy_requests_total', 'Requests the object store proxy answered, by method and status code.');
  const latency = registry.histogram('ringstack_proxy_request_duration_seconds', 'Time from request to the end of the response, by method.');
  app.addHook('onResponse', (req, reply, done) => {
    requests.inc({ method: req.method, code: String(reply.statusCode) });
    latency.observe({ method: req.method }, reply.elapsedTime / 1000);
    done();
  });
  app.get(METRICS_PATH, async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(registry.render()));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const feOpts: FrontEndOptions = { backend: opts.backend, users: opts.users, region: opts.region ?? 'us-east-1', secret: opts.secret };
  for (const fe of opts.frontEnds ?? []) await app.register(fe as FastifyPluginAsync<FrontEndOptions>, feOpts);
  // A front end (Swift) may serve the health check itself.
  if (!app.hasRoute({ method: 'GET', url: HEALTH_PATH })) app.get(HEALTH_PATH, async () => 'ok\n');
  return app;
}
