/**
 * Collects `ManifestError`s and turns source offsets into 1-based line:column with each file's
 * line table, so checks anywhere can say "at this field of that manifest".
 */
import type { LineCounter } from 'yaml';
import type { ManifestError } from './errors.js';
import type { SourceRef } from './types.js';

export class Reporter {
  readonly errors: ManifestError[] = [];
  private readonly lines = new Map<string, LineCounter>();

  /** The line table of a file, if registered. */
  linesOf(file: string): LineCounter | undefined {
    return this.lines.get(file);
  }

  /** Registers the line table of a parsed file. */
  setLines(file: string, lines: LineCounter): void {
    this.lines.set(file, lines);
  }

  /** A problem at a source offset of `file`. */
  atOffset(file: string, offset: number, field: string, message: string): void {
    const lc = this.lines.get(file);
    const pos = lc ? lc.linePos(offset) : { line: 1, col: 1 };
    this.errors.push({ file, line: Math.max(1, pos.line), column: Math.max(1, pos.col), field, message });
  }

  /** A problem with the whole file (size, encoding, symlink), reported at 1:1. */
  file(file: string, message: string): void {
    this.errors.push({ file, line: 1, column: 1, field: '', message });
  }

  /**
   * A problem with `field` of a manifest: at the field's value when it exists, otherwise at
   * the key of its nearest existing parent (a missing field), otherwise at the document start.
   */
  at(src: SourceRef, field: string, message: string): void {
    this.atOffset(src.file, locate(src, field), field, message);
  }

  /** `file:line:column` of a field, for messages that point at a second place. */
  where(src: SourceRef, field: string): string {
    const lc = this.lines.get(src.file);
    const pos = lc ? lc.linePos(locate(src, field)) : { line: 1, col: 1 };
    return `${src.file}:${Math.max(1, pos.line)}:${Math.max(1, pos.col)}`;
  }
}

/** Offset of `field`'s value, or of the key of its nearest existing ancestor. */
export function locate(src: SourceRef, field: string): number {
  const direct = src.pos.get(field);
  if (direct !== undefined) return direct;
  let p = field;
  while (p) {
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
    const key = src.pos.get(`^${p}`);
    if (key !== undefined) return key;
  }
  return src.pos.get('') ?? 0;
}
