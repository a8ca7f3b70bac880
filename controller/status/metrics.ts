/**
 * The controller's own Prometheus series (`StatusMetrics`), on the shared registry of
 * objectstore/common/metrics.ts (re-exported here for the status API's modules).
 */
import type { RevisionRecord } from '../service/state-store.js';
import { MetricsRegistry, RECONCILE_BUCKETS } from '../../objectstore/common/metrics.js';

export { Counter, Gauge, Histogram, MetricsRegistry, LATENCY_BUCKETS, RECONCILE_BUCKETS } from '../../objectstore/common/metrics.js';

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
