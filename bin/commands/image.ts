/**
 * `ringstack image push`: uploads a disk image into the object store (multipart, resumable,
 * with progress) and prints the `Image` manifest to commit. The work is done by
 * objectstore/client/image-upload.ts; this file parses arguments, finds the endpoint and
 * credentials, and draws the progress on stderr.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseFlags, intArg, UsageError, type CliIO, type Command } from '../usage.js';
import {
  DEFAULT_IMAGE_BUCKET, DEFAULT_MIN_MEMORY_MIB, ImageFormatMismatchError, imageManifest, probeImage, uploadImage, type ImageFormat,
} from '../../objectstore/client/image-upload.js';

const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';
const DEFAULT_DATA_DIR = '/var/lib/ringstack';
/** Without a terminal, one progress line every this many milliseconds. */
const PLAIN_PROGRESS_MS = 5000;
/** With a terminal, redraw at most this often. */
const TTY_PROGRESS_MS = 200;
const BAR_WIDTH = 30;

const usage = `usage: ringstack image push <file> --name N [options]

Uploads a disk image into the object store through the S3 API (multipart, a few parts at once),
computes its sha256 and prints the Image manifest to commit. An interrupted upload resumes when
the same command runs again: only the missing parts are sent.

Options:
  --name N                 the Image's metadata.name (required)
  --format qcow2|raw       expected format; default: found from the file (qcow2 magic QFI\\xfb)
  --bucket B               bucket (default ${DEFAULT_IMAGE_BUCKET}; created if missing)
  --key K                  object key (default: the file's name)
  --min-memory-mib N       the manifest's minMemoryMiB (default ${DEFAULT_MIN_MEMORY_MIB})
  --endpoint URL           S3 endpoint (env RINGSTACK_S3_ENDPOINT, default ${DEFAULT_ENDPOINT})
  --access-key AK --secret-key SK
                           credentials (env RINGSTACK_ACCESS_KEY / RINGSTACK_SECRET_KEY)
  --credentials FILE       read {accessKey, secretKey} from FILE
  --data-dir DIR           else read DIR/store/credentials.json (env RINGSTACK_DATA_DIR,
                           default ${DEFAULT_DATA_DIR})
  --part-mib N             part size in MiB (default 16, at least 5)
  --quiet                  no progress output
`;

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A progress reporter: a redrawn bar on a terminal, else a line every few seconds. */
export function progressReporter(write: (s: string) => void, isTty: boolean, now: () => number = Date.now) {
  const started = now();
  let startBytes: number | undefined;
  // Without a terminal the first line comes after a few seconds (short uploads print only the last).
  let last = isTty ? 0 : started;
  return {
    update(done: number, total: number, final = false): void {
      startBytes ??= done;
      const t = now();
      if (!final && t - last < (isTty ? TTY_PROGRESS_MS : PLAIN_PROGRESS_MS)) return;
      last = t;
      const secs = Math.max(0.001, (t - started) / 1000);
      const rate = (done - startBytes) / secs;
      const eta = rate > 0 ? (total - done) / rate : Infinity;
      const pct = total > 0 ? done / total : 1;
      const text = `${human(done)} / ${human(total)}  ${human(rate)}/s  ETA ${duration(eta)}`;
      if (isTty) {
        const filled = Math.round(pct * BAR_WIDTH);
        write(`\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(pct * 100).toFixed(0).padStart(3)}%  ${text}\x1b[K${final ? '\n' : ''}`);
      } else {
        write(`uploaded ${(pct * 100).toFixed(0)}%  ${text}\n`);
      }
    },
  };
}

interface Credentials { endpoint: string; accessKey: string; secretKey: string }

