/**
 * Bulk delete (Swift's bulk middleware): `POST /v1/AUTH_x?bulk-delete` (or DELETE) with a body
 * of newline-separated, URL-encoded `/container/object` or `/container` paths deletes them all
 * and answers 200 with a report (Number Deleted, Number Not Found, Errors) in text or JSON.
 * python-swiftclient uses it when /info advertises `bulk_delete`, which makes `swift delete`
 * of a container with many objects one request per 10,000 objects.
 */
import { Conflict, NotFound } from '../common/errors.js';
import type { SwiftContext, SwiftResponse } from './context.js';
import { SwiftError } from './errors.js';
import { header } from './metadata.js';
import { deleteResponseBody } from './slo.js';

/** bulk.DEFAULT max_deletes_per_request. */
export const MAX_DELETES_PER_REQUEST = 10000;
/** bulk max_failed_deletes: stop after this many failures. */
export const MAX_FAILED_DELETES = 1000;
/** Longest body accepted (10,000 paths of a long container and object name, encoded). */
const MAX_BODY_BYTES = MAX_DELETES_PER_REQUEST * 4096;

async function readPaths(ctx: SwiftContext): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.body) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SwiftError(413, `Maximum Bulk Deletes: ${MAX_DELETES_PER_REQUEST} per request`);
    chunks.push(c as Buffer);
  }
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length > MAX_DELETES_PER_REQUEST) throw new SwiftError(413, `Maximum Bulk Deletes: ${MAX_DELETES_PER_REQUEST} per request`);
  return lines;
}

export async function handleBulkDelete(ctx: SwiftContext): Promise<SwiftResponse> {
  const json = (header(ctx.headers, 'accept') ?? '').includes('application/json');
  const paths = await readPaths(ctx);
  let deleted = 0;
  let notFound = 0;
  const errors: Array<[string, string]> = [];
  for (const line of paths) {
    if (errors.length >= MAX_FAILED_DELETES) break;
    let path: string;
    try {
      path = decodeURIComponent(line).replace(/^\/+/, '');
    } catch {
      errors.push([line, '412 Precondition Failed']);
      continue;
    }
    const slash = path.indexOf('/');
    const container = slash < 0 ? path : path.slice(0, slash);
    const object = slash < 0 ? '' : path.slice(slash + 1);
    try {
      if (!container) throw new SwiftError(400);
      if (object) await ctx.backend.deleteObject(ctx.account, container, object);
      else await ctx.backend.deleteContainer(ctx.account, container);
      deleted++;
    } catch (err) {
      if (err instanceof NotFound) notFound++;
      else if (err instanceof Conflict) errors.push([line, '409 Conflict']);
      else if (err instanceof SwiftError) errors.push([line, `${err.status} ${err.message}`]);
      else errors.push([line, '500 Internal Error']);
    }
  }
  return {
    status: 200,
    headers: { 'content-type': json ? 'application/json' : 'text/plain' },
    body: deleteResponseBody(json, deleted, notFound, errors),
  };
}
