/**
 * `ringstack usage --project P --from T --to T [--csv]`: a project's metered usage over a time
 * range, from the controller's status API (`/api/v1/usage`), which integrates the usage
 * records kept in the state bucket. Talking to the API (not the store) means the same read
 * tokens and project scoping apply.
 */
import { DEFAULT_CONTROLLER_URL, StatusApiError, StatusClient, formatTable } from '../../controller/status/client.js';
import { UsageError, parseFlags, type CliIO, type Command } from '../usage.js';

const usage = `usage: ringstack usage --project P --from TIME --to TIME [--csv] [--json]
                       [--controller URL] [--token T]

Prints the usage of project P over [from, to): instance-hours by flavor, vCPU-hours, memory
GiB-hours, volume GiB-hours and image GiB-hours (an instance counts while ACTIVE). TIME is
ISO 8601 (2026-11-01 or 2026-11-01T00:00:00Z).

  --controller URL  the controller (env RINGSTACK_CONTROLLER_URL, default ${DEFAULT_CONTROLLER_URL})
  --token T         read token (env RINGSTACK_STATUS_TOKEN)
  --csv             one "metric,value" line per figure
  --json            the API's JSON
`;

function time(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`missing --${what}`);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${what} must be an ISO 8601 time, got "${v}"`);
  return new Date(t).toISOString();
}

export const usageCommand: Command = {
  name: 'usage',
  summary: 'usage report of a project (instance-hours, vCPU-hours, GiB-hours) over a time range',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parseFlags(args, {
      project: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, csv: { type: 'boolean' }, json: { type: 'boolean' },
      controller: { type: 'string' }, token: { type: 'string' },
    }, false);
    if (!values.project) throw new UsageError('missing --project');
    const from = time(values.from, 'from');
    const to = time(values.to, 'to');
    if (Date.parse(to) <= Date.parse(from)) throw new UsageError('--to must be after --from');
    const client = new StatusClient(values.controller ?? process.env.RINGSTACK_CONTROLLER_URL ?? DEFAULT_CONTROLLER_URL, values.token ?? process.env.RINGSTACK_STATUS_TOKEN);
    let r: any;
    try {
      r = await client.get('/usage', { project: values.project, from, to });
    } catch (e) {
      if (e instanceof StatusApiError) { io.err(`ringstack usage: ${e.message}\n`); return 1; }
      throw e;
    }
    if (values.json) { io.out(JSON.stringify(r, null, 2) + '\n'); return 0; }
    const rows: Array<[string, number]> = [
      ...Object.entries<number>(r.instanceHoursByFlavor).map(([f, h]): [string, number] => [`instance_hours{flavor=${f}}`, h]),
      ['instance_hours', r.instanceHours], ['vcpu_hours', r.vcpuHours], ['memory_gib_hours', r.memoryGiBHours],
      ['volume_gib_hours', r.volumeGiBHours], ['image_gib_hours', r.imageGiBHours], ['image_bytes_max', r.imageBytesMax],
    ];
    const round = (v: number) => String(Math.round(v * 1e6) / 1e6);
    if (values.csv) {
      io.out(`project,from,to,metric,value\n${rows.map(([m, v]) => `${r.project},${r.from},${r.to},"${m}",${round(v)}`).join('\n')}\n`);
      return 0;
    }
    io.out(`project ${r.project}, ${r.from} to ${r.to}\n` + formatTable(['METRIC', 'VALUE'], rows.map(([m, v]) => [m, round(v)])));
    return 0;
  },
};
