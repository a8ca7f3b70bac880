/**
 * Reads the hash prefix and suffix from a Swift-style configuration file
 * (`[swift-hash] swift_hash_path_prefix = …`, `swift_hash_path_suffix = …`), so ringstack
 * places paths exactly where an existing Swift cluster with that swift.conf does.
 */
import { readFile } from 'node:fs/promises';
import type { HashConfig } from './hash.js';
import { HashConfigError } from './errors.js';

const SECTION = 'swift-hash';
const PREFIX_KEY = 'swift_hash_path_prefix';
const SUFFIX_KEY = 'swift_hash_path_suffix';

/** Parses INI text the way Python's ConfigParser does for simple `key = value` lines. */
export function parseSwiftHash(text: string, source = 'swift.conf'): HashConfig {
  let section = '';
  const found: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = head[1]!.trim();
      continue;
    }
    if (section !== SECTION) continue;
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (m) found[m[1]!.toLowerCase()] = m[2]!;
  }
  const prefix = found[PREFIX_KEY] ?? '';
  const suffix = found[SUFFIX_KEY] ?? '';
  if (prefix === '' && suffix === '') {
    throw new HashConfigError(`${source}: [${SECTION}] has neither ${PREFIX_KEY} nor ${SUFFIX_KEY}`);
  }
  return { prefix, suffix };
}

/** Reads `file` and returns its [swift-hash] prefix and suffix. */
export async function readSwiftConf(file: string): Promise<HashConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new HashConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseSwiftHash(text, file);
}
