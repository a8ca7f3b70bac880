/**
 * Test helpers for suites that need a real libvirtd: whether its socket exists (tests skip
 * with a clear message when it does not, except in CI where they must run), and `virsh` as
 * an independent observer of what the hypervisor layer did; host bridges for bridge-mode networks.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { DEFAULT_SOCKET_PATH } from './libvirt/connection.js';

const run = promisify(execFile);

/** Why libvirt tests cannot run here, or null if they can (always null in CI). */
export function libvirtSkipReason(): string | null {
  if (existsSync(DEFAULT_SOCKET_PATH) || process.env.CI) return null;
  return `libvirtd socket ${DEFAULT_SOCKET_PATH} absent (run agents/hypervisor/libvirt/setup-libvirtd.sh as root)`;
}

/** Runs virsh against `uri` and returns its stdout, trimmed. */
export async function virsh(uri: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('virsh', ['-q', '-c', uri, ...args]);
  return stdout.trim();
}

/** Linux bridges made with `ip link` (root), for networks in bridge mode. */
export const hostBridges = {
  async add(name: string): Promise<void> {
    await run('ip', ['link', 'add', name, 'type', 'bridge']);
    await run('ip', ['link', 'set', name, 'up']);
  },
  async remove(name: string): Promise<void> {
    await run('ip', ['link', 'del', name]);
  },
};

/** The URI virsh must use to see the same driver state as our connection to libvirtd. */
export function observerUri(uri: string): string {
  // virsh opens test:///default in its own process; test+unix goes through libvirtd.
  return uri.startsWith('test:') ? uri.replace(/^test:/, 'test+unix:') : uri;
}
