/**
 * Where the compiled copy of a repository file is. Child processes (storage nodes, the CLI,
 * bench tools) run compiled JavaScript; from sources (tests under a TypeScript loader) that
 * copy is under dist/, from a build it sits beside this file's own tree.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `repoPath` is relative to the repository root, naming the .js file, e.g. `bin/main.js`. */
export function compiledEntry(repoPath: string): string {
  const here = fileURLToPath(import.meta.url);
  const root = resolve(dirname(here), '..', '..');
  return here.endsWith('.ts') ? join(root, 'dist', repoPath) : join(root, repoPath);
}
