/**
 * What every CLI command shares: the command shape, usage errors (exit 2) and a small
 * wrapper over node:util parseArgs that turns its exceptions into usage errors.
 *
 * Exit codes: 0 success, 1 runtime error, 2 usage error (bad flags, missing arguments).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Where a command writes; tests pass buffers, the CLI passes the process streams. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface Command {
  /** The word after `ringstack`. */
  name: string;
  /** One line for `ringstack --help`. */
  summary: string;
  /** Full help text printed for `ringstack <name> --help`. */
  usage: string;
  /** Runs with the words after the command name; returns the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** A command in the CLI's list: named and summarised up front, its module loaded on use. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode; unknown flags and missing values become UsageErrors. */
export function parseFlags<O extends Options>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** True when the words ask for help (`--help` or `-h` anywhere). */
export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** Parses a whole number flag or positional, naming it in the error. */
export function intArg(value: string | undefined, what: string, min = -Infinity, max = Infinity): number {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${what} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses a number (weights, overload), naming it in the error. */
export function numberArg(value: string | undefined, what: string, min = -Infinity): number {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${what} must be a number, got "${value}"`);
  if (n < min) throw new UsageError(`${what} must be at least ${min}, got ${n}`);
  return n;
}
