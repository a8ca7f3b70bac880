/**
 * The read-only status API as a fastify plugin: hosts, instances, networks, volumes, images,
 * projects, revisions, events (list and Server-Sent Events stream), usage reports, health,
 * Prometheus metrics, the OpenAPI document generated from the route schemas, and the web
 * dashboard. No route changes state: every other method answers 405 with `Allow: GET, HEAD`.
 *
 * Data comes from a shared `StatusReader` snapshot. When the store is partly down, data from
 * the last good read is served with `stale: true` and its age; a route whose data was never
 * read answers 503. The plugin also runs the usage sampler (controller/usage) on a timer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UsageSampler } from '../usage/sampler.js';
import { usageReport } from '../usage/report.js';
import { AccessDenied, StatusAccess, type Scope, type StatusToken } from './access.js';
import { registerDashboard } from './dashboard.js';
import { StatusMetrics } from './metrics.js';
import { openApiDocument, type RouteDoc } from './openapi.js';
import { BadQuery, filterItems, page, type ListQuery } from './paging.js';
import { StatusReader, isConverged, type Freshness, type Snapshot, type StoredEvent } from './reader.js';
import * as S from './schemas.js';
import type { StateSource } from './source.js';
import { DEFAULT_POLL_MS, EventStreams } from './stream.js';
import { RESOURCE_KINDS, buildViews, type Views } from './views.js';

export const API = '/api/v1';
/** Default time between two usage samples. */
export const DEFAULT_SAMPLE_MS = 30_000;
const NOT_ALLOWED = ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface StatusPluginOptions {
  source: StateSource;
  /** Read tokens; none means reads are open on the loopback address only. */
  tokens?: StatusToken[];
  heartbeatTimeoutSeconds?: number;
  gracePeriodSeconds?: number;
  /** Minimum time between two reads of the store (shared by every request). */
  refreshMs?: number;
  /** How often the event stream polls. */
  pollMs?: number;
  /** Usage sampling; false turns it off (tests drive the sampler themselves). */
  usage?: { sampleMs?: number; flushMs?: number } | false;
  now?: () => number;
  metrics?: StatusMetrics;
  /**
   * More series to append to /metrics, e.g. the object store proxy's request rates and
   * latencies; undefined when they cannot be had now (the controller's own still answer).
   */
  extraMetrics?: () => Promise<string | undefined>;
}

type Part = keyof Snapshot['freshness'];

/** 503: the route's data has never been read from the store. */
class NeverRead extends Error {
  override name = 'NeverRead';
}

declare module 'fastify' {
  interface FastifyRequest { statusScope?: Scope }
}

