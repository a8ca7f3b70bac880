/**
 * Manifest texts for tests: a small valid base set, and helpers that validate a set of files
 * held in memory and return the formatted error lines.
 */
import { formatError } from './errors.js';
import { MemorySource } from './source.js';
import { validate, type ValidateOptions, type ValidationResult } from './validate.js';

export const SHA = 'a'.repeat(64);

export const BASE: Record<string, string> = {
  'projects/demo.yaml': `apiVersion: ringstack.dev/v1
kind: Project
metadata:
  name: demo
spec:
  quotas:
    instances: 5
    vcpus: 8
`,
  'images/debian.yaml': `apiVersion: ringstack.dev/v1
kind: Image
metadata:
  name: debian
spec:
  source: {bucket: images, key: debian.qcow2}
  format: qcow2
  sha256: ${SHA}
  minDiskGiB: 5
  minMemoryMiB: 512
---
apiVersion: ringstack.dev/v1
kind: Flavor
metadata:
  name: small
spec: {vcpus: 1, memoryMiB: 1024, diskGiB: 10}
`,
  'networks/net.yaml': `apiVersion: ringstack.dev/v1
kind: Network
metadata:
  name: net
  project: demo
spec:
  cidr: 10.0.0.0/24
  dhcp: {start: 10.0.0.100, end: 10.0.0.200}
`,
};

/** An Instance document named `name` in project demo with extra spec lines. */
export function instance(name: string, specLines = '  flavor: small\n', meta = ''): string {
  return `apiVersion: ringstack.dev/v1
kind: Instance
metadata:
  name: ${name}
  project: demo
${meta}spec:
  image: debian
${specLines}`;
}

/** Validates BASE plus `files` (a value of null removes a BASE file). */
export async function check(files: Record<string, string | Buffer | null>, options: ValidateOptions = {},
  symlinks: Record<string, string> = {}): Promise<ValidationResult & { lines: string[] }> {
  const all: Record<string, string | Buffer> = { ...BASE };
  for (const [k, v] of Object.entries(files)) {
    if (v === null) delete all[k];
    else all[k] = v;
  }
  const r = await validate(new MemorySource(all, symlinks), options);
  return { ...r, lines: r.errors.map(formatError) };
}
