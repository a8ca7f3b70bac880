/**
 * `ringstack validate [dir]`: checks every manifest under a directory as the controller checks
 * a pushed commit, prints each error as `file:line:column field: message` (sorted), and exits
 * 1 when there is any, 0 with counts per kind when the set is valid.
 */
import { stat } from 'node:fs/promises';
import { formatError } from '../../controller/manifests/errors.js';
import { DirectorySource } from '../../controller/manifests/source.js';
import { DEFAULT_MAX_FILE_BYTES, validate } from '../../controller/manifests/validate.js';
import { KINDS } from '../../controller/manifests/types.js';
import { intArg, parseFlags, UsageError, type CliIO, type Command } from '../usage.js';

const usage = `usage: ringstack validate [dir] [--max-file-bytes N] [--json]

Validates the manifests (*.yaml, *.yml; dot-folders skipped) under dir (default: .):
YAML syntax, schema, references between manifests, IP/MAC uniqueness, quotas.
Prints one line per error, "file:line:column field: message", sorted by file and line.

  --max-file-bytes N   refuse manifest files larger than N bytes (default ${DEFAULT_MAX_FILE_BYTES})
  --json               print {"ok", "errors": [{file, line, column, field, message}], "counts"}

Exit status: 0 valid, 1 invalid (or unreadable), 2 usage error.
`;

/** Reads a directory and prints its validation result. */
async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(args, { 'max-file-bytes': { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 1) throw new UsageError(`expected at most one directory, got ${positionals.length}`);
  const dir = positionals[0] ?? '.';
  const maxFileBytes = values['max-file-bytes'] === undefined ? DEFAULT_MAX_FILE_BYTES
    : intArg(values['max-file-bytes'], '--max-file-bytes', 1);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`${dir} is not a directory`);
  const result = await validate(new DirectorySource(dir), { maxFileBytes });
  if (values.json) {
    io.out(`${JSON.stringify({ ok: result.ok, errors: result.errors, counts: result.counts, files: result.files })}\n`);
    return result.ok ? 0 : 1;
  }
  if (!result.ok) {
    for (const e of result.errors) io.out(`${formatError(e)}\n`);
    const files = new Set(result.errors.map((e) => e.file)).size;
    io.err(`invalid: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}\n`);
    return 1;
  }
  const total = KINDS.reduce((a, k) => a + result.counts[k], 0);
  const per = KINDS.filter((k) => result.counts[k] > 0).map((k) => `${result.counts[k]} ${k}`).join(', ');
  io.out(`valid: ${total} manifest${total === 1 ? '' : 's'} in ${result.files} file${result.files === 1 ? '' : 's'}${per ? ` (${per})` : ''}\n`);
  return 0;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a directory of manifests as a push would be checked',
  usage,
  run,
};
