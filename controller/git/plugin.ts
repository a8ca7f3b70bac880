/**
 * The Git smart HTTP endpoint of the controller, as a fastify plugin:
 *
 *   GET  /git/<repo>.git/info/refs?service=git-upload-pack|git-receive-pack
 *   POST /git/<repo>.git/git-upload-pack     clone, fetch
 *   POST /git/<repo>.git/git-receive-pack    push: validated before any ref moves
 *
 * Every request needs a token as HTTP basic auth (password = token). Repositories are bare
 * folders under `reposDir`, created by their first push, restored from `backup` when missing
 * on disk, and saved to it after each push that changed a ref. Register with
 * `app.register(gitPlugin, options)`; it is encapsulated (its body parsers and error handler
 * apply to its own routes only).
 */

import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { advertisement, type GitService } from './advertise.js';
import { checkAccess, tokenListAuthorizer, AUTH_REALM, type Authorize } from './auth.js';
import { GitSourceError, ProtocolError } from './errors.js';
import { readRefs } from './refs.js';
import { RepoStore } from './repo-store.js';
import { readReceiveRequest } from './receive-request.js';
import { applyPush } from './receive-pack.js';
import { decodedBody, readSmallBody } from './request-body.js';
import { parseUploadRequest, serveUploadPack } from './upload-pack.js';
import { repackIfNeeded } from './repack.js';
import type { RepoBackup } from './backup.js';
import type { OnAccepted, ValidateCommit } from './types.js';

/**
 * Default limit of a push body after decompression. Indexing holds a pack in memory (a few
 * times its size); manifest repositories are small, VM images go to the object store.
 */
export const DEFAULT_MAX_PUSH_BYTES = 100 * 1024 * 1024;
/** Limit of an upload-pack request (wants and haves only). */
export const MAX_UPLOAD_REQUEST_BYTES = 8 * 1024 * 1024;

export interface GitPluginOptions {
  /** Folder holding the bare repositories (`<name>.git`). */
  reposDir: string;
  /** Tokens that may read and write every repository. */
  tokens?: string[];
  /** Finer access control; used instead of `tokens` when given. */
  authorize?: Authorize;
  /** Checks a pushed commit of a tracked branch before its ref moves. */
  validate: ValidateCommit;
  /** Receives each accepted commit of a tracked branch. */
  onAccepted: OnAccepted;
  /** Tracked branches (short names): validated and applied. Default: every branch. */
  branches?: string[];
  /** Accept pushes that rewrite history of a branch (default false: non-fast-forward is refused). */
  allowNonFastForward?: boolean;
  /** Longest a validation may run before the push is refused (default 5 minutes). */
  validateTimeoutMs?: number;
  /** Largest push body in bytes after decompression (default 100 MiB). */
  maxPushBytes?: number;
  /** Repack a repository when it has this many packs (default 16; 0: never). */
  repackThreshold?: number;
  /** Saves repositories after accepted pushes and restores missing ones. */
  backup?: RepoBackup;
}

const CONTENT_TYPES = {
  'git-upload-pack': 'application/x-git-upload-pack',
  'git-receive-pack': 'application/x-git-receive-pack',
} as const;

function parseService(s: unknown): GitService {
  if (s === 'git-upload-pack' || s === 'git-receive-pack') return s;
  throw new ProtocolError('the dumb HTTP protocol is not supported: use a git client with smart HTTP');
}

/** Headers every protocol response carries (no caching by proxies). */
function noCache(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-cache, max-age=0, must-revalidate').header('expires', 'Fri, 01 Jan 1980 00:00:00 GMT');
}

