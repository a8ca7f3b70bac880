/**
 * Starts an agent from its configuration: the S3 state store, a libvirt connection factory
 * (re-opened after a loss), pino logs, and the loop. Used by `ringstack agent`.
 */
import pino from 'pino';
import { LibvirtHypervisor } from '../hypervisor/libvirt-hypervisor.js';
import { Agent } from './agent.js';
import type { AgentConfig } from './config.js';
import { StateClientAgentStore } from './store.js';

export interface RunningAgent {
  agent: Agent;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, log = pino({ name: 'ringstack-agent' })): Promise<RunningAgent> {
  const store = new StateClientAgentStore({
    endpoint: config.state.endpoint,
    accessKeyId: config.state.accessKeyId,
    secretAccessKey: config.state.secretAccessKey,
    bucket: config.state.bucket,
    region: config.state.region,
  });
  const agent = await Agent.create({
    host: config.host,
    zone: config.zone,
    store,
    dataDir: config.dataDir,
    namePrefix: config.namePrefix,
    pollIntervalMs: config.pollIntervalMs,
    resyncIntervalMs: config.resyncIntervalMs,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    log,
    connect: () => LibvirtHypervisor.open({
      uri: config.libvirtUri,
      domainType: config.domainType,
      ...(config.libvirtSocket ? { endpoint: { path: config.libvirtSocket } } : {}),
    }),
  });
  agent.start();
  return {
    agent,
    async stop() {
      await agent.stop();
      store.close();
    },
  };
}
