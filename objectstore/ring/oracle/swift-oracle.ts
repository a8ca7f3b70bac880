/**
 * Test helpers that run OpenStack Swift itself (Debian's python3-swift and swift-ring-builder)
 * as the reference for ring compatibility tests. Only used by tests and the bench.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { seededRandom } from '../prng.js';

export const PYTHON = '/usr/bin/python3';
export const SWIFT_RING_BUILDER = '/usr/bin/swift-ring-builder';
const ORACLE = join(dirname(fileURLToPath(import.meta.url)), 'swift_oracle.py');
const MAX_OUTPUT = 512 * 1024 * 1024;

export type SwiftPath = [string, string | null, string | null];
export interface OracleAnswer { part: number; primaries: number[]; handoffs: number[] }

/** True when /usr/bin/python3 can import Swift's ring module. */
export function swiftAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'from swift.common.ring import Ring, RingBuilder']);
  return r.status === 0;
}

/** Swift's answers for each path, from Swift's own Ring class. */
export function swiftLookUp(ringFile: string, prefix: string, suffix: string, handoffs: number,
  paths: SwiftPath[]): OracleAnswer[] {
  const r = spawnSync(PYTHON, [ORACLE, ringFile, prefix, suffix, String(handoffs)], {
    input: paths.map((p) => JSON.stringify(p)).join('\n') + '\n', maxBuffer: MAX_OUTPUT, encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`swift oracle failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as OracleAnswer);
}

/** Runs swift-ring-builder; exit 1 (warning) counts as success, as Swift documents. */
export function swiftRingBuilder(args: string[]): string {
  const r = spawnSync(SWIFT_RING_BUILDER, args, { encoding: 'utf8', maxBuffer: MAX_OUTPUT });
  if (r.status === null || r.status > 1) throw new Error(`swift-ring-builder ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Swift's own balance and dispersion figures for a builder file. */
export function swiftBuilderStats(builderFile: string): { balance: number; dispersion: number } {
  const code = 'import sys, json\nfrom swift.common.ring import RingBuilder\n' +
    'b = RingBuilder.load(sys.argv[1])\nprint(json.dumps({"balance": b.get_balance(), "dispersion": b.dispersion}))';
  const r = spawnSync(PYTHON, ['-c', code, builderFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python: ${r.stderr}`);
  return JSON.parse(r.stdout) as { balance: number; dispersion: number };
}

const RANGES: Array<[number, number]> = [
  [0x21, 0x7e], [0x21, 0x7e], [0x21, 0x7e], [0xa0, 0x2ff], [0x400, 0x4ff], [0x3040, 0x30ff], [0x4e00, 0x9fff],
  [0x1f300, 0x1f64f], [0x10000, 0x10ffff],
];

/** Random valid UTF-8 (no lone surrogates) paths: accounts, containers and objects mixed. */
export function randomPaths(count: number, seed: number): SwiftPath[] {
  const rnd = seededRandom(seed);
  const word = (max: number, allowSlash: boolean): string => {
    const len = 1 + Math.floor(rnd() * max);
    let s = '';
    for (let i = 0; i < len; i++) {
      const [lo, hi] = RANGES[Math.floor(rnd() * RANGES.length)]!;
      let c = lo + Math.floor(rnd() * (hi - lo + 1));
      if (c >= 0xd800 && c <= 0xdfff) c = 0x41;
      if (c === 0x2f && !allowSlash) c = 0x5f;
      s += String.fromCodePoint(c);
    }
    return s;
  };
  const out: SwiftPath[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rnd();
    const account = `AUTH_${word(12, false)}`;
    if (kind < 0.1) out.push([account, null, null]);
    else if (kind < 0.25) out.push([account, word(20, false), null]);
    else out.push([account, word(20, false), word(60, true)]);
  }
  return out;
}
