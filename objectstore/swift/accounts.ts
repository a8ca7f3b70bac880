/**
 * Account requests: GET (container listing), HEAD (counts and metadata), POST (metadata).
 * PUT and DELETE of accounts answer 405, as a Swift proxy without allow_account_management.
 * Accounts exist implicitly (account_autocreate).
 */
import type { AccountInfo } from '../proxy/backend.js';
import type { SwiftContext, SwiftResponse } from './context.js';
import { handleBulkDelete } from './bulk.js';
import { SwiftError } from './errors.js';
import { sweepExpired } from './expiry.js';
import { xTimestamp } from './http-dates.js';
import { listingContentType, listingTypeHeaders, listOptions, renderAccountListing } from './listing-format.js';
import { header, mergeMeta, metaHeaders, readMeta } from './metadata.js';

function accountHeaders(info: AccountInfo): Record<string, string> {
  return {
    'x-account-container-count': String(info.containerCount),
    'x-account-object-count': String(info.objectCount),
    'x-account-bytes-used': String(info.bytesUsed),
    'x-timestamp': xTimestamp(info.createdAt || Date.now()),
    'x-put-timestamp': xTimestamp(info.createdAt || Date.now()),
    'accept-ranges': 'bytes',
    ...metaHeaders(info.meta, 'account'),
  };
}

/** Reaps expired objects first so that counts and listings do not show them. */
async function sweep(ctx: SwiftContext): Promise<void> {
  try {
    await sweepExpired(ctx.backend, ctx.account);
  } catch (err) {
    ctx.log.warn({ err }, 'expiry sweep failed');
  }
}

export async function handleAccount(ctx: SwiftContext): Promise<SwiftResponse> {
  switch (ctx.method) {
    case 'HEAD': {
      const type = listingContentType(ctx.query.get('format'), header(ctx.headers, 'accept'));
      await sweep(ctx);
      const info = await ctx.backend.headAccount(ctx.account);
      return { status: 204, headers: { ...accountHeaders(info), ...listingTypeHeaders(ctx, type), 'content-length': '0' } };
    }
    case 'GET': {
      const type = listingContentType(ctx.query.get('format'), header(ctx.headers, 'accept'));
      const opts = listOptions(ctx.query);
      await sweep(ctx);
      const info = await ctx.backend.headAccount(ctx.account);
      const page = await ctx.backend.listContainers(ctx.account, opts);
      const body = renderAccountListing(type, ctx.pathAccount, page.entries);
      const headers = { ...accountHeaders(info), ...listingTypeHeaders(ctx, type) };
      if (!body) return { status: 204, headers: { ...headers, 'content-length': '0' } };
      return { status: 200, headers, body };
    }
    case 'POST': {
      if (ctx.query.has('bulk-delete')) return handleBulkDelete(ctx);
      const changes = readMeta(ctx.headers, 'account');
      const current = await ctx.backend.headAccount(ctx.account);
      await ctx.backend.postAccount(ctx.account, mergeMeta(current.meta, changes, 'account'));
      return { status: 204, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
    }
    case 'DELETE':
      if (ctx.query.has('bulk-delete')) return handleBulkDelete(ctx);
      throw new SwiftError(405);
    default:
      throw new SwiftError(405);
  }
}
