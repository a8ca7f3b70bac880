/**
 * Conditions of one resource computed from its desired spec and what its host observed
 * (Flux style: Ready, Progressing, Degraded, Unschedulable, Stalled, each with a reason, a
 * message and the revision it was computed for). Pure: the same inputs give the same output,
 * so the API, the dashboard and the CLI never disagree.
 */
import type { Condition, ConditionStatus, ConditionType } from '../../agents/contract/conditions.js';
import type { ResourceState } from '../../agents/contract/observed.js';

/** Health of the host a resource is placed on (see hosts.ts for the thresholds). */
export type HostHealth = 'up' | 'stale' | 'down';

export interface ConditionInput {
  /** The desired resource (hash and revision), undefined when only observed (being removed). */
  desired?: { hash: string; revision: string; powerState?: 'Running' | 'Stopped' };
  /** What the host reports, undefined when it has not reported the resource yet. */
  observed?: {
    state: ResourceState; appliedHash?: string; updatedAt: string;
    lastError?: { message: string; time: string; permanent?: boolean };
    conditions?: Condition[];
  };
  /** Host the resource is placed on; undefined when unplaced. */
  host?: string;
  hostHealth?: HostHealth;
  /** Set when the scheduler could not place the resource. */
  unschedulable?: { message: string; reason?: string };
  /** The current revision (observedRevision of every condition). */
  revision: string;
  /** ISO time used when nothing better is known. */
  now: string;
}

function cond(type: ConditionType, status: ConditionStatus, reason: string, message: string, revision: string, time: string): Condition {
  return { type, status, reason, message, observedRevision: revision, lastTransitionTime: time };
}

/** The state a desired resource must reach: instances follow their power state. */
export function targetState(desired: ConditionInput['desired']): ResourceState {
  return desired?.powerState === 'Stopped' ? 'SHUTOFF' : 'ACTIVE';
}

/**
 * The five conditions, in CONDITION_TYPES order. Ready: applied hash equals desired hash and
 * the state is the target one. Stalled: a permanent error or the host down. Degraded: a
 * retryable error or the host's heartbeat late. Progressing: work is left and nothing stops it.
 */
export function computeConditions(i: ConditionInput): Condition[] {
  const rev = i.revision;
  const t = i.observed?.updatedAt ?? i.now;
  const err = i.observed?.lastError;
  const agentReason = (type: ConditionType) => i.observed?.conditions?.find((c) => c.type === type && c.status === 'True');
  const unsched = i.unschedulable
    ? cond('Unschedulable', 'True', i.unschedulable.reason ?? 'NoValidHost', i.unschedulable.message, rev, i.now)
    : cond('Unschedulable', 'False', 'Scheduled', i.host ? `placed on ${i.host}` : 'no placement needed', rev, t);

  if (!i.desired) {
    const gone = !i.observed || i.observed.state === 'DELETED';
    return [
      cond('Ready', 'False', 'NotDesired', 'the resource is no longer in the desired state', rev, t),
      cond('Progressing', gone ? 'False' : 'True', gone ? 'Deleted' : 'Deleting', gone ? 'deleted' : 'waiting for the host to remove it', rev, t),
      cond('Degraded', 'False', 'AsExpected', 'no error', rev, t),
      unsched,
      cond('Stalled', 'False', 'AsExpected', 'no error', rev, t),
    ];
  }
  const target = targetState(i.desired);
  const applied = !!i.observed && i.observed.appliedHash === i.desired.hash;
  const ready = applied && i.observed!.state === target;
  const permanent = err?.permanent === true;
  const hostDown = i.hostHealth === 'down';
  const hostLate = i.hostHealth === 'stale';

  let stalled = cond('Stalled', 'False', 'AsExpected', 'no error', rev, t);
  if (i.unschedulable) stalled = cond('Stalled', 'True', i.unschedulable.reason ?? 'NoValidHost', i.unschedulable.message, rev, i.now);
  else if (permanent) stalled = cond('Stalled', 'True', agentReason('Stalled')?.reason ?? 'PermanentError', err!.message, rev, err!.time);
  else if (hostDown) stalled = cond('Stalled', 'True', 'HostDown', `host ${i.host} has not sent a heartbeat within its grace period`, rev, i.now);

  let degraded = cond('Degraded', 'False', 'AsExpected', 'no error', rev, t);
  if (err && !permanent) degraded = cond('Degraded', 'True', agentReason('Degraded')?.reason ?? 'RetryableError', err.message, rev, err.time);
  else if (hostLate) degraded = cond('Degraded', 'True', 'HeartbeatLate', `host ${i.host} is late with its heartbeat`, rev, i.now);
  else if (hostDown) degraded = cond('Degraded', 'True', 'HostDown', `host ${i.host} is down`, rev, i.now);
  else if (ready && i.observed!.state === 'ERROR') degraded = cond('Degraded', 'True', 'Error', 'the resource is in ERROR', rev, t);

  let readyC: Condition;
  if (ready) readyC = cond('Ready', 'True', 'Converged', `applied revision ${i.desired.revision.slice(0, 12)} and ${target}`, rev, t);
  else if (i.unschedulable) readyC = cond('Ready', 'False', 'Unschedulable', i.unschedulable.message, rev, i.now);
  else if (!i.observed) readyC = cond('Ready', 'False', 'NotObserved', i.host ? `waiting for ${i.host} to report it` : 'not placed on a host', rev, i.now);
  else if (!applied) readyC = cond('Ready', 'False', 'SpecNotApplied', `the host has not applied revision ${i.desired.revision.slice(0, 12)} yet`, rev, t);
  else readyC = cond('Ready', 'False', 'StateMismatch', `state is ${i.observed.state}, want ${target}`, rev, t);

  const progressing = !ready && stalled.status === 'False'
    ? cond('Progressing', 'True', i.observed ? 'Applying' : 'Pending', i.observed ? `${i.observed.state} -> ${target}` : 'waiting for the host', rev, t)
    : cond('Progressing', 'False', ready ? 'Converged' : 'Stalled', ready ? 'nothing left to do' : 'cannot progress, see Stalled', rev, t);
  return [readyC, progressing, degraded, unsched, stalled];
}

/** One word for tables: Ready, Progressing, Degraded, Stalled or Unschedulable. */
export function summaryOf(conditions: Condition[]): string {
  const on = (type: ConditionType) => conditions.find((c) => c.type === type)?.status === 'True';
  if (on('Unschedulable')) return 'Unschedulable';
  if (on('Stalled')) return 'Stalled';
  if (on('Degraded')) return 'Degraded';
  if (on('Ready')) return 'Ready';
  return 'Progressing';
}
