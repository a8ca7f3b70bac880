/**
 * What each Swift handler receives and returns. Handlers build a SwiftResponse; the plugin
 * (index.ts) adds the transaction id, maps thrown errors (errors.ts) and writes the reply, so
 * no handler touches fastify's reply directly.
 */
import { uniqueIds } from '../common/unique-ids.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ObjectBackend } from '../proxy/backend.js';

export interface SwiftContext {
  backend: ObjectBackend;
  /** Backend account name (without `AUTH_`). */
  account: string;
  /** The account as it appears in the path (`AUTH_<account>`). */
  pathAccount: string;
  container?: string;
  object?: string;
  method: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The request body, unread. */
  body: Readable;
  log: { warn(obj: unknown, msg?: string): void };
}

export interface SwiftResponse {
  status: number;
  headers: Record<string, string>;
  /** A string, bytes or a stream; absent for empty responses. */
  body?: string | Buffer | Readable;
}

const transIds = uniqueIds(21);

/** Swift's transaction id: `tx` + 21 hex digits + `-` + hex seconds. */
export function newTransId(nowMs = Date.now()): string {
  return `tx${transIds()}-${Math.floor(nowMs / 1000).toString(16).padStart(10, '0')}`;
}

/** Whether a query/header flag is true the way Swift's config_true_value reads it. */
export function isTrue(value: string | null | undefined): boolean {
  return value !== null && value !== undefined && ['true', '1', 'yes', 'on', 't', 'y'].includes(value.trim().toLowerCase());
}
