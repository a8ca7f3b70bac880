/**
 * Typed failures of the Git sources. Each carries the HTTP status it maps to; the fastify
 * plugin turns them into responses in one place. Match on the class, never on the message.
 */

export class GitSourceError extends Error {
  /** HTTP status this failure maps to. */
  readonly status: number = 500;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The repository name in the URL is not an allowed name. */
export class BadRepoName extends GitSourceError {
  override readonly status = 400;
}

/** The repository does not exist and cannot be created by this request (fetch of a new repo). */
export class RepoNotFound extends GitSourceError {
  override readonly status = 404;
}

/** The client spoke the Git protocol wrongly (bad pkt-line, bad command, truncated pack). */
export class ProtocolError extends GitSourceError {
  override readonly status = 400;
}

/** No credentials, or a token that is not accepted. */
export class Unauthenticated extends GitSourceError {
  override readonly status = 401;
}

/** The token is valid but may not do this (e.g. push with a read-only token). */
export class Forbidden extends GitSourceError {
  override readonly status = 403;
}

/** The request body is larger than the configured limit. */
export class PushTooLarge extends GitSourceError {
  override readonly status = 413;
  constructor(message: string, readonly limit: number) {
    super(message);
  }
}

/** A path in a commit's tree does not exist (or is a directory). */
export class TreePathNotFound extends GitSourceError {
  override readonly status = 404;
}

/** A path in a commit's tree is a symbolic link: it is reported, never followed or read. */
export class SymlinkNotFollowed extends GitSourceError {
  override readonly status = 422;
}

/** A webhook request without a valid signature or token. */
export class BadWebhookSignature extends GitSourceError {
  override readonly status = 401;
}