export async function gitPlugin(app: FastifyInstance, opts: GitPluginOptions): Promise<void> {
  const authorize = opts.authorize ?? (opts.tokens ? tokenListAuthorizer(opts.tokens) : undefined);
  if (!authorize) throw new Error('gitPlugin needs `tokens` or `authorize`: the Git endpoint is never open');
  const store = new RepoStore(opts.reposDir, opts.backup);
  const maxPushBytes = opts.maxPushBytes ?? DEFAULT_MAX_PUSH_BYTES;

  // The bodies stay streams; the handlers read them (gzip included) themselves.
  for (const type of ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request']) {
    app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err instanceof GitSourceError ? err.status : (err.statusCode ?? 500);
    if (status >= 500) req.log.error({ err }, 'git endpoint failure');
    else req.log.info({ err: err.message }, 'git request refused');
    if (status === 401) reply.header('www-authenticate', `Basic realm="${AUTH_REALM}"`);
    void reply.code(status).type('text/plain; charset=utf-8').send(`${status >= 500 ? 'internal error' : err.message}\n`);
  });

  const access = async (req: FastifyRequest, repo: string, write: boolean) =>
    checkAccess(req.headers.authorization, { repo, write }, authorize);

  app.get<{ Params: { repo: string }; Querystring: { service?: string } }>('/git/:repo/info/refs', async (req, reply) => {
    const service = parseService(req.query.service);
    const name = RepoStore.nameOf(req.params.repo);
    await access(req, name, service === 'git-receive-pack');
    // A push to a new repository creates it here (or restores it from the backup).
    const snap = await readRefs(await store.open(name, service === 'git-receive-pack'));
    return noCache(reply).type(`${CONTENT_TYPES[service]}-advertisement`).send(advertisement(service, snap));
  });

  app.post<{ Params: { repo: string } }>('/git/:repo/git-upload-pack', async (req, reply) => {
    const name = RepoStore.nameOf(req.params.repo);
    await access(req, name, false);
    const gitdir = await store.open(name, false);
    const body = await readSmallBody(decodedBody(req.raw, req.headers['content-encoding']), MAX_UPLOAD_REQUEST_BYTES);
    const request = parseUploadRequest(body); // a ProtocolError here is still a clean 400
    const out = new PassThrough();
    // Under the lock: a repack never deletes a pack this fetch is reading.
    const work = store.withLock(name, () => serveUploadPack(gitdir, request, out)).then(
      () => out.end(),
      (err) => {
        req.log.error({ err, repo: name }, 'git upload-pack failed');
        out.destroy(err as Error);
      },
    );
    void work;
    return noCache(reply).type(`${CONTENT_TYPES['git-upload-pack']}-result`).send(out);
  });

  app.post<{ Params: { repo: string } }>('/git/:repo/git-receive-pack', async (req, reply) => {
    const name = RepoStore.nameOf(req.params.repo);
    await access(req, name, true);
    const gitdir = await store.open(name, true);
    const received = await readReceiveRequest(req.raw, req.headers['content-encoding'], store.spoolDirOf(name), maxPushBytes);
    const out = new PassThrough();
    if (received.commands.length === 0) {
      out.end(); // git's probe before a large push: a bare flush, nothing to do
    } else {
      void store.withLock(name, async () => {
        try {
          await applyPush(received, out, {
            gitdir,
            name,
            validate: opts.validate,
            onAccepted: opts.onAccepted,
            branches: opts.branches,
            allowNonFastForward: opts.allowNonFastForward,
            validateTimeoutMs: opts.validateTimeoutMs,
            afterRefsChanged: opts.backup ? () => opts.backup!.save(gitdir, name) : undefined,
            log: req.log,
          });
          out.end();
        } catch (err) {
          req.log.error({ err, repo: name }, 'git receive-pack failed');
          out.destroy(err as Error);
          return;
        }
        // The pusher has its answer; compacting runs after, still under the lock.
        try {
          const removed = await repackIfNeeded(gitdir, opts.repackThreshold);
          if (removed > 0) req.log.info({ repo: name, removed }, 'git repository repacked');
        } catch (err) {
          req.log.warn({ err, repo: name }, 'git repack failed');
        }
      });
    }
    return noCache(reply).type(`${CONTENT_TYPES['git-receive-pack']}-result`).send(out);
  });
}
