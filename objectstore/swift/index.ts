/**
 * The OpenStack Swift API as a fastify plugin over an ObjectBackend: v1 auth (auth.ts),
 * accounts, containers and objects under `/v1/AUTH_<account>/…`, static and dynamic large
 * objects, `/info` and `/healthcheck`. The proxy mounts it beside the S3 front end; tests
 * mount it on the in-memory backend.
 *
 * The host server must hand request bodies through unparsed: remove fastify's default
 * parsers and add a catch-all (`app.addContentTypeParser('*', (req, payload, done) =>
 * done(null, payload))`). The plugin reads the raw request stream itself.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { payloadOf } from '../common/whole-body.js';
import type { UserDirectory } from '../auth/users.js';
import type { ObjectBackend } from '../proxy/backend.js';
import { handleAccount } from './accounts.js';
import { authorize, DEFAULT_TOKEN_TTL_SECONDS, login, RESELLER_PREFIX } from './auth.js';
import { handleContainer } from './containers.js';
import { newTransId, type SwiftContext, type SwiftResponse } from './context.js';
import { toSwiftResponse } from './errors.js';
import { sweepAllAccounts } from './expiry.js';
import { capabilities } from './info.js';
import { header } from './metadata.js';
import { handleObject } from './objects.js';
import { parseSwiftUrl } from './paths.js';

export interface SwiftPluginOptions {
  backend: ObjectBackend;
  users: UserDirectory;
  /** Cluster secret that signs tokens, so every proxy accepts every proxy's tokens. */
  secret: string;
  tokenTtlSeconds?: number;
  /** Scheme, host and port clients should use (X-Storage-Url); default: the request's Host. */
  storageUrlBase?: string;
  /** How often expired objects are removed in the background; 0 turns it off. */
  expirerIntervalMs?: number;
}

/** Default pause between background expiry sweeps. */
export const DEFAULT_EXPIRER_INTERVAL_MS = 5 * 60 * 1000;

const SWIFT_METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY'];
const AUTH_PATHS = ['/auth/v1.0', '/auth/v1.0/', '/v1.0'];

function send(reply: FastifyReply, res: SwiftResponse, transId: string): FastifyReply {
  reply.code(res.status);
  reply.headers({ ...res.headers, 'x-trans-id': transId, 'x-openstack-request-id': transId });
  if (res.body instanceof Readable) {
    const payload = payloadOf(res.body);
    // A failure after the headers went out can only cut the response short.
    if (payload instanceof Readable) payload.on('error', (err) => reply.log.warn({ err }, 'swift response stream failed'));
    return reply.send(payload);
  }
  // No payload at all keeps the headers set (fastify drops them for an empty string on 204).
  // Strings go out as bytes so fastify leaves the content type exactly as Swift sends it.
  if (res.body === undefined) return reply.send();
  return reply.send(typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body);
}

function sendError(reply: FastifyReply, err: unknown, transId: string, method: string): FastifyReply {
  const res = toSwiftResponse(err);
  if (res.status >= 500) reply.log.error({ err }, 'swift request failed');
  if (method === 'HEAD') return send(reply, { ...res, headers: { ...res.headers, 'content-length': '0' }, body: undefined }, transId);
  return send(reply, res, transId);
}

/** Runs sweepAllAccounts every `intervalMs` (one sweep at a time) until the server closes. */
function startExpirer(app: FastifyInstance, backend: ObjectBackend, intervalMs: number): void {
  if (intervalMs <= 0) return;
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = sweepAllAccounts(backend)
      .catch((err: unknown) => app.log.warn({ err }, 'swift expirer sweep failed'))
      .finally(() => { running = undefined; });
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}

export async function swiftPlugin(app: FastifyInstance, opts: SwiftPluginOptions): Promise<void> {
  const ttl = opts.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!app.supportedMethods.includes('COPY')) app.addHttpMethod('COPY');
  startExpirer(app, opts.backend, opts.expirerIntervalMs ?? DEFAULT_EXPIRER_INTERVAL_MS);
  // Failures fastify sees itself (a body stream failing before the headers went out) still get
  // Swift's answer, not fastify's JSON.
  app.setErrorHandler((err, request, reply) => {
    if (reply.sent) return;
    sendError(reply, err, newTransId(), request.method);
  });

  app.get('/info', async (_req, reply) => {
    reply.header('content-type', 'application/json; charset=UTF-8');
    return JSON.stringify(capabilities());
  });
  app.get('/healthcheck', async (_req, reply) => {
    reply.header('content-type', 'text/plain');
    return 'OK';
  });

  const authHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const transId = newTransId();
    try {
      const h = request.headers;
      const result = await login(opts.users, opts.secret, ttl,
        header(h, 'x-auth-user') ?? header(h, 'x-storage-user'), header(h, 'x-auth-key') ?? header(h, 'x-storage-pass'));
      const base = opts.storageUrlBase?.replace(/\/+$/, '') ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;
      return send(reply, {
        status: 200,
        headers: {
          'x-auth-token': result.token, 'x-storage-token': result.token,
          'x-auth-token-expires': String(result.expiresAt - Math.floor(Date.now() / 1000)),
          'x-storage-url': `${base}/v1/${RESELLER_PREFIX}${encodeURIComponent(result.account)}`,
          'content-type': 'text/html; charset=UTF-8',
        },
      }, transId);
    } catch (err) {
      return sendError(reply, err, transId, request.method);
    }
  };
  for (const url of AUTH_PATHS) app.get(url, authHandler);

  app.route({
    method: SWIFT_METHODS,
    url: '/v1/*',
    handler: async (request, reply) => {
      const transId = newTransId();
      try {
        const { path, query } = parseSwiftUrl(request.url);
        const token = header(request.headers, 'x-auth-token') ?? header(request.headers, 'x-storage-token');
        const holder = authorize(opts.secret, token, path.account);
        const ctx: SwiftContext = {
          backend: opts.backend, account: holder.account, pathAccount: path.account,
          container: path.container, object: path.object, method: request.method, query,
          headers: request.headers, body: request.raw, log: request.log,
        };
        let res: SwiftResponse;
        if (path.object !== undefined) res = await handleObject(ctx);
        else if (path.container !== undefined) res = await handleContainer(ctx);
        else res = await handleAccount(ctx);
        return send(reply, res, transId);
      } catch (err) {
        return sendError(reply, err, transId, request.method);
      }
    },
  });
}

/**
 * For the host server's `frameworkErrors` option: fastify rejects a URL whose percent-encoding
 * is not valid UTF-8 before any route runs; Swift answers those with 412 "Invalid UTF8 or
 * contains NULL". Returns true when it answered (a Swift path), false to let the host answer.
 */
export function swiftFrameworkError(error: { code?: string }, request: FastifyRequest, reply: FastifyReply): boolean {
  const url = request.raw.url ?? '';
  if (error.code !== 'FST_ERR_BAD_URL' || !url.startsWith('/v1/')) return false;
  const transId = newTransId();
  reply.code(412).headers({ 'content-type': 'text/plain; charset=utf-8', 'x-trans-id': transId, 'x-openstack-request-id': transId })
    .send('Invalid UTF8 or contains NULL');
  return true;
}

export { DEFAULT_TOKEN_TTL_SECONDS, issueToken, verifyToken } from './auth.js';
