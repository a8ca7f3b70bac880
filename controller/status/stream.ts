/**
 * The event stream (`/api/v1/events/stream`, Server-Sent Events): every `pollMs` the shared
 * reader is refreshed and events newer than the last one sent are pushed (`event: event`, the
 * id is the event's key, so a reconnecting browser resumes with Last-Event-ID). A change of
 * the current revision or of its convergence is pushed as `event: revision`, and a comment
 * line keeps idle connections open.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from './access.js';
import { isConverged, type StatusReader, type StoredEvent } from './reader.js';

export const DEFAULT_POLL_MS = 1000;
const KEEPALIVE_MS = 15_000;

export interface StreamOptions {
  reader: StatusReader;
  pollMs: number;
  visible: (e: StoredEvent, scope: Scope) => boolean;
}

export class EventStreams {
  private readonly open = new Set<() => void>();

  constructor(private readonly o: StreamOptions) {}

  /** Serves one stream until the client goes away or `closeAll` runs. */
  async serve(req: FastifyRequest, reply: FastifyReply, scope: Scope): Promise<void> {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write('retry: 2000\n\n');
    let lastKey = typeof req.headers['last-event-id'] === 'string' ? req.headers['last-event-id'] : undefined;
    let lastStatus = '';
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let lastWrite = Date.now();
    const stop = () => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      this.open.delete(stop);
      raw.end();
    };
    this.open.add(stop);
    req.raw.on('close', stop);
    const write = (text: string) => { lastWrite = Date.now(); raw.write(text); };
    const tick = async () => {
      try {
        const snap = await this.o.reader.snapshot();
        if (stopped) return;
        if (lastKey === undefined) lastKey = snap.events.at(-1)?.key ?? '';
        for (const e of snap.events) {
          if (e.key <= lastKey) continue;
          lastKey = e.key;
          if (this.o.visible(e, scope)) write(`id: ${e.key}\nevent: event\ndata: ${JSON.stringify(e)}\n\n`);
        }
        const status = JSON.stringify({ revision: snap.current?.revision ?? null, time: snap.current?.time ?? null, converged: isConverged(snap) });
        if (status !== lastStatus) {
          lastStatus = status;
          write(`event: revision\ndata: ${status}\n\n`);
        }
        if (Date.now() - lastWrite > KEEPALIVE_MS) write(': keepalive\n\n');
      } catch (err) {
        if (!stopped) write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
      }
      if (!stopped) timer = setTimeout(tick, this.o.pollMs);
    };
    await tick();
  }

  closeAll(): void {
    for (const stop of [...this.open]) stop();
  }
}
