/**
 * Names of the objects in the state bucket (DESIGN.md, "State bucket"): the one place that
 * spells them, so the controller (writer of desired state) and the agents (writers of
 * observed state and host info) can never disagree on a key.
 */

/** Default bucket holding all state objects. */
export const DEFAULT_STATE_BUCKET = 'ringstack-state';
/** Prefix of every state key. */
export const STATE_PREFIX = 'state/';
/** Prefix of the compiled desired state of each commit. */
export const DESIRED_PREFIX = 'state/desired/';
/** Pointer to the state being applied: commit id + time. */
export const CURRENT_DESIRED_KEY = 'state/desired/current.json';
/** Prefix under which each host keeps its info, desired and observed state. */
export const HOSTS_PREFIX = 'state/hosts/';
/** Prefix of event records. */
export const EVENTS_PREFIX = 'state/events/';
/** Prefix of usage records. */
export const USAGE_PREFIX = 'state/usage/';

/** Host names and commit ids become key segments: they must not contain '/' or be empty. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Thrown when a name cannot be a key segment (it would escape its prefix). */
export class InvalidStateKeySegment extends Error {
  override name = 'InvalidStateKeySegment';
  constructor(readonly what: string, readonly value: string) {
    super(`invalid ${what} for a state key: ${JSON.stringify(value)}`);
  }
}

function segment(what: string, value: string): string {
  if (!SEGMENT.test(value)) throw new InvalidStateKeySegment(what, value);
  return value;
}

/** `state/desired/<commit>.json`: the compiled desired state of one commit (DesiredState). */
export function desiredKey(commit: string): string {
  return `${DESIRED_PREFIX}${segment('commit', commit)}.json`;
}

/** `state/hosts/<host>/info.json`: capacity and versions written by the host's agent (HostInfo). */
export function hostInfoKey(host: string): string {
  return `${HOSTS_PREFIX}${segment('host', host)}/info.json`;
}

/** `state/hosts/<host>/desired.json`: what the host must run (HostDesiredState). */
export function hostDesiredKey(host: string): string {
  return `${HOSTS_PREFIX}${segment('host', host)}/desired.json`;
}

/** `state/hosts/<host>/observed.json`: what libvirt reports on the host (HostObservedState). */
export function hostObservedKey(host: string): string {
  return `${HOSTS_PREFIX}${segment('host', host)}/observed.json`;
}

/**
 * `state/events/<yyyy-mm-dd>/<time>-<source>-<seq>.json`: one event. The time is ISO 8601
 * (UTC), so a listing by prefix returns events of one day in time order.
 */
export function eventKey(time: Date, source: string, seq: number): string {
  const iso = time.toISOString();
  const day = iso.slice(0, 10);
  const stamp = iso.replace(/[:]/g, '');
  return `${EVENTS_PREFIX}${day}/${stamp}-${segment('event source', source)}-${String(seq).padStart(6, '0')}.json`;
}

/** `state/usage/<project>/<yyyy-mm>/<time>.json`: one usage record of a project. */
export function usageKey(project: string, time: Date): string {
  const iso = time.toISOString();
  return `${USAGE_PREFIX}${segment('project', project)}/${iso.slice(0, 7)}/${iso.replace(/[:]/g, '')}.json`;
}

/** The host name in `state/hosts/<host>/...`, or undefined for other keys (for listings). */
export function hostOfKey(key: string): string | undefined {
  if (!key.startsWith(HOSTS_PREFIX)) return undefined;
  const rest = key.slice(HOSTS_PREFIX.length);
  const slash = rest.indexOf('/');
  return slash > 0 ? rest.slice(0, slash) : undefined;
}
