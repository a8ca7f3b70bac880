/** CPU time and memory of benchmarked server processes, and the host's CPU and disks, from /proc (Linux). */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, dirname } from 'node:path';

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

/**
 * A short name for a server process that stays the same from run to run, from its command line:
 * a storage node's folder (`node1`, from `--config …/node1/node.yaml`), a Swift server's config
 * (`object-1`, `proxy`), else its script (`swift-proxy-server`). Processes of one name (a proxy
 * and its workers) are counted together.
 */
export function processLabel(pid: number): string {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return String(pid);
  }
  const config = args.indexOf('--config');
  if (config >= 0 && args[config + 1]) return basename(dirname(args[config + 1]!));
  const conf = args.find((a) => a.endsWith('.conf'));
  if (conf) return basename(conf, '.conf');
  const script = args.find((a, i) => i > 0 && !a.startsWith('-'));
  return basename(script ?? args[0] ?? String(pid)).replace(/\.js$/, '');
}

/** CPU seconds so far of each named group of `pids` (`names` gives a pid's name). */
export function cpuByName(pids: number[], names: Map<number, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pids) {
    const name = names.get(p) ?? String(p);
    out[name] = (out[name] ?? 0) + cpuSeconds(p);
  }
  return out;
}

/**
 * Busy and total jiffies (1/CLK_TCK s) of the whole host so far, from /proc/stat's first line;
 * iowait counts as idle (a core waiting for the disk could run anything else). Undefined where
 * there is no /proc/stat.
 */
export function hostJiffies(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - f[4]!, total };
  } catch {
    return undefined;
  }
}

/** What the block devices have done so far: bytes written, and milliseconds busy per device. */
export interface DiskCounters {
  writtenBytes: number;
  busyMs: Map<string, number>;
}

/**
 * Parses /proc/diskstats for the devices named in `disks` (whole disks: a partition's work is
 * also its disk's, so counting both would count it twice). Fields after the name: reads,
 * reads merged, sectors read, ms reading, writes, writes merged, sectors written (512 bytes
 * each, whatever the device's own sector size), ms writing, I/Os in flight, ms busy.
 */
export function parseDiskstats(text: string, disks: ReadonlySet<string>): DiskCounters {
  const out: DiskCounters = { writtenBytes: 0, busyMs: new Map() };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !disks.has(f[2]!)) continue;
    out.writtenBytes += Number(f[9]) * 512;
    out.busyMs.set(f[2]!, Number(f[12]));
  }
  return out;
}

/**
 * The host's block devices so far (Linux), whole disks only: those in /sys/block that are not
 * loop, RAM or zram devices. Undefined where /proc/diskstats cannot be read.
 */
export function diskCounters(): DiskCounters | undefined {
  try {
    const disks = new Set(readdirSync('/sys/block').filter((d) => !/^(loop|ram|zram)/.test(d)));
    return parseDiskstats(readFileSync('/proc/diskstats', 'utf8'), disks);
  } catch {
    return undefined;
  }
}

/**
 * Between two readings `seconds` apart: MB written per second, and the busiest device's share
 * of the time with I/O in flight (1: never idle; with I/O in parallel it says the device was
 * never waiting for work, not that it could do no more).
 */
export function diskRates(a: DiskCounters, b: DiskCounters, seconds: number): { write_mb_s: number; busy_share: number } {
  let busy = 0;
  for (const [d, ms] of b.busyMs) busy = Math.max(busy, ms - (a.busyMs.get(d) ?? ms));
  return {
    write_mb_s: Math.round(((b.writtenBytes - a.writtenBytes) / seconds / 1e6) * 10) / 10,
    busy_share: Math.min(1, Math.round((busy / 1000 / seconds) * 100) / 100),
  };
}

/** Jiffies to seconds. */
export const jiffiesToSeconds = (j: number): number => j / CLK_TCK;

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
