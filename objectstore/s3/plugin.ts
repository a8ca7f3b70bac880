/**
 * The S3 front end as a fastify plugin: `app.register(s3Plugin, { backend, users })`.
 * One catch-all route authenticates every request (SigV4 header or presigned URL), resolves
 * bucket and key (path style, or virtual-host style `<bucket>.<domain>` when `domain` is set),
 * picks the operation (routes.ts) and maps every failure to S3's XML error document.
 *
 * Request bodies are never parsed by fastify here: inside this plugin's encapsulated context
 * every content type is handed over as the raw stream, so object PUTs stream to the backend.
 * The Swift front end may be registered beside it (its routes under /v1 and /auth win over the
 * catch-all by fastify's routing rules).
 */
import { uniqueIds } from '../common/unique-ids.js';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectBackend } from '../proxy/backend.js';
import type { UserDirectory } from '../auth/users.js';
import { isUserAdmin, StoreUserDirectory, type UserAdmin } from '../auth/store-user-directory.js';
import { S3Error, toS3Error } from './errors.js';
import { authenticate } from './sigv4.js';
import { resolveTarget, type S3Options, type S3Request } from './request.js';
import { sendError } from './respond.js';
import { route } from './routes.js';
import { MultipartBuckets } from './multipart-buckets.js';

/** x-amz-request-id: 16 hex digits, as AWS gives them. */
const requestIds = uniqueIds(16);

export const DEFAULT_REGION = 'us-east-1';
const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'] as const;

export interface S3PluginOptions {
  backend: ObjectBackend;
  /**
   * Who may call. A directory that can also manage users (StoreUserDirectory) is used as is;
   * any other (the proxy's static root users) is layered under a StoreUserDirectory on
   * `backend`, its users being the admins, unless `storeUsers` is false.
   */
  users: UserDirectory;
  /** Keep users added with `ringstack user` in the store (default true). */
  storeUsers?: boolean;
  region?: string;
  /** Base domain for virtual-host-style addressing, e.g. `s3.example.test`. */
  domain?: string;
  /** When given, admins may manage users through /_ringstack/users (see admin.ts). */
  userAdmin?: UserAdmin;
}

function rawBody(request: FastifyRequest): Readable {
  const b = request.body as unknown;
  if (b instanceof Readable) return b;
  if (Buffer.isBuffer(b) || typeof b === 'string') return Readable.from([Buffer.from(b)]);
  return request.raw;
}

export async function s3Plugin(app: FastifyInstance, opts: S3PluginOptions): Promise<void> {
  let users = opts.users;
  let userAdmin = opts.userAdmin ?? (isUserAdmin(users) ? users : undefined);
  if (!userAdmin && opts.storeUsers !== false) {
    const layered = new StoreUserDirectory(opts.backend, { base: opts.users });
    users = layered;
    userAdmin = layered;
  }
  const options: S3Options = {
    backend: opts.backend, users, region: opts.region ?? DEFAULT_REGION, domain: opts.domain ?? process.env.RINGSTACK_S3_DOMAIN, userAdmin,
    multipartBuckets: new MultipartBuckets(opts.backend),
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const requestId = requestIds().toUpperCase();
    reply.header('x-amz-request-id', requestId).header('x-amz-id-2', requestId).header('server', 'ringstack');
    const rawUrl = request.raw.url ?? '/';
    let resource = rawUrl.split('?')[0]!;
    try {
      const target = resolveTarget(request.headers.host, rawUrl, options.domain);
      resource = target.bucket === undefined ? '/' : `/${target.bucket}${target.key !== undefined ? `/${target.key}` : ''}`;
      const auth = await authenticate({ method: request.method, rawUrl, rawHeaders: request.raw.rawHeaders }, options.users);
      const req: S3Request = {
        method: request.method, requestId, rawUrl, bucket: target.bucket, key: target.key, query: target.query,
        headers: request.headers, user: auth.user, auth, raw: rawBody(request), reply, opts: options,
      };
      await route(req)(req);
    } catch (e) {
      const err = toS3Error(e);
      if (err.code === 'InternalError') request.log.error({ err: e }, 's3 request failed');
      if (reply.sent) {
        reply.raw.destroy();
        return reply;
      }
      sendError(reply, request.method, err, resource, requestId);
    }
    return reply;
  };
  app.route({ method: [...METHODS], url: '/', handler });
  app.route({ method: [...METHODS], url: '/*', handler });
}

export { S3Error };
export default s3Plugin;
