/**
 * Seeded random numbers for simulations and test data: mulberry32 (a tiny
 * 32-bit PRNG, uniform in [0, 1); fine for simulation, not for crypto) and
 * normal / log-normal draws by Box-Muller.
 */
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

/** A standard normal draw from a uniform source (Box-Muller). */
export function normal(rnd: () => number): number {
  let u = 0;
  while (u === 0) u = rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/** n draws with the given mean and coefficient of variation, normal or log-normal. */
export function sample(
  rnd: () => number,
  n: number,
  mean: number,
  cv: number,
  shape: 'normal' | 'lognormal',
): number[] {
  const out: number[] = [];
  if (shape === 'normal') for (let i = 0; i < n; i++) out.push(mean * (1 + cv * normal(rnd)));
  else {
    // Log-normal with the given mean and CV: sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2.
    const s2 = Math.log(1 + cv * cv);
    for (let i = 0; i < n; i++) out.push(Math.exp(Math.log(mean) - s2 / 2 + Math.sqrt(s2) * normal(rnd)));
  }
  return out;
}
