/**
 * `POST /hooks/git/<source>`: a Git host announces a push, and the named source polls at once.
 * Accepted proofs, each checked in constant time against the source's shared secret:
 *   - GitHub / Gitea: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body, hex>`
 *   - a plain token: `X-Ringstack-Token`, GitLab's `X-Gitlab-Token`, or `Authorization: Bearer`
 * The answer (202) does not wait for the poll; the poll's result reaches the source's onCommit.
 */

import { createHmac, createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BadWebhookSignature, GitSourceError } from './errors.js';

/** Largest webhook body read (GitHub push payloads stay far below). */
export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;

/** A source a webhook can trigger. */
export interface WebhookTarget {
  secret: string;
  /** Starts a poll; its promise is awaited only for logging. */
  trigger(): unknown;
}

export interface WebhookPluginOptions {
  /** The target named in the URL, or undefined (404). */
  lookup(source: string): WebhookTarget | undefined;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** True when the request proves knowledge of `secret` by signature or token. */
export function verifyWebhook(headers: Record<string, string | string[] | undefined>, body: Buffer, secret: string): boolean {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const sig = header('x-hub-signature-256');
  if (sig) {
    const m = /^sha256=([0-9a-f]{64})$/i.exec(sig.trim());
    if (!m) return false;
    const expected = createHmac('sha256', secret).update(body).digest();
    return sameBytes(Buffer.from(m[1].toLowerCase(), 'hex'), expected);
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(header('authorization') ?? '')?.[1];
  const token = header('x-ringstack-token') ?? header('x-gitlab-token') ?? bearer;
  return token !== undefined && sameBytes(Buffer.from(token.trim()), Buffer.from(secret));
}

export async function gitWebhookPlugin(app: FastifyInstance, opts: WebhookPluginOptions): Promise<void> {
  // The signature covers the raw bytes: keep every body as a buffer in this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err instanceof GitSourceError ? err.status : (err.statusCode ?? 500);
    if (status >= 500) req.log.error({ err }, 'webhook failure');
    void reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  app.post<{ Params: { source: string } }>('/hooks/git/:source', async (req, reply) => {
    const target = opts.lookup(req.params.source);
    if (!target) return reply.code(404).send({ error: `no git source named ${JSON.stringify(req.params.source)}` });
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyWebhook(req.headers, body, target.secret)) throw new BadWebhookSignature('bad or missing webhook signature');
    Promise.resolve()
      .then(() => target.trigger())
      .catch((err) => req.log.warn({ err, source: req.params.source }, 'webhook-triggered poll failed'));
    return reply.code(202).send({ source: req.params.source, triggered: true });
  });
}
