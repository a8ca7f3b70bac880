/**
 * `ringstack status [kind] [name]`: the controller's read-only status API as terminal tables
 * (or its JSON with --json). The work is done by controller/status/client.ts.
 */
import { DEFAULT_CONTROLLER_URL, StatusApiError, StatusClient, formatTable } from '../../controller/status/client.js';
import { UsageError, parseFlags, type CliIO, type Command } from '../usage.js';

const KINDS = ['hosts', 'instances', 'networks', 'volumes', 'images', 'projects', 'revisions', 'events'] as const;

const usage = `usage: ringstack status [KIND [NAME]] [--controller URL] [--token T] [--json]
                        [--project P] [--label key=value] [--state S]

Shows what the controller knows: with no KIND an overview (hosts, instances by state, the
current revision and whether it has converged); with a KIND the list; with a NAME one resource
with its conditions, desired against observed, and its events.

KIND: ${KINDS.join(', ')}
NAME: a host or project name, a commit id, or a resource id (<project>/<name>, or <name> for
      shared images and networks)

  --controller URL  the controller (env RINGSTACK_CONTROLLER_URL, default ${DEFAULT_CONTROLLER_URL})
  --token T         read token (env RINGSTACK_STATUS_TOKEN); not needed on the controller's
                    own machine when it has no status tokens configured
  --json            print the API's JSON instead of tables
  --project, --label, --state   filter lists
`;

function staleNote(r: { stale?: boolean; ageSeconds?: number | null }): string {
  return r.stale ? `warning: the controller could not read the object store; data is ${r.ageSeconds ?? '?'} s old (stale)\n` : '';
}

function short(rev: string | null | undefined): string {
  return rev ? rev.slice(0, 12) : '-';
}

function listTable(kind: string, items: any[]): string {
  switch (kind) {
    case 'hosts':
      return formatTable(['HOST', 'ZONE', 'HEALTH', 'HEARTBEAT', 'VCPUS', 'MEMORY MIB', 'INSTANCES', 'APPLIED'], items.map((h) => [
        h.name, h.zone, h.health + (h.stale ? ' (stale)' : ''), h.heartbeatAgeSeconds === null ? '-' : `${h.heartbeatAgeSeconds}s ago`,
        `${h.allocation.vcpus}/${h.capacity.vcpus}`, `${h.allocation.memoryMiB}/${h.capacity.memoryMiB}`, h.allocation.instances, short(h.appliedRevision)]));
    case 'instances':
      return formatTable(['ID', 'STATE', 'STATUS', 'HOST', 'IPS', 'FLAVOR'], items.map((i) => [i.id, i.state, i.summary, i.host, i.ips.map((x: any) => x.ip).join(',') || '-', i.flavor]));
    case 'images':
      return formatTable(['ID', 'STATUS', 'SIZE', 'SHA256', 'HOSTS'], items.map((i) => [i.id, i.status, i.sizeBytes, (i.sha256 ?? '').slice(0, 16), i.hosts.join(',') || '-']));
    case 'networks': case 'volumes':
      return formatTable(['ID', 'STATE', 'STATUS', 'HOSTS'], items.map((i) => [i.id, i.state, i.summary, i.hosts.join(',') || '-']));
    case 'projects':
      return formatTable(['PROJECT', 'INSTANCES', 'VCPUS', 'MEMORY MIB', 'VOLUME GIB', 'NETWORKS'], items.map((p) => [p.name,
        ...['instances', 'vcpus', 'memoryMiB', 'volumeGiB', 'networks'].map((k) => `${p.usage[k]}/${p.quotas[k]}`)]));
    case 'revisions':
      return formatTable(['REVISION', 'STATUS', 'CHECKED', 'APPLIED', 'CONVERGED', 'ERRORS'], items.map((r) => [
        short(r.revision) + (r.current ? '*' : ''), r.status, r.checkedAt, r.appliedAt, r.converged === null ? '-' : r.converged ? 'yes' : 'no', r.errors.length || '-']));
    default:
      return formatTable(['TIME', 'HOST', 'RESOURCE', 'ACTION', 'REASON', 'MESSAGE'], items.map((e) => [e.time, e.host, e.resource, e.action, e.reason, e.message]));
  }
}

