/**
 * The statistics on a simulated noisy host (issue 23, docs/statistics.md),
 * seeded so every run sees the same draws.
 *
 * The host switches between two performance states 8% apart, each held for
 * an exponentially distributed time of mean 60 s. A round runs one 3 s probe
 * on native and on the backend back to back (order rotating), then 3 s of
 * other work (a third backend): so about one pair in twenty straddles a
 * switch (a flip within the pair). Each value also carries 1% of its own
 * noise, and each run gives every instance an effect of its own (0.7% SD per
 * instance: a run's overhead moves by about 1% between runs, the default
 * between-run SD of compare for CPU).
 *
 * Checked, for the paired estimator with the adaptive rule (pilot 6 pairs,
 * plan for 80% power, cap 30) at ±3%:
 * - a true 0% reads "no practical difference" at about the planned 80%;
 * - a false "overhead" or "better" (true 0%) at most 5%; at a true +3%,
 *   "no practical difference" at most 5% and "overhead beyond 3%" at most
 *   2.5% (plus Monte Carlo error);
 * - an A/A compare of 20 metrics flags any row at most at Holm's family-wise 5%.
 * The same checks run against the unpaired estimator (the values without
 * their rounds): it must fail them, or this test would not show that the
 * pairing is what makes them pass.
 */
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../../src/results/types.js';
import {
  changePValue,
  figureLook,
  holmRejects,
  overhead,
  overheadChange,
  regressionPValue,
  type RoundValues,
} from '../../../src/stats/index.js';
import { mulberry32, normal } from '../../../src/stats/random.js';

const STATE_GAP = 0.08;
const DWELL_S = 60;
const PROBE_S = 3;
const OTHER_S = 3;
const NOISE = 0.01;
const INSTANCE_SD = 0.007;
const THRESHOLD = 3;
const PLAN = { pilot: 6, cap: 30 };

/** A two-state host: the state at time t (seconds), switching after exponential dwells. */
function driftingHost(rnd: () => number): (t: number) => number {
  let state = rnd() < 0.5 ? 0 : 1;
  let until = -Math.log(1 - rnd()) * DWELL_S;
  let now = 0;
  return (t: number) => {
    if (t < now) throw new Error('time runs forward');
    now = t;
    while (t >= until) {
      state = 1 - state;
      until += -Math.log(1 - rnd()) * DWELL_S;
    }
    return state === 0 ? 1 : 1 - STATE_GAP;
  };
}

interface Run {
  native: { values: number[]; repetitions: number[] };
  backend: { values: number[]; repetitions: number[] };
  /** Measure one more round. */
  round(): void;
}

/**
 * One run: its own host timeline and instance effects; the backend's throughput is `trueRatio` of native's.
 * Within one run an instance's own effect is part of that run's overhead (nothing in the run can tell it
 * from isolation's cost), so the single-run checks judge against the run's own truth (instanceSd 0);
 * compare, across runs, meets it and carries the between-run term for it.
 */
function startRun(rnd: () => number, trueRatio: number, instanceSd: number): Run {
  const host = driftingHost(rnd);
  const instN = Math.exp(instanceSd * normal(rnd));
  const instB = Math.exp(instanceSd * normal(rnd));
  let t = rnd() * DWELL_S;
  const run: Run = {
    native: { values: [], repetitions: [] },
    backend: { values: [], repetitions: [] },
    round() {
      const r = run.native.values.length + 1;
      const order = r % 2 === 0 ? (['native', 'backend'] as const) : (['backend', 'native'] as const);
      for (const who of order) {
        const level = who === 'native' ? 1000 * instN : 1000 * trueRatio * instB;
        // A probe reads the host's state at its middle.
        const v = level * host(t + PROBE_S / 2) * Math.exp(NOISE * normal(rnd));
        t += PROBE_S;
        run[who].values.push(v);
        run[who].repetitions.push(r);
      }
      t += OTHER_S;
    },
  };
  return run;
}

type Estimator = 'paired' | 'unpaired';

/** What the estimator sees: the values with their rounds (paired), or without (unpaired). */
function view(x: { values: number[]; repetitions: number[] }, est: Estimator): RoundValues | number[] {
  return est === 'paired' ? x : x.values;
}

