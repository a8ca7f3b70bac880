/**
 * Typed failures of the object store, shared by the storage nodes, the proxy and both front
 * ends. Each has an HTTP status; the S3 and Swift front ends map them to their own wire
 * formats in one place each. Never match on messages: match on the class.
 */

export class StoreError extends Error {
  /** HTTP status this failure maps to by default. */
  readonly status: number = 500;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The account, container or object does not exist (or was deleted). */
export class NotFound extends StoreError {
  override readonly status = 404;
  constructor(message: string, readonly what: 'account' | 'container' | 'object' | 'upload' = 'object') {
    super(message);
  }
}

/** The request is malformed: bad name, bad header, bad length. Nothing was written. */
export class BadRequest extends StoreError {
  override readonly status = 400;
}

/** A container that still holds objects cannot be deleted; an older write lost to a newer one. */
export class Conflict extends StoreError {
  override readonly status = 409;
  constructor(message: string, readonly reason: 'not-empty' | 'older' | 'exists' | 'other' = 'other') {
    super(message);
  }
}

/** If-Match / If-None-Match / If-(Un)Modified-Since did not hold. */
export class PreconditionFailed extends StoreError {
  override readonly status = 412;
}

/** GET with If-None-Match / If-Modified-Since that matched: nothing to send. */
export class NotModified extends StoreError {
  override readonly status = 304;
}

/** The requested range lies outside the object. */
export class RangeNotSatisfiable extends StoreError {
  override readonly status = 416;
  constructor(message: string, readonly size: number) {
    super(message);
  }
}

/** The body's MD5 differs from the ETag the client declared (Swift 422, S3 BadDigest). */
export class ChecksumMismatch extends StoreError {
  override readonly status = 422;
}

/** The body was shorter or longer than Content-Length said. */
export class IncompleteBody extends StoreError {
  override readonly status = 400;
}

/** Object name, metadata or body exceeds a limit. */
export class TooLarge extends StoreError {
  override readonly status = 413;
}

/** Missing or wrong credentials or cluster HMAC. */
export class Unauthorized extends StoreError {
  override readonly status = 401;
}

/** A device is out of space (storage node answers 507, the proxy tries a handoff). */
export class InsufficientStorage extends StoreError {
  override readonly status = 507;
}

/** Fewer than a majority of replicas acknowledged: the write did NOT succeed. */
export class QuorumNotReached extends StoreError {
  override readonly status = 503;
}

/** Not enough nodes answered to serve the request. */
export class ServiceUnavailable extends StoreError {
  override readonly status = 503;
}
