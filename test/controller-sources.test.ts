/**
 * The controller's other Git sources on real parts: a local repository watched on disk and a
 * remote repository polled over HTTP (with a webhook that polls at once). A valid commit is
 * applied without a push; an invalid one is recorded as rejected and the applied revision stays.
 */
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocalObjectStore } from '../objectstore/cluster/local.js';
import { StateClient } from '../objectstore/client/state-client.js';
import { controllerConfigFrom } from '../controller/service/config.js';
import { startController, type RunningController } from '../controller/service/server.js';
import { CURRENT_DESIRED_KEY, type CurrentDesired } from '../agents/contract/index.js';
import type { RevisionRecord } from '../controller/service/state-store.js';
import { until } from './support/wait.js';
import { gitEnv, initWorkingCopy, runGit } from './support/git.js';

const root = mkdtempSync(join(tmpdir(), 'rs-src-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const store = await runLocalObjectStore({ dataDir: join(root, 'store'), port: 0, log: () => {} });
t.teardown(() => store.stop());
const creds = JSON.parse(readFileSync(store.credentialsFile!, 'utf8'));
const FIXTURES = join(process.cwd(), 'controller/manifests/fixtures/valid');
const env = gitEnv(join(root, 'home'));
/** git without blocking: the controllers under test live in this process. */
const git = (cwd: string, ...args: string[]) => runGit(cwd, env, ...args);

async function newRepo(dir: string): Promise<void> {
  await initWorkingCopy(dir, env);
}

async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, 'add', '-A');
  const c = await git(dir, 'commit', '-qm', message);
  if (c.status !== 0) throw new Error(c.stderr);
  return (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
}

function stateClient(bucket: string): StateClient {
  const c = new StateClient({ endpoint: store.url, accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey, bucket });
  t.teardown(() => c.close());
  return c;
}


async function currentIs(c: StateClient, revision: string): Promise<true | undefined> {
  const r = await c.getJson<CurrentDesired>(CURRENT_DESIRED_KEY);
  return r.status === 'ok' && r.value.revision === revision ? true : undefined;
}

async function revisionRecord(c: StateClient, revision: string): Promise<RevisionRecord | undefined> {
  const r = await c.getJson<RevisionRecord>(`state/revisions/${revision}.json`);
  return r.status === 'ok' ? r.value : undefined;
}

function config(name: string, extra: Record<string, unknown>) {
  return controllerConfigFrom({
    dataDir: join(root, name), port: 0, resyncIntervalMs: 200, gitTokens: ['tok'],
    store: { endpoint: store.url, accessKey: creds.accessKey, secretKey: creds.secretKey, bucket: `state-${name}` },
    ...extra,
  }, {});
}

t.test('a watched local repository is applied without a push', async (t) => {
  const repo = join(root, 'local-repo');
  await newRepo(repo);
  cpSync(FIXTURES, repo, { recursive: true });
  const first = await commitAll(repo, 'first');
  const ctl: RunningController = await startController(config('local', { source: { kind: 'local', path: repo } }), { logger: false });
  t.teardown(() => ctl.close());
  const client = stateClient('state-local');
  await until('the existing commit to be applied', 20000, () => currentIs(client, first));
  t.pass('the branch head at start is applied');

  writeFileSync(join(repo, 'instances', 'bad.yaml'), 'apiVersion: ringstack.dev/v1\nkind: Instance\nmetadata:\n  name: x\n  project: demo\nspec:\n  image: nope\n  flavor: small\n');
  const bad = await commitAll(repo, 'bad');
  const rec = await until('the bad commit to be recorded', 20000, () => revisionRecord(client, bad));
  t.equal(rec.status, 'rejected');
  t.match(rec.errors.join('\n'), /instances\/bad\.yaml:7:10 spec\.image: no Image named "nope"/);
  t.ok(await currentIs(client, first), 'the applied revision stays');

  rmSync(join(repo, 'instances', 'bad.yaml'));
  const fixed = await commitAll(repo, 'fixed');
  await until('the fixed commit to be applied', 20000, () => currentIs(client, fixed));
  t.pass('the next valid commit is applied');
});

t.test('a remote repository is polled, and a webhook polls at once', async (t) => {
  // The remote: another controller's Git endpoint (push mode), reached over HTTP.
  const upstream = await startController(config('upstream', {}), { logger: false });
  t.teardown(() => upstream.close());
  const work = join(root, 'remote-work');
  await newRepo(work);
  cpSync(FIXTURES, work, { recursive: true });
  const first = await commitAll(work, 'first');
  const remoteUrl = `${upstream.url}/git/infra.git`;
  const push1 = await git(work, 'push', remoteUrl.replace('http://', 'http://ringstack:tok@'), 'main');
  t.equal(push1.status, 0, push1.stderr);

  const ctl = await startController(config('follower', {
    source: { kind: 'remote', url: remoteUrl, token: 'tok', intervalMs: 600000, webhookSecret: 'hook-secret' },
  }), { logger: false });
  t.teardown(() => ctl.close());
  const client = stateClient('state-follower');
  await until('the first poll to apply the head', 20000, () => currentIs(client, first));
  t.pass('the remote head is applied at start');

  writeFileSync(join(work, 'instances', 'extra.yaml'), readFileSync(join(work, 'instances', 'web.yaml'), 'utf8').split('---')[1]!.replace('web-2', 'web-9'));
  const second = await commitAll(work, 'web-9');
  const push2 = await git(work, 'push', remoteUrl.replace('http://', 'http://ringstack:tok@'), 'main');
  t.equal(push2.status, 0, push2.stderr);

  const refused = await fetch(`${ctl.url}/hooks/git/infra`, { method: 'POST', headers: { 'x-ringstack-token': 'wrong' }, body: '{}' });
  t.equal(refused.status, 401, 'a webhook without the secret is refused');
  const hook = await fetch(`${ctl.url}/hooks/git/infra`, { method: 'POST', headers: { 'x-ringstack-token': 'hook-secret' }, body: '{}' });
  t.equal(hook.status, 202);
  await until('the webhook poll to apply the new commit', 20000, () => currentIs(client, second));
  t.pass('applied long before the 10-minute poll interval');
});
