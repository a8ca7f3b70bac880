/**
 * A small seeded pseudo-random generator (mulberry32) so `rebalance --seed N` is repeatable,
 * and the Fisher–Yates shuffle the ring builder and the replicator (Math.random) use.
 */

export type Random = () => number;

/** Returns a generator of floats in [0, 1) determined by `seed`. */
export function seededRandom(seed: number): Random {
  let a = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles an array (or an Int32Array) in place (Fisher–Yates). */
export function shuffleInPlace<T>(a: { length: number; [i: number]: T }, rnd: Random): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** A copy of `a` in random order. */
export function shuffled<T>(a: readonly T[], rnd: Random = Math.random): T[] {
  const out = a.slice();
  shuffleInPlace(out, rnd);
  return out;
}