/** One adaptive run to its stop: the verdict and whether the plan fit under the cap. */
function adaptiveRun(
  rnd: () => number,
  trueRatio: number,
  est: Estimator,
): { verdict: Verdict; beyond: boolean; planned: boolean; pairs: number } {
  const run = startRun(rnd, trueRatio, 0);
  let planned = true;
  for (;;) {
    run.round();
    const n = run.native.values.length;
    if (n < 2) continue;
    const o = overhead(view(run.native, est), view(run.backend, est), true, THRESHOLD);
    if (!o) throw new Error('no estimate');
    const look = figureLook({ ...o, higherIsBetter: true }, PLAN);
    if (look.action === 'continue' && n < PLAN.cap) continue;
    if (look.action === 'stop' && look.reason === 'not-decidable') planned = false;
    return { verdict: o.verdict, beyond: o.beyondThreshold, planned, pairs: n };
  }
}

interface Rates {
  npd: number;
  /** "no practical difference" among the runs whose plan fit under the cap. */
  npdPlanned: number;
  flagged: number;
  beyond: number;
  meanPairs: number;
}

function rates(seed: number, trueRatio: number, est: Estimator, draws: number): Rates {
  const rnd = mulberry32(seed);
  let npd = 0;
  let npdPlanned = 0;
  let planned = 0;
  let flagged = 0;
  let beyond = 0;
  let pairs = 0;
  for (let i = 0; i < draws; i++) {
    const r = adaptiveRun(rnd, trueRatio, est);
    pairs += r.pairs;
    if (r.verdict === 'no-practical-difference') npd++;
    if (r.verdict === 'overhead' || r.verdict === 'better') flagged++;
    if (r.beyond) beyond++;
    if (r.planned) {
      planned++;
      if (r.verdict === 'no-practical-difference') npdPlanned++;
    }
  }
  return {
    npd: npd / draws,
    npdPlanned: planned ? npdPlanned / planned : 0,
    flagged: flagged / draws,
    beyond: beyond / draws,
    meanPairs: pairs / draws,
  };
}

const DRAWS = 800;
/** Monte Carlo allowance on a rate near 5% with DRAWS draws (2.33 SE, one-sided 99%). */
const mc = (p: number): number => 2.33 * Math.sqrt((p * (1 - p)) / DRAWS);

/** The checks on a true 0% and a true +3% (throughput at 0.97 of native); the failures, if any, as text. */
function verdictChecks(est: Estimator): string[] {
  const zero = rates(2301, 1, est, DRAWS);
  const atT = rates(2302, 0.97, est, DRAWS);
  const out: string[] = [];
  // The plan promises 80% power; a pilot of 6 estimates the spread roughly, so allow 10 points below it.
  // Among the runs it planned, and over all runs: at ±3% with up to 30 pairs this host is decidable, so a
  // design that stops "not decidable" on it often has not kept the plan's promise either.
  if (zero.npdPlanned < 0.7)
    out.push(`true 0%: "no practical difference" in ${(zero.npdPlanned * 100).toFixed(1)}% of planned runs (< 70%)`);
  if (zero.npd < 0.7)
    out.push(`true 0%: "no practical difference" in ${(zero.npd * 100).toFixed(1)}% of all runs (< 70%)`);
  if (zero.flagged > 0.05 + mc(0.05))
    out.push(`true 0%: false overhead/better in ${(zero.flagged * 100).toFixed(1)}% (> 5%)`);
  if (atT.npd > 0.05 + mc(0.05))
    out.push(`true +3%: "no practical difference" in ${(atT.npd * 100).toFixed(1)}% (> 5%)`);
  if (atT.beyond > 0.025 + mc(0.025))
    out.push(`true +3%: "overhead beyond 3%" in ${(atT.beyond * 100).toFixed(1)}% (> 2.5%)`);
  return out;
}

