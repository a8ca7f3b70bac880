/** Conditions computed from desired + observed: one case per way a resource can be. */
import t from 'tap';
import { computeConditions, summaryOf, type ConditionInput } from './conditions.js';

const REV = 'c'.repeat(40);
const NOW = '2026-11-20T10:00:00.000Z';
const base: ConditionInput = { desired: { hash: 'h1', revision: REV, powerState: 'Running' }, host: 'hv1', hostHealth: 'up', revision: REV, now: NOW };
const obs = (o: Partial<NonNullable<ConditionInput['observed']>> = {}) => ({ state: 'ACTIVE' as const, appliedHash: 'h1', updatedAt: '2026-11-20T09:59:00.000Z', ...o });
const by = (cs: ReturnType<typeof computeConditions>) => Object.fromEntries(cs.map((c) => [c.type, c]));

t.test('ready when the applied hash matches and the state is the target', async (t) => {
  const c = by(computeConditions({ ...base, observed: obs() }));
  t.match(c.Ready, { status: 'True', reason: 'Converged', observedRevision: REV, lastTransitionTime: '2026-11-20T09:59:00.000Z' });
  t.match(c.Progressing, { status: 'False' });
  t.equal(summaryOf(Object.values(c)), 'Ready');
  t.same(Object.keys(c), ['Ready', 'Progressing', 'Degraded', 'Unschedulable', 'Stalled']);
});

t.test('a stopped instance is ready when SHUTOFF, progressing while ACTIVE', async (t) => {
  const stopped = { ...base, desired: { ...base.desired!, powerState: 'Stopped' as const } };
  t.equal(summaryOf(computeConditions({ ...stopped, observed: obs({ state: 'SHUTOFF' }) })), 'Ready');
  const c = by(computeConditions({ ...stopped, observed: obs() }));
  t.match(c.Ready, { status: 'False', reason: 'StateMismatch', message: 'state is ACTIVE, want SHUTOFF' });
  t.match(c.Progressing, { status: 'True', reason: 'Applying' });
});

t.test('not observed yet: pending; old hash: spec not applied', async (t) => {
  const pending = by(computeConditions(base));
  t.match(pending.Ready, { status: 'False', reason: 'NotObserved', lastTransitionTime: NOW });
  t.match(pending.Progressing, { status: 'True', reason: 'Pending' });
  const old = by(computeConditions({ ...base, observed: obs({ appliedHash: 'h0' }) }));
  t.match(old.Ready, { status: 'False', reason: 'SpecNotApplied' });
  t.equal(summaryOf(Object.values(old)), 'Progressing');
});

t.test('errors: retryable degrades, permanent stalls (agent reason kept)', async (t) => {
  const retry = by(computeConditions({ ...base, observed: obs({ state: 'BUILD', lastError: { message: 'pool busy', time: NOW } }) }));
  t.match(retry.Degraded, { status: 'True', reason: 'RetryableError', message: 'pool busy' });
  t.match(retry.Progressing, { status: 'True' });
  const perm = computeConditions({
    ...base, observed: obs({
      state: 'ERROR', lastError: { message: 'checksum mismatch', time: NOW, permanent: true },
      conditions: [{ type: 'Stalled', status: 'True', reason: 'ImageChecksumMismatch', message: 'x', observedRevision: REV, lastTransitionTime: NOW }],
    }),
  });
  t.match(by(perm).Stalled, { status: 'True', reason: 'ImageChecksumMismatch', message: 'checksum mismatch' });
  t.match(by(perm).Progressing, { status: 'False', reason: 'Stalled' });
  t.equal(summaryOf(perm), 'Stalled');
});

t.test('host health: late degrades, down stalls', async (t) => {
  const late = computeConditions({ ...base, hostHealth: 'stale', observed: obs({ appliedHash: 'h0' }) });
  t.match(by(late).Degraded, { status: 'True', reason: 'HeartbeatLate' });
  t.equal(summaryOf(late), 'Degraded');
  const down = computeConditions({ ...base, hostHealth: 'down', observed: obs() });
  t.match(by(down).Stalled, { status: 'True', reason: 'HostDown' });
  t.equal(summaryOf(down), 'Stalled');
});

t.test('unschedulable', async (t) => {
  const c = computeConditions({ revision: REV, now: NOW, desired: base.desired!, unschedulable: { message: 'no host with 8 free vcpus', reason: 'NoValidHost' } });
  t.match(by(c).Unschedulable, { status: 'True', reason: 'NoValidHost', message: 'no host with 8 free vcpus' });
  t.match(by(c).Ready, { status: 'False', reason: 'Unschedulable' });
  t.equal(summaryOf(c), 'Unschedulable');
});

t.test('observed but no longer desired: deleting, then deleted', async (t) => {
  t.match(by(computeConditions({ revision: REV, now: NOW, host: 'hv1', observed: obs() })).Progressing, { status: 'True', reason: 'Deleting' });
  t.match(by(computeConditions({ revision: REV, now: NOW, host: 'hv1', observed: obs({ state: 'DELETED' }) })).Progressing, { status: 'False', reason: 'Deleted' });
});
