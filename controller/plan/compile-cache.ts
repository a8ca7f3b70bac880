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

/** One built object with its canonical text and what it was built from. */
export interface BuiltEntry {
  inputs: readonly unknown[];
  out: { hash: string; revision: string };
  text: string;
}

export class CompileCache {
  /** Resource id (or `host:<name>`) -> what the last compile built. */
  entries = new Map<string, BuiltEntry>();
  /** Objects reused and built by the last compile. */
  reused = 0;
  built = 0;
}

/** True when both lists hold the same values (=== per element). */
export function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
