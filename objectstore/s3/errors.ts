/**
 * S3's error model: the codes the front end answers with, their HTTP status, and the mapping
 * from the store's typed errors (objectstore/common/errors.ts) to S3 codes. Rendering to the
 * `<Error><Code/><Message/><Resource/><RequestId/></Error>` document happens here only.
 */
import {
  BadRequest, ChecksumMismatch, Conflict, IncompleteBody, InsufficientStorage, NotFound, NotModified,
  PreconditionFailed, QuorumNotReached, RangeNotSatisfiable, ServiceUnavailable, StoreError, TooLarge, Unauthorized,
} from '../common/errors.js';
import { el, renderXml } from './xml.js';

/** Every code this front end answers with: HTTP status and AWS's default message. */
export const S3_ERRORS = {
  AccessDenied: [403, 'Access Denied'],
  AuthorizationQueryParametersError: [400, 'Query-string authentication parameters are invalid.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed object size.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidDigest: [400, 'The Content-MD5 you specified is not valid.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.'],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NotImplemented: [501, 'A header or query you provided implies functionality that is not implemented.'],
  NotModified: [304, 'Not Modified'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  ServiceUnavailable: [503, 'Please reduce your request rate.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
  InvalidChunkSizeError: [403, 'Only the last chunk is allowed to have a size less than 8192 bytes'],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An S3 error answer. `extra` adds elements to the document (e.g. BucketName, Key). */
export class S3Error extends Error {
  readonly status: number;
  constructor(readonly code: S3ErrorCode, message?: string, readonly extra: Record<string, string> = {}) {
    super(message ?? S3_ERRORS[code][1]);
    this.name = 'S3Error';
    this.status = S3_ERRORS[code][0];
  }
}

/** Maps any failure to an S3Error; unknown errors become InternalError. */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof StoreError) {
    if (err instanceof NotFound) {
      if (err.what === 'container' || err.what === 'account') return new S3Error('NoSuchBucket');
      if (err.what === 'upload') return new S3Error('NoSuchUpload');
      return new S3Error('NoSuchKey');
    }
    if (err instanceof Conflict) {
      return err.reason === 'not-empty' ? new S3Error('BucketNotEmpty') : new S3Error('PreconditionFailed', err.message);
    }
    if (err instanceof PreconditionFailed) return new S3Error('PreconditionFailed');
    if (err instanceof NotModified) return new S3Error('NotModified');
    if (err instanceof RangeNotSatisfiable) return new S3Error('InvalidRange', undefined, { ActualObjectSize: String(err.size) });
    if (err instanceof ChecksumMismatch) return new S3Error('BadDigest');
    if (err instanceof IncompleteBody) return new S3Error('IncompleteBody', err.message);
    if (err instanceof TooLarge) return new S3Error('EntityTooLarge', err.message);
    if (err instanceof Unauthorized) return new S3Error('AccessDenied');
    if (err instanceof BadRequest) return new S3Error('InvalidArgument', err.message);
    if (err instanceof ServiceUnavailable || err instanceof QuorumNotReached || err instanceof InsufficientStorage) {
      return new S3Error('ServiceUnavailable', err.message);
    }
  }
  return new S3Error('InternalError');
}

/** The XML error document. */
export function renderError(err: S3Error, resource: string, requestId: string): string {
  return renderXml(el('Error',
    el('Code', err.code), el('Message', err.message),
    ...Object.entries(err.extra).map(([k, v]) => el(k, v)),
    el('Resource', resource), el('RequestId', requestId)), null);
}
