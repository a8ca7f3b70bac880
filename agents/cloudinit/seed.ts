/**
 * cloud-init NoCloud seed for an instance: `meta-data`, `user-data` and `network-config`
 * (network config v2, NICs matched by MAC) packed into an ISO 9660 image labelled `cidata`,
 * which the agent attaches to the domain as a cdrom. Deterministic: the same instance gives the
 * same bytes, so the agent can tell from a checksum whether the seed must be rewritten.
 */
import { createHash } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { buildIso } from './iso9660.js';

export const SEED_LABEL = 'cidata';

export interface SeedNic {
  mac: string;
  /** Fixed address with prefix length, e.g. "10.0.0.5/24"; DHCP when absent. */
  address?: string;
  gateway?: string;
  nameservers?: string[];
}

export interface SeedInput {
  instanceId: string;
  hostname: string;
  /** The user's cloud-config (or any user-data); ssh keys are merged into a cloud-config. */
  userData?: string;
  sshAuthorizedKeys?: string[];
  nics: SeedNic[];
}

export class SeedError extends Error {
  override name = 'SeedError';
}

/** The three files of a NoCloud seed, as text. */
export function seedFiles(input: SeedInput): Record<'meta-data' | 'user-data' | 'network-config', string> {
  const meta = stringify({ 'instance-id': input.instanceId, 'local-hostname': input.hostname });
  return { 'meta-data': meta, 'user-data': userData(input), 'network-config': networkConfig(input.nics) };
}

/** The seed ISO image. */
export function buildSeedIso(input: SeedInput): Buffer {
  const files = seedFiles(input);
  return buildIso(Object.entries(files).map(([name, body]) => ({ name, data: Buffer.from(body, 'utf8') })), { label: SEED_LABEL });
}

/** sha256 of the seed's content, used to decide whether an attached seed is current. */
export function seedDigest(input: SeedInput): string {
  return createHash('sha256').update(JSON.stringify(seedFiles(input))).digest('hex');
}

function userData(input: SeedInput): string {
  const keys = input.sshAuthorizedKeys ?? [];
  const raw = input.userData ?? '';
  if (raw.trim() === '') {
    return `#cloud-config\n${stringify({ hostname: input.hostname, ...(keys.length ? { ssh_authorized_keys: keys } : {}) })}`;
  }
  if (!raw.startsWith('#cloud-config')) {
    // A script or another user-data format: hand it over untouched; keys go in meta-data form
    // would need multipart MIME, so refuse the combination instead of dropping the keys.
    if (keys.length) throw new SeedError('sshAuthorizedKeys can only be merged into a #cloud-config userData');
    return raw;
  }
  let doc: unknown;
  try {
    doc = parse(raw) ?? {};
  } catch (e) {
    throw new SeedError(`userData is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new SeedError('userData #cloud-config must be a YAML mapping');
  const config = { ...(doc as Record<string, unknown>) };
  if (keys.length) {
    const existing = Array.isArray(config.ssh_authorized_keys) ? config.ssh_authorized_keys as string[] : [];
    config.ssh_authorized_keys = [...existing, ...keys.filter((k) => !existing.includes(k))];
  }
  return `#cloud-config\n${stringify(config)}`;
}

function networkConfig(nics: SeedNic[]): string {
  const ethernets: Record<string, unknown> = {};
  nics.forEach((nic, i) => {
    const e: Record<string, unknown> = { match: { macaddress: nic.mac.toLowerCase() }, 'set-name': `eth${i}` };
    if (nic.address) {
      e.addresses = [nic.address];
      if (nic.gateway) e.routes = [{ to: 'default', via: nic.gateway }];
      if (nic.nameservers?.length) e.nameservers = { addresses: nic.nameservers };
    } else {
      e.dhcp4 = true;
    }
    ethernets[`eth${i}`] = e;
  });
  return stringify({ version: 2, ethernets });
}
