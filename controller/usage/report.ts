/**
 * Usage reports: integrates a project's usage records exactly over any [from, to) range,
 * clipping intervals that cross its ends. Sums are kept in integer milliseconds times units
 * and divided once at the end, so adding many short intervals does not drift.
 */
import { USAGE_PREFIX } from '../../agents/contract/keys.js';
import type { StateSource } from '../status/source.js';
import type { UsageRecord } from './record.js';

const MS_PER_HOUR = 3_600_000;
const MIB_PER_GIB = 1024;
const BYTES_PER_GIB = 2 ** 30;

export interface UsageReport {
  project: string;
  from: string;
  to: string;
  instanceHoursByFlavor: Record<string, number>;
  instanceHours: number;
  vcpuHours: number;
  memoryGiBHours: number;
  volumeGiBHours: number;
  imageGiBHours: number;
  /** Largest number of image bytes stored at once in the range. */
  imageBytesMax: number;
  /** Image bytes stored at the end of the range (0 when no record reaches it). */
  imageBytesAtEnd: number;
  /** Records that overlapped the range. */
  records: number;
}

/** Pure integration of `records` over [from, to) (epoch ms). */
export function integrate(project: string, records: UsageRecord[], from: number, to: number): UsageReport {
  const byFlavorMs: Record<string, number> = {};
  let instanceMs = 0, vcpuMs = 0, memMiBMs = 0, volGiBMs = 0, imageByteMs = 0, imageBytesMax = 0, imageBytesAtEnd = 0, n = 0;
  for (const r of records) {
    const a = Math.max(Date.parse(r.from), from);
    const b = Math.min(Date.parse(r.to), to);
    if (!(b > a)) continue;
    const ms = b - a;
    n++;
    for (const i of r.resources.instances) {
      byFlavorMs[i.flavor] = (byFlavorMs[i.flavor] ?? 0) + ms;
      instanceMs += ms;
      vcpuMs += i.vcpus * ms;
      memMiBMs += i.memoryMiB * ms;
    }
    for (const v of r.resources.volumes) volGiBMs += v.sizeGiB * ms;
    const bytes = r.resources.images.reduce((s, i) => s + i.bytes, 0);
    imageByteMs += bytes * ms;
    imageBytesMax = Math.max(imageBytesMax, bytes);
    if (Date.parse(r.to) >= to && Date.parse(r.from) < to) imageBytesAtEnd = bytes;
  }
  const hours = (x: number) => x / MS_PER_HOUR;
  return {
    project, from: new Date(from).toISOString(), to: new Date(to).toISOString(),
    instanceHoursByFlavor: Object.fromEntries(Object.entries(byFlavorMs).sort(([x], [y]) => (x < y ? -1 : 1)).map(([f, ms]) => [f, hours(ms)])),
    instanceHours: hours(instanceMs), vcpuHours: hours(vcpuMs), memoryGiBHours: hours(memMiBMs) / MIB_PER_GIB,
    volumeGiBHours: hours(volGiBMs), imageGiBHours: hours(imageByteMs) / BYTES_PER_GIB, imageBytesMax, imageBytesAtEnd, records: n,
  };
}

/** Months (yyyy-mm) whose folders can hold records ending in [from, to + slack]. */
function months(from: number, to: number): string[] {
  const out: string[] = [];
  const d = new Date(Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth(), 1));
  while (d.getTime() <= to) {
    out.push(d.toISOString().slice(0, 7));
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out;
}

/**
 * Reads the records that can overlap [from, to) and integrates them. Records are keyed by
 * their end time, and no record is longer than `maxRecordMs` (the sampler's flush interval),
 * so the folders of the months from `from` to `to + maxRecordMs` hold every candidate.
 */
export async function usageReport(source: StateSource, project: string, from: number, to: number, maxRecordMs = 86_400_000): Promise<UsageReport> {
  const records: UsageRecord[] = [];
  for (const m of months(from, to + maxRecordMs)) {
    const keys = await source.listKeys(`${USAGE_PREFIX}${project}/${m}/`, undefined, 1_000_000);
    const docs = await Promise.all(keys.map((k) => source.readJson<UsageRecord>(k)));
    for (const r of docs) if (r && Date.parse(r.to) > from && Date.parse(r.from) < to) records.push(r);
  }
  return integrate(project, records, from, to);
}
