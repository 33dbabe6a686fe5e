// A seeded uniform generator for statistical tests (test-only, STYLE §13): mulberry32, 32 bits of state, good
// enough spread for load-balancing and fault percentages, and the same sequence on every run.

/** Returns draws in [0, 1) from `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator that returns `values` in turn, then repeats them (for table tests that pin each draw). */
export function fixedDraws(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length] ?? 0;
    i++;
    return v;
  };
}
