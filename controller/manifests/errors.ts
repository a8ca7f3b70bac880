/**
 * Validation errors: every problem found in a commit is one `ManifestError` naming the file,
 * the 1-based line and column of the offending value (or of the key of a missing field's
 * parent), the dotted field path and a message. Printed as
 * `instances/web.yaml:12:5 spec.flavor: no Flavor named "huge"`.
 */

export interface ManifestError {
  /** Path of the file relative to the repository root, with '/' separators. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Dotted path inside the document (`spec.networks[0].ip`); '' for file-level errors. */
  field: string;
  message: string;
}

/** One line, as `ringstack validate` and the pre-receive hook print it. */
export function formatError(e: ManifestError): string {
  const where = `${e.file}:${e.line}:${e.column}`;
  return e.field ? `${where} ${e.field}: ${e.message}` : `${where} ${e.message}`;
}

/** Sorts in place by file, line, column, field, message; returns the array. */
export function sortErrors(errors: ManifestError[]): ManifestError[] {
  return errors.sort((a, b) =>
    cmp(a.file, b.file) || a.line - b.line || a.column - b.column || cmp(a.field, b.field) || cmp(a.message, b.message));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Thrown when the source itself cannot be listed or read (I/O), as opposed to bad content. */
export class ManifestSourceError extends Error {
  override name = 'ManifestSourceError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}
