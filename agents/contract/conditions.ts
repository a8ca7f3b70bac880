/**
 * Conditions (Flux/Kubernetes style) attached to resources, hosts and revisions: a
 * machine-readable `reason`, a human `message`, and the revision they were computed for.
 */

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'Unschedulable', 'Stalled'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  /** CamelCase machine-readable cause, e.g. `NoValidHost`, `ImageChecksumMismatch`. */
  reason: string;
  /** One human sentence. */
  message: string;
  /** The commit id the condition was computed for. */
  observedRevision: string;
  /** ISO 8601 time the status last changed (kept while the status stays the same). */
  lastTransitionTime: string;
}

/** Reasons the controller sets itself. */
export const REASON_NO_VALID_HOST = 'NoValidHost';
