/**
 * What a proxy-to-node round trip costs over TCP loopback and over a Unix socket, to decide
 * whether co-located nodes are worth a Unix-socket path (they are not, see README "Session
 * 23"). A child process serves node:http on both (a 4 KiB answer with a node-like head, as a
 * small GET's); this process keeps 16 keep-alive connections busy with GETs and counts the CPU
 * of both processes per request. Transports alternate, several rounds, medians reported.
 *
 *   node dist/bench/objectstore/loopback-transport.js [--requests 100000] [--rounds 5]
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from '../stats.js';
import { childCpuUs, sendCpu } from '../child-cpu.js';

const BODY_BYTES = 4096;
const CONNECTIONS = 16;
const REQUEST = Buffer.from('GET /obj/d1/876/AUTH_bench/c/o HTTP/1.1\r\nhost: node\r\n'
  + 'x-ringstack-auth: 1795866760:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n\r\n');

type Transport = 'tcp' | 'unix';

/** The child: one handler, served on a TCP port and a Unix socket; answers CPU questions. */
function serve(socketPath: string): void {
  const body = Buffer.alloc(BODY_BYTES, 7);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    res.writeHead(200, { 'content-length': body.length, 'x-backend-timestamp': '1795866760.79000', etag: 'd41d8cd98f00b204e9800998ecf8427e' });
    res.end(body);
  };
  const tcp = http.createServer({ keepAliveTimeout: 60_000 }, handler).listen(0, '127.0.0.1', () => {
    http.createServer({ keepAliveTimeout: 60_000 }, handler).listen(socketPath, () => {
      process.send!({ port: (tcp.address() as net.AddressInfo).port });
    });
  });
  process.on('message', sendCpu);
}

/** Runs `total` GETs over CONNECTIONS sockets; resolves to requests per second. */
function drive(connect: () => net.Socket, total: number): Promise<number> {
  const answer = BODY_BYTES; // bytes after the head of each response
  let done = 0;
  let sent = 0;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = connect();
      let pending: Buffer = Buffer.alloc(0);
      const next = () => {
        if (sent < total) {
          sent++;
          s.write(REQUEST);
        } else {
          s.destroy();
        }
      };
      s.on('connect', next);
      s.on('error', reject);
      s.on('data', (d: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        for (;;) {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0 || pending.length < end + 4 + answer) return;
          pending = pending.subarray(end + 4 + answer);
          if (++done === total) resolve(total / ((performance.now() - t0) / 1000));
          next();
        }
      });
    }
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' } } });
  const total = Number(values.requests);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'rs-transport-'));
  const socketPath = join(dir, 'node.sock');
  const child = fork(fileURLToPath(import.meta.url), ['--serve', socketPath], { env: { ...process.env, NODE_OPTIONS: '' } });
  try {
    const { port } = await new Promise<{ port: number }>((res) => child.once('message', (m) => res(m as { port: number })));
    const connect: Record<Transport, () => net.Socket> = {
      tcp: () => net.connect(port, '127.0.0.1'),
      unix: () => net.connect(socketPath),
    };
    const results: Record<Transport, { req_s: number[]; cpu_us: number[] }> = { tcp: { req_s: [], cpu_us: [] }, unix: { req_s: [], cpu_us: [] } };
    for (let r = 0; r < rounds; r++) {
      for (const t of ['tcp', 'unix'] as Transport[]) {
        const s0 = await childCpuUs(child);
        const c0 = process.cpuUsage();
        const rate = await drive(connect[t], total);
        const c = process.cpuUsage(c0);
        const s1 = await childCpuUs(child);
        results[t].req_s.push(Math.round(rate));
        results[t].cpu_us.push(Math.round(((s1 - s0) + c.user + c.system) / total * 10) / 10);
      }
    }
    const summary = Object.fromEntries((Object.keys(results) as Transport[]).map((t) => [t, {
      req_s: median(results[t].req_s), cpu_us_per_request: median(results[t].cpu_us), runs: results[t],
    }]));
    console.log(JSON.stringify({ requests_per_round: total, connections: CONNECTIONS, body_bytes: BODY_BYTES, ...summary,
      unix_over_tcp_cpu: Math.round(summary.unix!.cpu_us_per_request / summary.tcp!.cpu_us_per_request * 100) / 100 }, null, 2));
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') serve(process.argv[3]!);
else main().catch((e) => {
  console.error(`loopback-transport: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