async function credentialsFrom(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Promise<Credentials> {
  const endpoint = (values.endpoint as string | undefined) ?? env.RINGSTACK_S3_ENDPOINT ?? DEFAULT_ENDPOINT;
  const ak = values['access-key'] as string | undefined;
  const sk = values['secret-key'] as string | undefined;
  if ((ak === undefined) !== (sk === undefined)) throw new UsageError('--access-key and --secret-key go together');
  if (ak && sk) {
    if (values.credentials) throw new UsageError('give either --access-key/--secret-key or --credentials, not both');
    return { endpoint, accessKey: ak, secretKey: sk };
  }
  let file = values.credentials as string | undefined;
  if (!file && env.RINGSTACK_ACCESS_KEY && env.RINGSTACK_SECRET_KEY) {
    return { endpoint, accessKey: env.RINGSTACK_ACCESS_KEY, secretKey: env.RINGSTACK_SECRET_KEY };
  }
  file ??= join((values['data-dir'] as string | undefined) ?? env.RINGSTACK_DATA_DIR ?? DEFAULT_DATA_DIR, 'store', 'credentials.json');
  let parsed: { accessKey?: unknown; secretKey?: unknown };
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read credentials from ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (give --credentials, --data-dir or --access-key/--secret-key)`);
  }
  if (typeof parsed.accessKey !== 'string' || typeof parsed.secretKey !== 'string') {
    throw new Error(`${file}: no accessKey/secretKey in it`);
  }
  return { endpoint, accessKey: parsed.accessKey, secretKey: parsed.secretKey };
}

export const imageCommand: Command = {
  name: 'image',
  summary: 'upload a disk image to the object store and print its Image manifest',
  usage,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseFlags(args, {
      name: { type: 'string' }, format: { type: 'string' }, bucket: { type: 'string' }, key: { type: 'string' },
      endpoint: { type: 'string' }, 'access-key': { type: 'string' }, 'secret-key': { type: 'string' },
      credentials: { type: 'string' }, 'data-dir': { type: 'string' }, 'part-mib': { type: 'string' },
      'min-memory-mib': { type: 'string' }, quiet: { type: 'boolean' },
    });
    const [action, file, ...extra] = positionals;
    if (!action) throw new UsageError('missing action (push)');
    if (action !== 'push') throw new UsageError(`unknown action "${action}" (push)`);
    if (!file) throw new UsageError('missing <file>');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (!values.name) throw new UsageError('missing --name');
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(values.name)) throw new UsageError(`--name "${values.name}" is not a DNS label ([a-z0-9-], up to 63)`);
    const format = values.format as ImageFormat | undefined;
    if (format !== undefined && format !== 'qcow2' && format !== 'raw') throw new UsageError(`--format must be qcow2 or raw, got "${format}"`);
    const partMiB = intArg(values['part-mib'] ?? '16', '--part-mib', 5, 5120);
    const minMemoryMiB = intArg(values['min-memory-mib'] ?? String(DEFAULT_MIN_MEMORY_MIB), '--min-memory-mib', 0);
    // The file first: a missing, empty or mismatched file is reported before any credentials are looked for.
    const probe = await probeImage(file);
    if (format && format !== probe.format) throw new ImageFormatMismatchError(file, format, probe.format);
    const creds = await credentialsFrom(values, process.env);
    const isTty = process.stderr.isTTY === true;
    const progress = values.quiet ? undefined : progressReporter(io.err, isTty);
    let total = 0;
    let done = 0;
    const result = await uploadImage({
      file, format, bucket: values.bucket ?? DEFAULT_IMAGE_BUCKET, key: values.key ?? basename(file),
      endpoint: creds.endpoint, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey,
      partBytes: partMiB * 1024 * 1024,
      onProgress: (d, t) => { done = d; total = t; progress?.update(d, t); },
    });
    progress?.update(done, total, true);
    if (!values.quiet) {
      io.err(`${result.resumed ? 'resumed: ' : ''}${result.partsSent} of ${result.parts} parts sent; s3://${result.bucket}/${result.key} sha256 ${result.sha256}\n`);
      io.err('Commit this manifest (e.g. as images/<name>.yaml):\n');
    }
    io.out(imageManifest(values.name, result, minMemoryMiB));
    return 0;
  },
};
