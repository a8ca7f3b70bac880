/**
 * Typed failures of the ring library. Callers (the CLI, the proxy, storage nodes) match on the
 * class, never on the message. Each message names the file or value that is wrong.
 */

/** Base class of every ring failure. */
export class RingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A ring or builder file is missing, truncated or not in the expected format. */
export class RingFileError extends RingError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** A builder operation was asked something impossible (unknown device, bad weight, too few devices). */
export class BuilderError extends RingError {}

/** A swift.conf-style file could not be read or lacks the [swift-hash] settings. */
export class HashConfigError extends RingError {}
