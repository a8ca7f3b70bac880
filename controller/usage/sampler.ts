/**
 * The usage sampler the controller runs: at each sample it derives every project's metered
 * resources from the desired and observed state; when they changed, or when the open interval
 * is older than `flushMs`, it closes the interval [from, now) into a usage record in the store
 * and opens a new one. Intervals with nothing metered are not written. A record is written
 * before the interval is dropped from memory; a failed write is retried at the next sample.
 * What happened while no controller ran is not metered (the open interval restarts at start-up).
 */
import { usageKey } from '../../agents/contract/keys.js';
import type { DesiredState } from '../../agents/contract/desired.js';
import type { HostObservedState } from '../../agents/contract/observed.js';
import type { StateSource } from '../status/source.js';
import { USAGE_FORMAT_VERSION, isEmpty, meteredOf, type MeteredResources, type UsageRecord } from './record.js';

/** Longest interval one record covers (also how far back a report looks for records). */
export const DEFAULT_FLUSH_MS = 15 * 60_000;

export interface SamplerOptions {
  now?: () => number;
  flushMs?: number;
}

interface Open { from: number; resources: MeteredResources; text: string }

export class UsageSampler {
  private readonly open = new Map<string, Open>();
  private readonly now: () => number;
  readonly flushMs: number;

  constructor(private readonly store: StateSource, o: SamplerOptions = {}) {
    this.now = o.now ?? Date.now;
    this.flushMs = o.flushMs ?? DEFAULT_FLUSH_MS;
  }

  /** One sample; returns the records written. */
  async sample(desired: DesiredState | undefined, observed: HostObservedState[]): Promise<UsageRecord[]> {
    const t = this.now();
    const metered = meteredOf(desired, observed);
    const written: UsageRecord[] = [];
    for (const project of new Set([...metered.keys(), ...this.open.keys()])) {
      const resources = metered.get(project) ?? { instances: [], volumes: [], images: [] };
      const text = JSON.stringify(resources);
      const cur = this.open.get(project);
      if (cur && cur.text === text && t - cur.from < this.flushMs) continue;
      if (cur && t > cur.from && !isEmpty(cur.resources)) {
        const rec: UsageRecord = {
          formatVersion: USAGE_FORMAT_VERSION, kind: 'UsageRecord', project,
          from: new Date(cur.from).toISOString(), to: new Date(t).toISOString(), resources: cur.resources,
        };
        await this.store.writeJson(usageKey(project, new Date(t)), rec); // throws: the interval stays open
        written.push(rec);
      }
      if (isEmpty(resources)) this.open.delete(project);
      else this.open.set(project, { from: t, resources, text });
    }
    return written;
  }
}
