/** Agent configuration: YAML file, RINGSTACK_AGENT_* overrides, defaults, clear errors. */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigError, loadAgentConfig, resolveAgentConfig } from './config.js';

const STATE = { endpoint: 'http://127.0.0.1:9', accessKeyId: 'AK', secretAccessKey: 'SK' };

t.test('defaults', async (t) => {
  const c = resolveAgentConfig({ host: 'hv1', state: STATE }, '/etc/ringstack', {});
  t.match(c, {
    host: 'hv1', zone: 'default', libvirtUri: 'qemu:///system', domainType: 'qemu', dataDir: '/var/lib/ringstack/agent', namePrefix: 'rs',
    pollIntervalMs: 1000, resyncIntervalMs: 60000, shutdownTimeoutMs: 60000,
    state: { ...STATE, bucket: 'ringstack-state', region: 'us-east-1' },
  });
});

t.test('environment overrides the file; relative paths follow the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rstest-agent-cfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.yaml');
  await writeFile(file, 'host: hv1\nzone: a\nlibvirtUri: test:///default\ndataDir: data\npollIntervalMs: 250\nstate:\n  endpoint: http://x\n  accessKeyId: AK\n  secretAccessKey: SK\n  bucket: b1\n');
  const c = await loadAgentConfig(file, { RINGSTACK_AGENT_ZONE: 'b', RINGSTACK_AGENT_POLL_INTERVAL_MS: '500', RINGSTACK_AGENT_STATE_BUCKET: 'b2' });
  t.equal(c.zone, 'b');
  t.equal(c.pollIntervalMs, 500);
  t.equal(c.state.bucket, 'b2');
  t.equal(c.libvirtUri, 'test:///default');
  t.equal(c.dataDir, join(dir, 'data'));
});

t.test('errors name the setting', async (t) => {
  t.throws(() => resolveAgentConfig({ state: STATE, pollIntervalMs: 'soon' }, '/', {}), { name: 'AgentConfigError', message: /pollIntervalMs \(RINGSTACK_AGENT_POLL_INTERVAL_MS\)/ });
  t.throws(() => resolveAgentConfig({ state: STATE, colour: 'red' }, '/', {}), { message: 'unknown setting "colour"' });
  t.throws(() => resolveAgentConfig({ state: { endpoint: 'http://x' } }, '/', {}), { message: /missing state.accessKeyId \(or RINGSTACK_AGENT_STATE_ACCESS_KEY_ID\)/ });
  t.throws(() => resolveAgentConfig({ state: STATE, domainType: 'xen' }, '/', {}), AgentConfigError);
  t.throws(() => resolveAgentConfig({ state: STATE, host: 'a/b' }, '/', {}), { message: /invalid host name/ });
  await t.rejects(loadAgentConfig('/nonexistent/agent.yaml', {}), { message: /cannot read config/ });
});
