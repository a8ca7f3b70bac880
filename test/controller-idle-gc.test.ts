/**
 * The controller's idle collection (controller/service/idle-gc.ts): V8's full collection is
 * reachable without command-line flags, runs once after a quiet period following the last
 * publication, and waits while work is in progress.
 */
import t from 'tap';
import { fullGc, IdleCollector } from '../controller/service/idle-gc.js';
import { controllerConfigFrom } from '../controller/service/config.js';
import { until } from './support/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('V8 full collection is available at run time and frees unreachable memory', async (t) => {
  const gc = fullGc();
  t.type(gc, 'function');
  gc!();
  const before = process.memoryUsage().heapUsed;
  let garbage: Array<{ i: number; s: string }> | undefined = [];
  for (let i = 0; i < 300_000; i++) garbage.push({ i, s: `item ${i}` });
  t.ok(process.memoryUsage().heapUsed > before + 10 * 1024 * 1024, 'the garbage is on the heap');
  garbage = undefined;
  gc!();
  t.ok(process.memoryUsage().heapUsed < before + 5 * 1024 * 1024, 'a full collection took it back');
});

t.test('collects once after a burst of publications, not before the quiet period', async (t) => {
  let calls = 0;
  const c = new IdleCollector(() => false, 50, () => { calls++; });
  t.teardown(() => c.stop());
  c.poke();
  c.poke();
  c.poke();
  t.equal(calls, 0, 'nothing collected at once');
  await until('a collection', 10_000, () => calls > 0, 10);
  await sleep(200);
  t.equal(calls, 1, 'one collection for the burst');
  t.equal(c.runs, 1);
});

t.test('waits while work is in progress, and stop() cancels', async (t) => {
  let calls = 0;
  let busy = true;
  const c = new IdleCollector(() => busy, 20, () => { calls++; });
  t.teardown(() => c.stop());
  c.poke();
  await sleep(200);
  t.equal(calls, 0, 'not collected while busy');
  busy = false;
  await until('a collection once idle', 10_000, () => calls === 1, 10);
  c.poke();
  c.stop();
  await sleep(100);
  t.equal(calls, 1, 'a stopped collector does not run');
});

t.test('without a collector, poke does nothing', async (t) => {
  const c = new IdleCollector(() => false, 1, null);
  c.poke();
  await sleep(20);
  t.equal(c.runs, 0);
});

t.test('configuration: on by default (2 s), set or turned off with idleGcMs or RINGSTACK_CONTROLLER_IDLE_GC_MS', async (t) => {
  const base = { gitTokens: ['x'], store: { accessKey: 'a', secretKey: 's' } };
  t.equal(controllerConfigFrom(base, {}).idleGcMs, 2000);
  t.equal(controllerConfigFrom(base, { RINGSTACK_CONTROLLER_IDLE_GC_MS: '0' }).idleGcMs, 0, '0 turns it off');
  t.equal(controllerConfigFrom({ ...base, idleGcMs: 1500 }, {}).idleGcMs, 1500);
  t.equal(controllerConfigFrom(base, { RINGSTACK_CONTROLLER_IDLE_GC_MS: '2000' }).idleGcMs, 2000);
  t.throws(() => controllerConfigFrom(base, { RINGSTACK_CONTROLLER_IDLE_GC_MS: '-1' }), /idleGcMs must be a number >= 0, got "-1"/);
});
