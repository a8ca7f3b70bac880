/**
 * Events the agent records in the state bucket (`state/events/<day>/<time>-<host>-<seq>.json`):
 * what changed on the host, why, and the result. Drift repairs (a domain started again after
 * someone stopped it, a network restarted) are events with reason `Drift`.
 *
 * Events are queued during a pass and written after it, so a slow or unreachable store never
 * holds up libvirt work; an event that cannot be written is dropped after a log line.
 */
import { eventKey } from '../contract/keys.js';

export type EventAction = 'created' | 'updated' | 'started' | 'stopped' | 'restarted' | 'deleted' | 'repaired' | 'failed';

/** One event object. */
export interface AgentEvent {
  formatVersion: 1;
  kind: 'Event';
  /** ISO 8601. */
  time: string;
  source: 'agent';
  host: string;
  /** Resource kind (networks, images, volumes, instances, pools, host). */
  resourceKind: string;
  /** Resource id, or the libvirt name when the id is unknown. */
  resource: string;
  action: EventAction;
  /** CamelCase cause: Created, SpecChanged, Drift, PowerState, Removed, or an error reason. */
  reason: string;
  message: string;
  result: 'ok' | 'error';
  /** Desired revision the change was made for. */
  revision?: string;
}

export type EventInput = Omit<AgentEvent, 'formatVersion' | 'kind' | 'time' | 'source' | 'host'>;

export interface EventSink {
  putEvent(key: string, event: AgentEvent): Promise<void>;
}

export class EventLog {
  private queue: AgentEvent[] = [];
  private seq = 0;

  constructor(private readonly host: string, private readonly now: () => Date) {}

  add(input: EventInput): AgentEvent {
    const event: AgentEvent = {
      formatVersion: 1, kind: 'Event', time: this.now().toISOString(), source: 'agent', host: this.host, ...input,
    };
    this.queue.push(event);
    return event;
  }

  /** Writes queued events; returns the ones that could not be written. */
  async flush(sink: EventSink): Promise<AgentEvent[]> {
    const batch = this.queue;
    this.queue = [];
    const failed: AgentEvent[] = [];
    for (const e of batch) {
      try {
        await sink.putEvent(eventKey(new Date(e.time), this.host, this.seq++), e);
      } catch {
        failed.push(e);
      }
    }
    return failed;
  }
}
