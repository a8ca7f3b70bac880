import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassLoop } from './pass-loop.js';

t.test('passes run one at a time, one interval apart, and a failure does not stop the loop', async (t) => {
  const logs: string[] = [];
  let active = 0;
  let maxActive = 0;
  let n = 0;
  const loop = new PassLoop('worker', 5, async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    n++;
    await sleep(10);
    active--;
    if (n === 2) throw new Error('disk on fire');
  }, (l) => logs.push(l));
  t.equal(n, 0, 'nothing runs before start');
  loop.start();
  t.equal(n, 0, 'the first pass waits one interval');
  while (n < 4) await sleep(5);
  await loop.stop();
  const after = n;
  await sleep(50);
  t.equal(n, after, 'no pass starts after stop');
  t.equal(maxActive, 1, 'never two passes at once');
  t.equal(active, 0, 'stop waited for the running pass');
  t.equal(logs.length, 1);
  t.match(logs[0], /^worker: pass failed: Error: disk on fire/);
  t.equal(loop.isStopped, true);
});

t.test('stop before the first pass runs nothing', async (t) => {
  let ran = false;
  const loop = new PassLoop('idle', 20, async () => { ran = true; }, () => undefined);
  loop.start();
  await loop.stop();
  await sleep(40);
  t.equal(ran, false);
});
