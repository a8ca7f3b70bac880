/**
 * One storage node's small-write path, with its small-write log on and off (node/small-write-log.ts):
 * a child process runs a storage node on a fresh folder; this process keeps 16 PUTs of 4 KiB in
 * flight to it (new names, no listing rows: the object files alone) for a fixed count. Reported
 * per round: PUTs per second, the node's CPU per PUT, and the whole host's CPU per PUT (from
 * /proc/stat: it includes the kernel's write-back threads, which a checkpoint's syncfs and the
 * page cache hand work to, and this process). Modes alternate, several rounds, medians, and
 * the ratio of each mode to the first.
 *
 *   node dist/bench/objectstore/small-writes.js [--count 20000] [--rounds 5] [--settle 36]
 *        [--modes fsync,log]
 *
 * Modes: `fsync` (log off: file and directories fsynced), `log` (the small-write log, files
 * placed as unnamed files linked into place, node/place-file.ts), `log-temp-files` (the log,
 * files placed through a temp file and a rename, as where the filesystem lacks O_TMPFILE).
 *
 * --settle waits before each round (settle.ts), and the rounds' folders are removed only at the
 * end: ext4 without a journal is slow to create files among inodes freed in the last 60-360 s
 * (README "Session 32"), which fell on whichever round came after a removal.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from '../stats.js';
import { askChild, childCpuUs, sendCpu } from '../child-cpu.js';
import { startNodeServer } from '../../objectstore/node/server.js';
import { useTempFiles } from '../../objectstore/node/place-file.js';
import { NodeClient } from '../../objectstore/node/node-client.js';
import { TimestampClock, nodePath, H_CONTENT_LENGTH, T_ETAG } from '../../objectstore/node/protocol.js';
import { hashPath, partitionOf } from '../../objectstore/ring/hash.js';
import { defaultSettleSeconds, removeData, settle } from './settle.js';
import { hostJiffies, jiffiesToSeconds } from './procs.js';

const SECRET = 'small-writes-bench-secret';
const HASH = { prefix: '', suffix: 'bench' };
const PART_POWER = 10;
const BODY_BYTES = 4096;
const CONCURRENCY = 16;

const MODES = ['fsync', 'log', 'log-temp-files'] as const;
type Mode = typeof MODES[number];

/** The child: a storage node on `dir`, the log as `mode` says; answers CPU questions. */
async function serve(dir: string, mode: Mode): Promise<void> {
  if (mode === 'log-temp-files') useTempFiles();
  const node = await startNodeServer({
    devicesDir: dir, secret: SECRET, hash: HASH, partPower: PART_POWER, smallWriteLog: mode !== 'fsync', log: () => undefined,
  });
  process.send!({ port: node.port });
  process.on('message', async (m) => {
    if (m === 'close') {
      await node.close();
      process.send!({ closed: true });
      return;
    }
    sendCpu();
  });
}

interface Round {
  mode: Mode;
  putsPerSecond: number;
  nodeCpuMsPerPut: number;
  hostCpuMsPerPut: number;
}

/** One round on a fresh folder, which joins `dirs` (removed by main at the end). */
async function round(mode: Mode, count: number, dirs: string[]): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), 'ringstack-small-writes-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'd1'));
  const child = fork(fileURLToPath(import.meta.url), ['--serve', dir, '--mode', mode], { stdio: 'inherit' });
  try {
    const { port } = await new Promise<{ port: number }>((res) => child.once('message', (m) => res(m as { port: number })));
    const client = new NodeClient(SECRET);
    const clock = new TimestampClock();
    const body = Buffer.alloc(BODY_BYTES, 7);
    const etag = createHash('md5').update(body).digest('hex');
    const put = async (i: number) => {
      const o = `o${i}`;
      const path = nodePath('obj', 'd1', partitionOf(hashPath('a', 'c', o, HASH), PART_POWER), 'a', 'c', o);
      const r = await client.fetchText({
        host: '127.0.0.1', port, method: 'PUT', path, timestamp: clock.next(),
        headers: { [H_CONTENT_LENGTH]: String(BODY_BYTES), [T_ETAG]: etag }, body,
      });
      if (r.status !== 201) throw new Error(`PUT ${o}: ${r.status} ${r.text}`);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => put(-1 - w))); // connections open
    const cpu0 = await childCpuUs(child);
    const host0 = hostJiffies()!;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await put(next++);
    }));
    const seconds = (performance.now() - t0) / 1000;
    const host1 = hostJiffies()!;
    const cpu1 = await childCpuUs(child);
    client.close();
    return {
      mode,
      putsPerSecond: Math.round(count / seconds),
      nodeCpuMsPerPut: Number(((cpu1 - cpu0) / 1000 / count).toFixed(3)),
      hostCpuMsPerPut: Number(((jiffiesToSeconds(host1.busy - host0.busy) * 1000) / count).toFixed(3)),
    };
  } finally {
    await askChild(child, 'close');
    child.kill();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' }, mode: { type: 'string' },
      count: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' },
      settle: { type: 'string' }, modes: { type: 'string', default: 'fsync,log' },
    },
  });
  if (values.serve) return serve(values.serve, values.mode as Mode);
  const count = Number(values.count);
  const settleSeconds = values.settle === undefined ? defaultSettleSeconds() : Number(values.settle);
  const modes = values.modes!.split(',') as Mode[];
  const unknown = modes.find((m) => !MODES.includes(m));
  if (unknown !== undefined) throw new Error(`--modes: unknown mode "${unknown}" (known: ${MODES.join(', ')})`);
  const rounds: Round[] = [];
  const dirs: string[] = [];
  try {
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
        await settle(settleSeconds);
        const result = await round(mode, count, dirs);
        process.stderr.write(`${JSON.stringify(result)}\n`);
        rounds.push(result);
      }
    }
  } finally {
    await removeData(dirs);
  }
  const summary = (mode: Mode) => {
    const of = rounds.filter((x) => x.mode === mode);
    return {
      // (A median of an even count is the mean of two: rounded as the rounds are.)
      putsPerSecond: Math.round(median(of.map((x) => x.putsPerSecond))),
      nodeCpuMsPerPut: Number(median(of.map((x) => x.nodeCpuMsPerPut)).toFixed(3)),
      hostCpuMsPerPut: Number(median(of.map((x) => x.hostCpuMsPerPut)).toFixed(3)),
    };
  };
  const medians = Object.fromEntries(modes.map((m) => [m, summary(m)]));
  const first = medians[modes[0]!]!;
  const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
  process.stdout.write(`${JSON.stringify({
    count, rounds, medians,
    [`ratio_over_${modes[0]}`]: Object.fromEntries(modes.slice(1).map((m) => [m, {
      putsPerSecond: ratio(medians[m]!.putsPerSecond, first.putsPerSecond),
      nodeCpuMsPerPut: ratio(medians[m]!.nodeCpuMsPerPut, first.nodeCpuMsPerPut),
      hostCpuMsPerPut: ratio(medians[m]!.hostCpuMsPerPut, first.hostCpuMsPerPut),
    }])),
  }, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