export async function statusPlugin(app: FastifyInstance, o: StatusPluginOptions): Promise<void> {
  const now = o.now ?? Date.now;
  const metrics = o.metrics ?? new StatusMetrics();
  const reader = new StatusReader(o.source, { now, ...(o.refreshMs !== undefined ? { refreshMs: o.refreshMs } : {}), metrics });
  const access = new StatusAccess(o.tokens ?? []);
  const health = { heartbeatTimeoutSeconds: o.heartbeatTimeoutSeconds ?? 30, gracePeriodSeconds: o.gracePeriodSeconds ?? 300 };
  const viewCache = new WeakMap<Snapshot, Views>();
  const routes: RouteDoc[] = [];
  const publicUrls = new Set<string>(['/openapi.json']);
  const flushMs = o.usage ? o.usage.flushMs : undefined;
  const sampler = o.usage === false ? undefined : new UsageSampler(o.source, { now, ...(flushMs !== undefined ? { flushMs } : {}) });

  const visibleEvent = (e: StoredEvent, scope: Scope) => !scope.project || projectOfId(e.resource) === scope.project;
  const streams = new EventStreams({ reader, pollMs: o.pollMs ?? DEFAULT_POLL_MS, visible: visibleEvent });

  app.addHook('onRequest', async (req, reply) => {
    const url = req.routeOptions.url ?? '';
    if (publicUrls.has(url) || url.startsWith('/dashboard')) return;
    try {
      const q = req.query as Record<string, unknown> | undefined;
      req.statusScope = access.check(req.headers.authorization, url.endsWith('/events/stream') && typeof q?.access_token === 'string' ? q.access_token : undefined, req.socket.remoteAddress);
    } catch (e) {
      if (e instanceof AccessDenied) {
        if (e.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="ringstack-status"');
        return reply.code(e.statusCode).send({ statusCode: e.statusCode, error: e.statusCode === 401 ? 'Unauthorized' : 'Forbidden', message: e.message });
      }
      throw e;
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unknown', code: String(reply.statusCode) });
  });
  app.setErrorHandler(async (err, _req, reply) => {
    if (err instanceof NeverRead) return reply.code(503).header('retry-after', '5').send({ statusCode: 503, error: 'Service Unavailable', message: err.message });
    if (err instanceof BadQuery) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: err.message });
    const code = (err as { statusCode?: number }).statusCode ?? 500;
    if (code >= 500) app.log.error({ err }, 'status API error');
    return reply.code(code).send({ statusCode: code, error: code === 400 ? 'Bad Request' : 'Error', message: (err as Error).message });
  });

  function get(url: string, summary: string, schema: RouteDoc['schema'], handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>, produces?: string): void {
    const response = produces ? undefined : { 200: schema.response?.['200'], 400: S.errorSchema, 404: S.errorSchema, 503: S.errorSchema };
    routes.push({ url, summary, schema: { ...schema, ...(response ? { response } : {}) }, ...(produces ? { produces } : {}) });
    app.get(url, { schema: { ...(schema.querystring ? { querystring: schema.querystring } : {}), ...(schema.params ? { params: schema.params } : {}), ...(response ? { response } : {}) } }, handler);
  }

  async function current(parts: Part[]): Promise<{ snap: Snapshot; views: Views; fresh: { stale: boolean; ageSeconds: number | null; readAt: string | null } }> {
    const snap = await reader.snapshot();
    const used = parts.map((p) => snap.freshness[p]);
    const never = parts.filter((p) => snap.freshness[p].readAt === undefined);
    if (never.length) {
      const why = never.map((p) => snap.freshness[p].error).filter(Boolean)[0];
      throw new NeverRead(`the state bucket has not been read yet (${never.join(', ')})${why ? `: ${why}` : ''}; retry shortly`);
    }
    let views = viewCache.get(snap);
    if (!views) { views = buildViews(snap, snap.at, health); viewCache.set(snap, views); }
    return { snap, views, fresh: freshnessOf(used, now()) };
  }

  function scoped(req: FastifyRequest, q: ListQuery): ListQuery {
    const scope = req.statusScope ?? {};
    if (!scope.project) return q;
    if (q.project !== undefined && q.project !== scope.project) return { ...q, project: '\u0000invisible' };
    return q;
  }
  /** A scoped caller sees its project and shared resources (no project). */
  function visibleTo(req: FastifyRequest, project: string | null | undefined): boolean {
    const p = req.statusScope?.project;
    return !p || project === p || project === null || project === undefined;
  }
  function notFound(reply: FastifyReply, what: string) {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no ${what}` });
  }

  get(`${API}/healthz`, 'Health of the status API and freshness of each part of its data', { response: { 200: S.healthSchema } }, async (_req, reply) => {
    const snap = await reader.snapshot();
    const parts = Object.fromEntries(Object.entries(snap.freshness).map(([k, f]) => [k, { stale: f.stale, readAt: f.readAt !== undefined ? new Date(f.readAt).toISOString() : null, error: f.error ?? null }]));
    const never = Object.values(snap.freshness).some((f) => f.readAt === undefined);
    const stale = Object.values(snap.freshness).some((f) => f.stale);
    if (never) reply.code(503);
    return { status: never ? 'unavailable' : stale ? 'degraded' : 'ok', parts };
  });

  get(`${API}/overview`, 'Hosts by health, instances by state, the current revision and whether it converged', { response: { 200: S.overviewSchema } }, async (req) => {
    const { snap, views, fresh } = await current(['desired', 'hosts']);
    const instances = views.instances.filter((i) => visibleTo(req, i.project));
    const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => { m[x] = (m[x] ?? 0) + 1; return m; }, {});
    return {
      hosts: { total: views.hosts.length, up: views.hosts.filter((h) => h.health === 'up').length, stale: views.hosts.filter((h) => h.health === 'stale').length, down: views.hosts.filter((h) => h.health === 'down').length },
      instancesByState: count(instances.map((i) => i.state)),
      instancesBySummary: count(instances.map((i) => i.summary)),
      revision: snap.current ? { revision: snap.current.revision, time: snap.current.time, converged: isConverged(snap), convergedAt: snap.convergedAt !== undefined ? new Date(snap.convergedAt).toISOString() : null } : null,
      ...fresh,
    };
  });

  get(`${API}/hosts`, 'Hypervisor hosts: capacity, allocation, heartbeat age, health (up, stale, down)', { querystring: S.listQuery, response: { 200: S.listOf(S.hostSchema) } }, async (req) => {
    const q = req.query as ListQuery;
    const { views, fresh } = await current(['hosts', 'desired']);
    return { ...page(filterItems(views.hosts, { ...q, project: undefined }), (h) => h.name, q), ...fresh };
  });
  get(`${API}/hosts/:name`, 'One host', { params: S.nameParam, response: { 200: S.one(S.hostSchema) } }, async (req, reply) => {
    const { views, fresh } = await current(['hosts', 'desired']);
    const h = views.hosts.find((x) => x.name === (req.params as { name: string }).name);
    return h ? { item: h, ...fresh } : notFound(reply, 'such host');
  });

  for (const kind of RESOURCE_KINDS) {
    get(`${API}/${kind}`, `${kind}: desired against observed, conditions, hosts`, { querystring: S.listQuery, response: { 200: S.listOf(S.resourceSchema) } }, async (req) => {
      const q = req.query as ListQuery;
      const { views, fresh } = await current(['desired', 'hosts']);
      const sq = scoped(req, q);
      const items = filterItems(views[kind], sq).filter((r) => visibleTo(req, r.project));
      return { ...page(items, (r) => r.id, q), ...fresh };
    });
    get(`${API}/${kind}/*`, `One of ${kind} by id (<project>/<name> or <name>)`, { params: S.idParam, response: { 200: S.one(S.resourceSchema) } }, async (req, reply) => {
      const id = (req.params as { '*': string })['*'];
      const { views, fresh } = await current(['desired', 'hosts']);
      const r = views[kind].find((x) => x.id === id);
      return r && visibleTo(req, r.project) ? { item: r, ...fresh } : notFound(reply, `${kind.slice(0, -1)} ${id}`);
    });
  }

  get(`${API}/projects`, 'Projects with their quotas and quota use', { querystring: S.listQuery, response: { 200: S.listOf(S.projectSchema) } }, async (req) => {
    const q = req.query as ListQuery;
    const { views, fresh } = await current(['desired']);
    const scope = req.statusScope?.project;
    const items = views.projects.filter((p) => (!scope || p.name === scope) && (q.project === undefined || p.name === q.project));
    return { ...page(items, (p) => p.name, q), ...fresh };
  });
  get(`${API}/projects/:name`, 'One project', { params: S.nameParam, response: { 200: S.one(S.projectSchema) } }, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const { views, fresh } = await current(['desired']);
    const p = views.projects.find((x) => x.name === name);
    return p && visibleTo(req, p.name) ? { item: p, ...fresh } : notFound(reply, `project ${name}`);
  });

  get(`${API}/revisions`, 'Pushed revisions, newest first: accepted or rejected with errors, applied, converged, and when', { querystring: S.listQuery, response: { 200: S.listOf(S.revisionSchema) } }, async (req) => {
    const q = req.query as ListQuery;
    const { views, fresh } = await current(['revisions', 'desired', 'hosts']);
    const state = q.state?.toLowerCase();
    const items = views.revisions.filter((r) => !state || r.status === state || (state === 'converged' && r.converged === true));
    return { ...page(items, (r) => `${r.checkedAt}|${r.revision}`, q), ...fresh };
  });
  get(`${API}/revisions/:name`, 'One revision by commit id', { params: S.nameParam, response: { 200: S.one(S.revisionSchema) } }, async (req, reply) => {
    const rev = (req.params as { name: string }).name;
    const { views, fresh } = await current(['revisions', 'desired', 'hosts']);
    const r = views.revisions.find((x) => x.revision === rev);
    return r ? { item: r, ...fresh } : notFound(reply, `revision ${rev}`);
  });

  get(`${API}/events`, 'Recent events, oldest first, filtered by project, host, resource, kind and time', { querystring: S.eventsQuery, response: { 200: S.listOf(S.eventSchema) } }, async (req) => {
    const q = req.query as ListQuery & { host?: string; resource?: string; kind?: string; since?: string };
    const { snap, fresh } = await current(['events']);
    const since = q.since ? Date.parse(q.since) : undefined;
    if (since !== undefined && Number.isNaN(since)) throw new BadQuery(`since: not an ISO 8601 time: "${q.since}"`);
    const scope = req.statusScope ?? {};
    const items = snap.events.filter((e) => visibleEvent(e, scope)
      && (q.project === undefined || projectOfId(e.resource) === q.project)
      && (q.host === undefined || e.host === q.host) && (q.resource === undefined || e.resource === q.resource)
      && (q.kind === undefined || e.resourceKind === q.kind) && (since === undefined || Date.parse(e.time) >= since));
    return { ...page(items, (e) => e.key, q), ...fresh };
  });
  get(`${API}/events/stream`, 'Server-Sent Events: `event` for each new event (id = its key), `revision` when the current revision or its convergence changes', { querystring: { type: 'object', properties: { access_token: { type: 'string' } } } }, async (req, reply) => {
    if (req.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send('');
    await streams.serve(req, reply, req.statusScope ?? {});
  }, 'text/event-stream');

  get(`${API}/usage`, 'Usage of one project over [from, to): instance-hours by flavor, vCPU-hours, memory, volume and image GiB-hours', { querystring: S.usageQuery, response: { 200: S.usageSchema } }, async (req, reply) => {
    const q = req.query as { project: string; from: string; to: string };
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (Number.isNaN(from)) throw new BadQuery(`from: not an ISO 8601 time: "${q.from}"`);
    if (Number.isNaN(to)) throw new BadQuery(`to: not an ISO 8601 time: "${q.to}"`);
    if (to <= from) throw new BadQuery('to must be after from');
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(q.project)) throw new BadQuery(`project: not a project name: "${q.project}"`);
    if (!visibleTo(req, q.project)) return notFound(reply, `project ${q.project}`);
    try {
      return await usageReport(o.source, q.project, from, to, sampler?.flushMs);
    } catch (e) {
      return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: `usage records cannot be read now: ${(e as Error).message}` });
    }
  });

  get('/metrics', 'Prometheus metrics (text format 0.0.4)', {}, async (_req, reply) => {
    const snap = await reader.snapshot();
    const t = now();
    metrics.heartbeatAge.reset();
    metrics.hostUp.reset();
    const views = snap.freshness.hosts.readAt !== undefined ? (viewCache.get(snap) ?? buildViews(snap, snap.at, health)) : undefined;
    for (const h of views?.hosts ?? []) {
      if (h.heartbeat) metrics.heartbeatAge.set({ host: h.name }, Math.max(0, (t - Date.parse(h.heartbeat)) / 1000));
      metrics.hostUp.set({ host: h.name }, h.health === 'up' ? 1 : 0);
    }
    metrics.instances.reset();
    for (const [s, n] of Object.entries((views?.instances ?? []).reduce<Record<string, number>>((m, i) => { m[i.summary] = (m[i.summary] ?? 0) + 1; return m; }, {}))) metrics.instances.set({ summary: s }, n);
    metrics.convergenceLag.reset();
    const applied = snap.current ? Date.parse(snap.current.time) : NaN;
    if (!Number.isNaN(applied)) metrics.convergenceLag.set({ revision: snap.current!.revision }, Math.max(0, ((snap.convergedAt ?? t) - applied) / 1000));
    const extra = o.extraMetrics ? await o.extraMetrics().catch(() => undefined) : undefined;
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.registry.render() + (extra ?? ''));
  }, 'text/plain');

  app.get('/openapi.json', async () => openApiDocument(routes, { title: 'ringstack status API', version: '1' }));
  const urls = [...routes.map((r) => r.url), '/openapi.json', ...registerDashboard(app)];
  for (const url of urls) {
    app.route({
      method: [...NOT_ALLOWED], url, schema: { hide: true } as object,
      handler: async (_req, reply) => reply.code(405).header('allow', 'GET, HEAD')
        .send({ statusCode: 405, error: 'Method Not Allowed', message: 'the status API is read-only: changes happen through git push' }),
    });
  }

  let sampleTimer: NodeJS.Timeout | undefined;
  let closing = false;
  if (sampler) {
    const sampleMs = (o.usage && o.usage.sampleMs) || DEFAULT_SAMPLE_MS;
    const sample = async () => {
      try {
        const snap = await reader.snapshot();
        // Stale or missing data is not metered: the open interval simply runs on.
        if (!snap.freshness.desired.stale && !snap.freshness.hosts.stale && snap.freshness.hosts.readAt !== undefined) {
          await sampler.sample(snap.desired, snap.hosts.flatMap((h) => (h.observed ? [h.observed] : [])));
        }
      } catch (err) {
        app.log.warn({ err: String(err) }, 'usage sample failed; retrying');
      }
      if (!closing) sampleTimer = setTimeout(sample, sampleMs);
    };
    sampleTimer = setTimeout(sample, 0);
  }
  app.addHook('preClose', async () => {
    closing = true;
    if (sampleTimer) clearTimeout(sampleTimer);
    streams.closeAll();
  });
}

function projectOfId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const i = id.indexOf('/');
  return i > 0 ? id.slice(0, i) : undefined;
}

function freshnessOf(parts: Freshness[], now: number): { stale: boolean; ageSeconds: number | null; readAt: string | null } {
  const times = parts.map((p) => p.readAt).filter((x): x is number => x !== undefined);
  const oldest = times.length ? Math.min(...times) : undefined;
  return {
    stale: parts.some((p) => p.stale),
    ageSeconds: oldest !== undefined ? Math.max(0, Math.round((now - oldest) / 100) / 10) : null,
    readAt: oldest !== undefined ? new Date(oldest).toISOString() : null,
  };
}

