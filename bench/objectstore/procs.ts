/** CPU time and memory of benchmarked server processes, from /proc (Linux). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = 100;

export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = execFileSync('pgrep', ['-P', String(out[i])]).toString().trim().split('\n').filter(Boolean).map(Number);
      out.push(...kids);
    } catch {
      // no children
    }
  }
  return out;
}

/** CPU seconds (user + system) of a process. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Resident set size in MB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Samples RSS of `pids` every `ms` and keeps each one's peak. */
export class RssSampler {
  readonly peak = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  constructor(private readonly pids: () => number[], private readonly ms = 100) {}
  start(): void {
    this.timer = setInterval(() => {
      for (const p of this.pids()) this.peak.set(p, Math.max(this.peak.get(p) ?? 0, rssMb(p)));
    }, this.ms);
  }
  stop(): Record<string, number> {
    clearInterval(this.timer);
    return Object.fromEntries([...this.peak.entries()].map(([p, v]) => [String(p), v]));
  }
}
