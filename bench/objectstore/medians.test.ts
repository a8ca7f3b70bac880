/** Medians of several bench runs (medians.ts), as the bench READMEs report them. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledEntry } from '../../objectstore/common/compiled.js';
import { markdown, summarize, type BenchRun } from './medians.js';
import { median } from '../stats.js';
import { ratios } from './bench.js';
import type { PhaseResult } from './load.js';

function phase(name: string, value: number, p99: number, cpu: number): PhaseResult {
  const small = name.endsWith('small');
  return {
    phase: name, ops: 100, errors: 0, seconds: 1, ops_s: small ? value : value / 16, mb_s: small ? value / 256 : value,
    p50_ms: p99 / 2, p99_ms: p99, max_ms: p99 * 2, server_cpu_ms_per_op: cpu,
  };
}

/**
 * A run where ringstack does `rs` and Swift `sw` in every phase (ops/s for 4 KiB, MB/s for
 * 16 MiB), with the ratios bench.ts writes.
 */
function run(rs: number, sw: number, apis = ['swift_api', 's3_api']): BenchRun {
  const phases = (v: number, cpu: number) => ['put_small', 'get_small', 'put_large', 'get_large'].map((p) => phase(p, v, 1000 / v, cpu));
  const side = (v: number, cpu: number) => Object.fromEntries(apis.map((a) => [a, { phases: phases(v, cpu) }]));
  const ringstack = side(rs, 2);
  const swift = side(sw, 20);
  const ratio = Object.fromEntries(apis.map((a) => [a, ratios(ringstack[a]!, swift[a]!)]));
  return { ringstack, swift, ratio_ringstack_over_swift: ratio };
}

t.test('median of odd and even counts, input left as it was', async (t) => {
  const xs = [3, 1, 2];
  t.equal(median(xs), 2);
  t.same(xs, [3, 1, 2]);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.throws(() => median([]), /median of nothing/);
});

t.test('the median ratio is the median of the per-run ratios, not a ratio of medians', async (t) => {
  // Ratios 4, 2 and 1.5: median 2. The ratio of the medians would be 300 / 100 = 3.
  const cells = summarize([run(400, 100), run(300, 150), run(150, 100)]);
  t.equal(cells.length, 8, 'four phases for each of the two APIs');
  const c = cells.find((x) => x.api === 's3_api' && x.phase === 'put_large')!;
  t.equal(c.unit, 'MB/s');
  t.same(c.ratios, [4, 2, 1.5]);
  t.equal(c.ratio, 2);
  t.equal(c.ringstack.median, 300);
  t.equal(c.swift.median, 100);
  t.same(c.ringstack.cpu_ms_per_op, [2, 2]);
  t.equal(cells.find((x) => x.phase === 'get_small')!.unit, 'ops/s');
});

t.test('an API some run did not measure is left out; a run without Swift is refused', async (t) => {
  const cells = summarize([run(200, 100), run(200, 100, ['swift_api'])]);
  t.same([...new Set(cells.map((c) => c.api))], ['swift_api']);
  const noSwift = { ...run(200, 100) };
  delete noSwift.swift;
  delete noSwift.ratio_ringstack_over_swift;
  t.throws(() => summarize([run(200, 100), noSwift]), /run 2 has no Swift results/);
  t.throws(() => summarize([]), /no runs given/);
});

t.test('the Markdown table has one row per cell, with each run ratio', async (t) => {
  const text = markdown(summarize([run(400, 100), run(300, 150)]));
  const rows = text.trim().split('\n');
  t.equal(rows.length, 2 + 8);
  t.match(rows[2]!, /^\| Swift \| 4 KiB PUT \| 3\.00× \(4\.00, 2\.00\) \| 350 \/ 125 ops\/s \|/);
  t.match(text, /\| S3 \| 16 MiB GET \| 3\.00× /);
});

t.test('the command reads result files and names one that is not JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'medians-'));
  const a = join(dir, 'a.json');
  const bad = join(dir, 'bad.json');
  writeFileSync(a, JSON.stringify({ ...run(400, 100), disk_limits: { fsync_serial: { per_s: 4000 } } }));
  writeFileSync(bad, 'bench: failed\n');
  const built = compiledEntry('bench/objectstore/medians.js');
  const ok = spawnSync(process.execPath, [built, a], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, /^1 runs/);
  t.match(ok.stdout, /\| Swift \| 16 MiB PUT \| 4\.00× \(4\.00\)/);
  t.match(ok.stdout, /disk limits \(.*a\.json\): \{"fsync_serial"/);
  const failed = spawnSync(process.execPath, [built, a, bad], { encoding: 'utf8' });
  t.equal(failed.status, 1);
  t.match(failed.stderr, /bad\.json: not a bench\.js result/);
  const missing = spawnSync(process.execPath, [built, join(dir, 'none.json')], { encoding: 'utf8' });
  t.equal(missing.status, 1);
  t.match(missing.stderr, /ENOENT.*none\.json/);
});
