/**
 * A small Prometheus metrics registry (counters, gauges, histograms with labels) rendered in
 * the text exposition format 0.0.4, with no dependency, so every part exposes metrics the same
 * way: the object store proxy (`/_ringstack/metrics`) and the controller's status API
 * (`/metrics`, which also carries the proxy's series).
 */

/**
 * Where an object store proxy serves its metrics. Under `/_ringstack/`, which can be neither a
 * bucket (S3 names have no '_') nor a Swift path (those start with /v1, /auth, /info).
 */
export const PROXY_METRICS_PATH = '/_ringstack/metrics';

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