/** A/A compare of `metrics` independent figures, each run `rounds` pairs: the share of comparisons that flag any row after Holm. */
function aaFamilyRate(
  seed: number,
  est: Estimator,
  draws: number,
  metrics: number,
  rounds: number,
  tau = 0.01,
  holm = true,
): number {
  const rnd = mulberry32(seed);
  let anyFlag = 0;
  for (let i = 0; i < draws; i++) {
    const changes = [];
    for (let m = 0; m < metrics; m++) {
      const a = startRun(rnd, 0.9, INSTANCE_SD);
      const b = startRun(rnd, 0.9, INSTANCE_SD);
      for (let r = 0; r < rounds; r++) {
        a.round();
        b.round();
      }
      // By default the between-run SD for CPU (1%), as compare uses it.
      const c = overheadChange(
        { native: view(a.native, est), backend: view(a.backend, est) },
        { native: view(b.native, est), backend: view(b.backend, est) },
        'ratio',
        true,
        THRESHOLD,
        tau,
      );
      if (!c) throw new Error('no change estimate');
      changes.push(c);
    }
    const keep = holm
      ? holmRejects(
          changes.map((c) => changePValue(c)),
          0.05,
        )
      : changes.map(() => true);
    if (changes.some((c, k) => (c.verdict === 'overhead' || c.verdict === 'better') && keep[k])) anyFlag++;
  }
  return anyFlag / draws;
}

describe('paired statistics on a drifting two-state host', () => {
  it('the paired estimator with the adaptive rule keeps its promised rates', () => {
    expect(verdictChecks('paired')).toEqual([]);
  });

  it('the unpaired estimator (values without their rounds) fails the same checks', () => {
    const failures = verdictChecks('unpaired');
    expect(
      failures.length,
      'the unpaired estimator passed every check: the test would not notice a switch back',
    ).toBeGreaterThan(0);
    // Measured: about 54% of all runs, the rest stopped "not decidable" (the paired rule: about 95%).
    expect(failures.join('\n')).toMatch(/true 0%: "no practical difference" in .* of all runs/);
  });

  it('pairing decides more often on the same data: a true 0% reads "no practical difference" far more', () => {
    const paired = rates(2303, 1, 'paired', 300);
    const unpaired = rates(2303, 1, 'unpaired', 300);
    expect(paired.npd).toBeGreaterThan(unpaired.npd + 0.2);
  });

  it('A/A compare: a flag on any of 20 rows at most at the Holm-controlled 5%', () => {
    const draws = 300;
    const rate = aaFamilyRate(2304, 'paired', draws, 20, 10);
    expect(rate).toBeLessThanOrEqual(0.05 + 2.33 * Math.sqrt((0.05 * 0.95) / draws));
    // Without the between-run term and without Holm, the same A/A pairs flag far more often.
    expect(aaFamilyRate(2304, 'paired', draws, 20, 10, 0, false)).toBeGreaterThan(0.3);
  });

  // The margin costs power: with the CPU default between-run SD (1%) and 10 rounds a run, a planted 10% is
  // flagged at --fail-on-regression 3 in nearly every pair, at 5 in about half (measured 50%), at 10 never reliably.
  it('a planted 10% CPU regression among 20 rows fails --fail-on-regression 3 after Holm in at least 80% of pairs', () => {
    const rnd = mulberry32(2305);
    const draws = 200;
    let caught = 0;
    for (let i = 0; i < draws; i++) {
      const p: number[] = [];
      for (let m = 0; m < 20; m++) {
        const a = startRun(rnd, 0.95, INSTANCE_SD);
        // Row 0: the backend at 90% of its throughput in run B (a CPU quota of 90%).
        const b = startRun(rnd, m === 0 ? 0.95 * 0.9 : 0.95, INSTANCE_SD);
        for (let r = 0; r < 10; r++) {
          a.round();
          b.round();
        }
        const c = overheadChange(
          { native: a.native, backend: a.backend },
          { native: b.native, backend: b.backend },
          'ratio',
          true,
          THRESHOLD,
          0.01,
        )!;
        p.push(regressionPValue(c, true, 3, 0));
      }
      const rejected = holmRejects(p, 0.025);
      if (rejected[0] && rejected.filter(Boolean).length === 1) caught++;
    }
    expect(caught / draws).toBeGreaterThanOrEqual(0.8);
  });
});