function detail(kind: string, it: any): string {
  if (!it.conditions) return JSON.stringify(it, null, 2) + '\n';
  let out = formatTable(['FIELD', 'VALUE'], [
    ['id', it.id], ['project', it.project ?? '(shared)'], ['state', it.state], ['status', it.summary], ['hosts', it.hosts.join(',') || '-'],
    ...(kind === 'instances' ? [['ips', it.ips.map((x: any) => `${x.ip} (${x.network})`).join(', ') || '-'], ['flavor', it.flavor]] : []),
    ...(kind === 'images' ? [['status', it.status], ['size', it.sizeBytes], ['sha256', it.sha256]] : []),
  ]);
  out += '\n' + formatTable(['CONDITION', 'STATUS', 'REASON', 'MESSAGE'], it.conditions.map((c: any) => [c.type, c.status, c.reason, c.message]));
  out += `\ndesired:\n${JSON.stringify(it.desired, null, 2)}\n\nobserved:\n${JSON.stringify(it.observed, null, 2)}\n`;
  if (it.events.length) out += '\n' + listTable('events', it.events);
  return out;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show hosts, instances, revisions… from the controller\'s read-only status API',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      controller: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' },
      project: { type: 'string' }, label: { type: 'string' }, state: { type: 'string' },
    });
    if (positionals.length > 2) throw new UsageError(`too many arguments: ${positionals.slice(2).join(' ')}`);
    const [kind, name] = positionals;
    if (kind !== undefined && !(KINDS as readonly string[]).includes(kind)) throw new UsageError(`unknown kind "${kind}" (one of ${KINDS.join(', ')})`);
    const client = new StatusClient(values.controller ?? process.env.RINGSTACK_CONTROLLER_URL ?? DEFAULT_CONTROLLER_URL, values.token ?? process.env.RINGSTACK_STATUS_TOKEN);
    const filters = { project: values.project, label: values.label, state: values.state };
    try {
      if (!kind) {
        const [ov, hosts] = await Promise.all([client.get('/overview'), client.all('/hosts')]);
        if (values.json) { io.out(JSON.stringify({ overview: ov, hosts: hosts.items }, null, 2) + '\n'); return 0; }
        const rev = ov.revision;
        io.out(staleNote(ov) + `revision: ${rev ? `${short(rev.revision)} ${rev.converged ? 'converged' : 'converging'} (published ${rev.time})` : 'none yet'}\n`
          + `hosts: ${ov.hosts.up}/${ov.hosts.total} up${ov.hosts.stale ? `, ${ov.hosts.stale} late` : ''}${ov.hosts.down ? `, ${ov.hosts.down} down` : ''}\n`
          + `instances: ${Object.entries(ov.instancesByState).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}\n\n` + listTable('hosts', hosts.items));
        return 0;
      }
      if (name !== undefined) {
        const path = kind === 'events' ? undefined : `/${kind}/${name.split('/').map(encodeURIComponent).join('/')}`;
        if (!path) throw new UsageError('events have no NAME; use --project or the list');
        const r = await client.get(path);
        io.out(values.json ? JSON.stringify(r, null, 2) + '\n' : staleNote(r) + detail(kind, r.item));
        return 0;
      }
      const r = await client.all(`/${kind}`, kind === 'events' ? { project: values.project } : filters);
      io.out(values.json ? JSON.stringify(r, null, 2) + '\n' : staleNote(r) + (r.items.length ? listTable(kind, r.items) : `no ${kind}\n`));
      return 0;
    } catch (e) {
      if (e instanceof StatusApiError) { io.err(`ringstack status: ${e.message}\n`); return 1; }
      throw e;
    }
  },
};
