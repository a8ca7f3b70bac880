/**
 * The human form of a dispersion result: a few summary lines and a table per device.
 */
import type { DispersionResult } from './check.js';

const pct = (n: number, of: number) => (of === 0 ? '100.00' : ((100 * n) / of).toFixed(2));

export function formatDispersion(r: DispersionResult, what: string): string {
  const lines: string[] = [];
  lines.push(`${what}: ${r.objects} objects checked, ${r.replicas} replicas each`);
  lines.push(`all replicas in place: ${r.complete} (${pct(r.complete, r.objects)} %)`);
  for (let k = 1; k <= r.replicas; k++) {
    const n = r.missingCopies[k] ?? 0;
    const label = k === r.replicas ? `missing all ${k} copies` : `missing ${k} cop${k === 1 ? 'y' : 'ies'}`;
    lines.push(`${label}: ${n}`);
  }
  if (r.errors > 0) lines.push(`unanswered HEADs: ${r.errors}`);
  const rows = r.devices.map((d) => [d.node, String(d.expected), String(d.found), String(d.expected - d.found), String(d.errors),
    `${pct(d.found, d.expected)} %`]);
  const head = ['DEVICE', 'EXPECTED', 'FOUND', 'MISSING', 'ERRORS', 'IN PLACE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push('', line(head), ...rows.map(line));
  if (r.missingSample.length > 0) {
    lines.push('', 'objects missing copies (first ones):');
    for (const m of r.missingSample) lines.push(`  ${m.account}/${m.container}/${m.object}: ${m.found} of ${r.replicas} in place`);
  }
  return `${lines.join('\n')}\n`;
}
