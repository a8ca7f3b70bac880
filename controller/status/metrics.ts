/**
 * A small Prometheus metrics registry (counters, gauges, histograms with labels) rendered in
 * the text exposition format 0.0.4, with no dependency, so any part (the controller's status
 * API, the object store proxy) can expose `/metrics` the same way. `StatusMetrics` holds the
 * controller's own series.
 */
import type { RevisionRecord } from '../service/state-store.js';

/** Histogram buckets in seconds for request latencies. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets for reconcile durations and convergence lags. */
export const RECONCILE_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

type Labels = Record<string, string>;

function labelText(l: Labels): string {
  const keys = Object.keys(l).sort();
  if (!keys.length) return '';
  return `{${keys.map((k) => `${k}="${l[k]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

interface Series { labels: Labels; value: number }
interface HistSeries { labels: Labels; counts: number[]; sum: number; count: number }

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: string) {}
  abstract lines(): string[];
}

export class Counter extends Metric {
  private readonly series = new Map<string, Series>();
  constructor(name: string, help: string) { super(name, help, 'counter'); }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    const s = this.series.get(k) ?? { labels, value: 0 };
    s.value += by;
    this.series.set(k, s);
  }
  lines(): string[] { return [...this.series.values()].map((s) => `${this.name}${labelText(s.labels)} ${num(s.value)}`); }
}

export class Gauge extends Metric {
  private readonly series = new Map<string, Series>();
  /** Called before rendering, to set values computed at scrape time. */
  collect?: (g: Gauge) => void;
  constructor(name: string, help: string) { super(name, help, 'gauge'); }
  set(labels: Labels, value: number): void { this.series.set(labelText(labels), { labels, value }); }
  reset(): void { this.series.clear(); }
  lines(): string[] {
    this.collect?.(this);
    return [...this.series.values()].map((s) => `${this.name}${labelText(s.labels)} ${num(s.value)}`);
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, HistSeries>();
  constructor(name: string, help: string, readonly buckets: number[]) { super(name, help, 'histogram'); }
  observe(labels: Labels, v: number): void {
    const k = labelText(labels);
    const s = this.series.get(k) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((b, i) => { if (v <= b) s.counts[i]!++; });
    s.sum += v;
    s.count++;
    this.series.set(k, s);
  }
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string): Counter { return this.add(new Counter(name, help)); }
  gauge(name: string, help: string): Gauge { return this.add(new Gauge(name, help)); }
  histogram(name: string, help: string, buckets = LATENCY_BUCKETS): Histogram { return this.add(new Histogram(name, help, buckets)); }

  private add<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }

  /** The text exposition format (Content-Type `text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join('\n') + '\n';
  }
}

/** The controller's series: store requests, reconcile durations, convergence, heartbeats. */
export class StatusMetrics {
  readonly registry = new MetricsRegistry();
  readonly storeRequests = this.registry.counter('ringstack_store_requests_total', 'State-bucket requests made by the controller status reader, by operation and result.');
  readonly storeLatency = this.registry.histogram('ringstack_store_request_duration_seconds', 'Latency of state-bucket requests made by the controller status reader.');
  readonly reconcile = this.registry.histogram('ringstack_reconcile_duration_seconds', 'Time from a revision being checked to its publication (validate, schedule, compile, publish).', RECONCILE_BUCKETS);
  readonly convergenceLag = this.registry.gauge('ringstack_convergence_lag_seconds', 'Seconds from publication of the current revision until every host applied it (still growing while not converged).');
  readonly heartbeatAge = this.registry.gauge('ringstack_agent_heartbeat_age_seconds', 'Seconds since the last heartbeat of each host agent.');
  readonly hostUp = this.registry.gauge('ringstack_host_up', '1 when the host agent heartbeat is within the timeout.');
  readonly instances = this.registry.gauge('ringstack_instances', 'Instances of the current revision by summary state.');
  readonly httpRequests = this.registry.counter('ringstack_status_http_requests_total', 'Requests served by the status API by route and status code.');

  storeRequest(op: string, result: 'ok' | 'error', seconds: number): void {
    this.storeRequests.inc({ op, result });
    this.storeLatency.observe({ op }, seconds);
  }

  revisionApplied(rec: RevisionRecord): void {
    const d = (Date.parse(rec.appliedAt!) - Date.parse(rec.checkedAt)) / 1000;
    if (Number.isFinite(d) && d >= 0) this.reconcile.observe({ phase: 'publish' }, d);
  }
}
