/**
 * What the last compile built, kept by a long-running controller so that the next compile
 * (one file changed in a 10,000-instance repository) reuses the resources and host states whose
 * inputs did not change instead of building, serialising and hashing all of them again.
 *
 * An entry is reused only when every input it was built from is the same: the same manifest
 * objects (a ParseCache gives back the very objects of an unchanged file, and references
 * resolve to them), the same derived values (sizes, MACs, owner), and the previous state still
 * holding it with the same hash and revision. Anything else rebuilds it, so the result is
 * exactly what a compile without the cache gives.
 */

import type { Catalog } from '../manifests/types.js';
import type { CompileInput, CompileResult } from './compile.js';
import { hostsFingerprint } from './scheduler.js';

/** One built object with its canonical text and what it was built from. */
export interface BuiltEntry {
  inputs: readonly unknown[];
  out: { hash: string; revision: string };
  text: string;
}

export type BuiltKind = 'network' | 'image' | 'volume' | 'boot' | 'instance' | 'host';

/**
 * What one compile built, per kind, keyed by the manifest each object was built from (a boot
 * volume by its instance's manifest, a host state by host name): the very objects a ParseCache
 * gives back, so a look-up neither builds nor hashes an id string.
 */
export type BuiltEntries = Record<BuiltKind, Map<unknown, BuiltEntry>>;

export function emptyBuilt(): BuiltEntries {
  return { network: new Map(), image: new Map(), volume: new Map(), boot: new Map(), instance: new Map(), host: new Map() };
}

/** The last compile's input and result, for a patched compile of the next commit (compile-patch.ts). */
export interface LastCompile {
  catalog: Catalog;
  /** What of its hosts, options and host history placement depends on (hostsFingerprint, JSON). */
  hosts: string;
  options: string;
  result: CompileResult;
}

export class CompileCache {
  /** What the last compile built. */
  entries: BuiltEntries = emptyBuilt();
  /** Objects reused and built by the last compile. */
  reused = 0;
  built = 0;
  /** Whether the last compile was a patch of the one before. */
  patched = false;
  last?: LastCompile;

  /** Records a compile's input and result (the cache's entries must already be its own). */
  remember(input: CompileInput, result: CompileResult, patched = false, hostsPrint = hostsFingerprint(input.hosts, input.now, input.scheduler)): void {
    this.last = { catalog: input.catalog, hosts: hostsPrint, options: placementOptions(input), result };
    this.patched = patched;
  }
}

/** The compile options placement depends on besides the hosts, as comparable text. */
export function placementOptions(input: CompileInput): string {
  return JSON.stringify([input.scheduler ?? {}, input.lastSeen ?? {}]);
}

/** True when both lists hold the same values (=== per element). */
export function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
