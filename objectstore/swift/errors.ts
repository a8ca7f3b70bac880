/**
 * Swift's error responses, in one place. Swift answers failures with an HTML-ish plain body
 * taken from a table of reasons (`<html><h1>Not Found</h1><p>The resource could not be
 * found.</p></html>`), or with a short text explanation for request errors. Handlers throw
 * `SwiftError` for protocol failures they detect themselves, and let the typed StoreErrors of
 * objectstore/common/errors.ts propagate; `toSwiftResponse` maps both to status, headers and
 * body, so no handler formats an error itself.
 */
import {
  BadRequest, ChecksumMismatch, Conflict, IncompleteBody, InsufficientStorage, NotFound, NotModified,
  PreconditionFailed, QuorumNotReached, RangeNotSatisfiable, ServiceUnavailable, StoreError, TooLarge,
  Unauthorized,
} from '../common/errors.js';

/** Reason phrase and default explanation per status, as Swift's swob publishes them. */
export const RESPONSE_REASONS: Record<number, [string, string]> = {
  202: ['Accepted', 'The request is accepted for processing.'],
  400: ['Bad Request', 'The server could not comply with the request since it is either malformed or otherwise incorrect.'],
  401: ['Unauthorized', 'This server could not verify that you are authorized to access the document you requested.'],
  403: ['Forbidden', 'Access was denied to this resource.'],
  404: ['Not Found', 'The resource could not be found.'],
  405: ['Method Not Allowed', 'The method is not allowed for this resource.'],
  406: ['Not Acceptable', 'The resource is not available in a format acceptable to your browser.'],
  409: ['Conflict', 'There was a conflict when trying to complete your request.'],
  411: ['Length Required', 'Content-Length header required.'],
  412: ['Precondition Failed', 'A precondition for this request was not met.'],
  413: ['Request Entity Too Large', 'The body of your request was too large for this server.'],
  416: ['Requested Range Not Satisfiable', 'The Range requested is not available.'],
  422: ['Unprocessable Entity', 'Unable to process the contained instructions'],
  499: ['Client Disconnect', 'The client was disconnected during request.'],
  500: ['Internal Error', 'The server has either erred or is incapable of performing the requested operation.'],
  501: ['Not Implemented', 'The requested method is not implemented by this server.'],
  503: ['Service Unavailable', 'The server is currently unavailable. Please try again at a later time.'],
  507: ['Insufficient Storage', 'There was not enough space to save the resource.'],
};

/**
 * A failure the Swift front end detected itself; `body` replaces the default explanation.
 * Swift sends such bodies as text/html unless the check sets text/plain (PLAIN_TEXT below).
 */
export class SwiftError extends Error {
  constructor(readonly status: number, readonly body?: string, readonly headers: Record<string, string> = {}) {
    super(body ?? RESPONSE_REASONS[status]?.[0] ?? `HTTP ${status}`);
    this.name = 'SwiftError';
  }
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Swift's default body for a status: `<html><h1>Reason</h1><p>Explanation</p></html>`. */
export function defaultBody(status: number): string {
  const [reason, explanation] = RESPONSE_REASONS[status] ?? ['Error', ''];
  return `<html><h1>${reason}</h1><p>${explanation}</p></html>`;
}

const HTML = 'text/html; charset=UTF-8';
const TEXT = 'text/plain; charset=utf-8';
/** Headers for the errors Swift answers as bare `text/plain` (name, metadata, expiry, SLO checks). */
export const PLAIN_TEXT = { 'content-type': 'text/plain' };

function reasonResponse(status: number, headers: Record<string, string> = {}): ErrorResponse {
  return { status, headers: { 'content-type': HTML, ...headers }, body: defaultBody(status) };
}

/**
 * Maps any failure to Swift's answer. Store errors that carry a client-facing explanation
 * (bad names, bad bodies) get it as a plain-text body, as Swift's proxy does for request
 * errors; the rest get the status's default body.
 */
export function toSwiftResponse(err: unknown): ErrorResponse {
  if (err instanceof SwiftError) {
    if (err.body !== undefined) {
      return { status: err.status, headers: { 'content-type': HTML, ...err.headers }, body: err.body };
    }
    return reasonResponse(err.status, err.headers);
  }
  if (err instanceof StoreError) {
    if (err instanceof NotFound) return reasonResponse(404);
    if (err instanceof NotModified) return { status: 304, headers: {}, body: '' };
    if (err instanceof RangeNotSatisfiable) return reasonResponse(416, { 'content-range': `bytes */${err.size}` });
    if (err instanceof PreconditionFailed) return reasonResponse(412);
    if (err instanceof ChecksumMismatch) return reasonResponse(422);
    if (err instanceof Conflict) return reasonResponse(409);
    if (err instanceof TooLarge) return { status: 413, headers: { 'content-type': HTML }, body: err.message };
    if (err instanceof IncompleteBody) return { status: 499, headers: { 'content-type': HTML }, body: defaultBody(499) };
    if (err instanceof BadRequest) return { status: 400, headers: { 'content-type': TEXT }, body: err.message };

    if (err instanceof Unauthorized) return reasonResponse(401);
    if (err instanceof InsufficientStorage) return reasonResponse(507);
    if (err instanceof QuorumNotReached || err instanceof ServiceUnavailable) return reasonResponse(503);
    return reasonResponse(err.status in RESPONSE_REASONS ? err.status : 500);
  }
  return reasonResponse(500);
}
