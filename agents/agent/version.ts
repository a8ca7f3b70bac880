/** The agent's version, reported in info.json (the package version of ringstack). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageVersion(): string {
  // agents/agent/version.ts or dist/agents/agent/version.js: package.json is 2 or 3 levels up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = dirname(dir);
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'ringstack' && pkg.version) return pkg.version;
    } catch {
      // keep looking upwards
    }
  }
  return 'unknown';
}

export const AGENT_VERSION = packageVersion();
