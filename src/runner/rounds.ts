/**
 * Rounds per probe ("randomized multiple interleaved trials", Abedi & Brecht):
 * one repetition of a workload is a sequence of rounds, one per probe (one tool
 * invocation), and a round runs that probe on every active backend back to
 * back before the next probe starts. The values a paired estimate compares are
 * then seconds apart instead of a whole workload (and, for one round in three,
 * a whole TCG VM workload) apart, so drift of the host between rounds cancels
 * in the pair instead of widening both sides.
 *
 * Order: the repetition's backend order comes from the plan (rotated each
 * repetition when the scenario is interleaved); inside a repetition each probe
 * rotates it once more, so every backend goes first for some probe and no
 * backend always follows the same one.
 *
 * The driver is free of the session and of instances: the executor
 * (execute.ts) gives it a `run` that measures one probe on one backend, and
 * gets back, per backend, the repetition's values with their round and span,
 * to record once the repetition is over (so a repetition is recorded whole or
 * not at all, which is what resume counts on).
 */
import type { MetricValue, Probe } from '../workloads/types.js';
import type { TimedValue } from './plan/cells.js';
import { rotate, type Measurement } from './plan/index.js';

/** The id of a round: unique within a run, readable, and the same for every backend measured in it. */
export function roundId(workload: string, rep: number, probe: string): string {
  return `${workload}:${rep}:${probe}`;
}

/** The rounds of one repetition: per probe, its id and the backends in the order they run. */
export function probeSchedule(
  workload: string,
  rep: number,
  probes: readonly { name: string }[],
  backends: readonly string[],
  interleaved: boolean,
): Array<{ round: string; probe: string; backends: string[] }> {
  return probes.map((p, i) => ({
    round: roundId(workload, rep, p.name),
    probe: p.name,
    backends: interleaved ? rotate(backends, i) : [...backends],
  }));
}

/** One probe measured on one backend. */
export interface ProbeResult {
  values: MetricValue[];
  /** Span (epoch ms) of each exec by its raw log (repetition.ts onSpan). */
  spans: ReadonlyMap<string, readonly [number, number]>;
  /** The call's own span: a value whose raw log names no exec gets it. */
  startMs: number;
  endMs: number;
  extras: Array<{ name: string; data: unknown }>;
}

export type ProbeOutcome =
  | { ok: true; result: ProbeResult }
  /** The probe failed (the executor recorded the cell's failure) or the run was interrupted. */
  | { ok: false; aborted: boolean; extras: Array<{ name: string; data: unknown }> };

export interface RoundDeps<P> {
  /** Checked before every probe: the run was interrupted. */
  aborted(): boolean;
  /** Measure `probe` on the backend of `m`; `setup`: run the workload's setup first (its first measured probe). */
  run(m: Measurement, probe: Probe<P>, round: string, setup: boolean): Promise<ProbeOutcome>;
}

/** What one backend measured in one repetition. */
export interface BackendRepetition {
  measurement: Measurement;
  values: TimedValue[];
  extras: Array<{ name: string; data: unknown }>;
  /** A probe failed: the backend took no part in the repetition's later rounds. */
  failed: boolean;
  /** Spans of the recorded values' tool invocations, each once (for the duty cycle). */
  spans: Array<readonly [number, number]>;
}

/** Give each value its round and the span of the tool invocation that produced it. */
export function timed(r: ProbeResult, round: string): TimedValue[] {
  return r.values.map((v) => {
    const s = (v.rawLog !== undefined ? r.spans.get(v.rawLog) : undefined) ?? [r.startMs, r.endMs];
    return { ...v, round, startMs: s[0], endMs: s[1] };
  });
}

/**
 * Run one repetition as rounds per probe. `measurements` are the backends of this
 * repetition in the plan's order (only those to run). `needSetup` holds the backends
 * whose setup has not run yet in this attempt; it runs before their first probe of a
 * measured repetition (warm-ups do not record what setup keeps). A backend whose
 * probe fails sits out the rest of the repetition; an interruption ends it.
 */
export async function runRepetition<P>(
  w: { name: string; setup?: unknown },
  probes: ReadonlyArray<Probe<P>>,
  rep: number,
  measurements: readonly Measurement[],
  o: { interleaved: boolean; needSetup: Set<string> },
  deps: RoundDeps<P>,
): Promise<{ byBackend: Map<string, BackendRepetition>; aborted: boolean; rounds: number }> {
  const byBackend = new Map<string, BackendRepetition>(
    measurements.map((m) => [m.backend, { measurement: m, values: [], extras: [], failed: false, spans: [] }]),
  );
  let rounds = 0;
  for (const slot of probeSchedule(
    w.name,
    rep,
    probes,
    measurements.map((m) => m.backend),
    o.interleaved,
  )) {
    const probe = probes.find((p) => p.name === slot.probe)!;
    let ran = false;
    for (const backend of slot.backends) {
      if (deps.aborted()) return { byBackend, aborted: true, rounds };
      const b = byBackend.get(backend)!;
      if (b.failed) continue;
      const setup = rep > 0 && w.setup !== undefined && o.needSetup.has(backend);
      const out = await deps.run(b.measurement, probe, slot.round, setup);
      ran = true;
      if (setup) o.needSetup.delete(backend);
      if (!out.ok) {
        // An interrupted probe is not a failure: nothing of the repetition is recorded, resume runs it again.
        if (out.aborted) return { byBackend, aborted: true, rounds };
        b.extras.push(...out.extras);
        b.failed = true;
        continue;
      }
      const values = timed(out.result, slot.round);
      b.values.push(...values);
      b.extras.push(...out.result.extras);
      // A value's span is its tool invocation's (or, for a figure no exec yields alone, such as a
      // start-up time, the whole probe's): one span per invocation, however many values it gave.
      const seen = new Set(b.spans.map(([x, y]) => `${x}-${y}`));
      for (const v of values) {
        if (seen.has(`${v.startMs}-${v.endMs}`)) continue;
        seen.add(`${v.startMs}-${v.endMs}`);
        b.spans.push([v.startMs, v.endMs]);
      }
    }
    if (ran) rounds++;
  }
  return { byBackend, aborted: false, rounds };
}
