/**
 * Test-cluster start-up: ports are chosen outside the kernel's ephemeral range (where outgoing
 * connections take their source ports), and a cluster whose node fails to start stops the
 * nodes that did start instead of leaving them to keep the test process alive.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { freePort } from './local.js';
import { TestCluster } from './test-cluster.js';

function children(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

t.test('freePort picks a bindable port below the ephemeral range', async (t) => {
  const [low] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
  for (let i = 0; i < 20; i++) {
    const port = await freePort('127.0.0.1');
    t.ok(port >= 10_000 && port < low!, `port ${port} is below ${low}`);
    const s = net.createServer();
    await new Promise<void>((res, rej) => { s.once('error', rej); s.listen(port, '127.0.0.1', () => res()); });
    await new Promise((res) => s.close(res));
  }
});

t.test('a node that cannot start fails the start and leaves no node running', async (t) => {
  const before = children();
  let blocker: net.Server | undefined;
  t.teardown(() => blocker?.close());
  const err = await TestCluster.start({
    beforeStart: async (c) => {
      // Node 3's port is taken: it exits with EADDRINUSE before it is ready.
      blocker = net.createServer();
      const port = c.nodes[2]!.port;
      await new Promise<void>((res, rej) => { blocker!.once('error', rej); blocker!.listen(port, '127.0.0.1', () => res()); });
    },
  }).then(() => undefined, (e: Error) => e);
  t.match(err?.message, /node3 exited .* before it was ready/, 'the start fails, naming the node');
  t.same(children().filter((p) => !before.includes(p)), [], 'no node process is left running');
});
