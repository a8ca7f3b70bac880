/**
 * The user-management route of the S3 front end, used by `ringstack user`: requests are signed
 * with SigV4 like any S3 request and only admin users (the root user) may call them.
 *   GET    /_ringstack/users                     -> [{accessKey, account, createdAt, static?}]
 *   POST   /_ringstack/users?account=A[&accessKey=K] -> {accessKey, secretKey, account}
 *   POST   /_ringstack/users/<accessKey>?rotate  -> {accessKey, secretKey, account}
 *   DELETE /_ringstack/users/<accessKey>         -> 204
 * `_ringstack` can never be a bucket name (underscore), so the path cannot clash with S3.
 */
import { BadRequest, Conflict, NotFound } from '../common/errors.js';
import { S3Error } from './errors.js';
import type { S3Request } from './request.js';

export const ADMIN_BUCKET = '_ringstack';
export const ADMIN_USERS = 'users';

function sendJson(req: S3Request, status: number, value: unknown): void {
  req.reply.code(status).header('content-type', 'application/json').send(JSON.stringify(value));
}

export async function adminRoute(req: S3Request): Promise<void> {
  if (!req.user.admin) throw new S3Error('AccessDenied', 'Only the root user may manage users.');
  const admin = req.opts.userAdmin;
  if (!admin) throw new S3Error('NotImplemented', 'This store keeps no user directory (users come from configuration only).');
  const [what, accessKey, ...rest] = (req.key ?? '').split('/');
  if (what !== ADMIN_USERS || rest.length > 0) throw new S3Error('InvalidRequest', 'Unknown admin resource.');
  try {
    if (req.method === 'GET' && !accessKey) return sendJson(req, 200, await admin.list());
    if (req.method === 'POST' && !accessKey) {
      const account = req.query.get('account');
      if (!account) throw new S3Error('InvalidArgument', 'account is required.', { ArgumentName: 'account' });
      return sendJson(req, 200, await admin.add(account, req.query.get('accessKey') || undefined));
    }
    if (req.method === 'POST' && accessKey && req.query.has('rotate')) return sendJson(req, 200, await admin.rotateKey(accessKey));
    if (req.method === 'DELETE' && accessKey) {
      await admin.remove(accessKey);
      req.reply.code(204).send();
      return;
    }
  } catch (e) {
    if (e instanceof Conflict) throw new S3Error('InvalidArgument', e.message);
    if (e instanceof NotFound) throw new S3Error('InvalidArgument', e.message);
    if (e instanceof BadRequest) throw new S3Error('InvalidArgument', e.message);
    throw e;
  }
  throw new S3Error('MethodNotAllowed');
}
