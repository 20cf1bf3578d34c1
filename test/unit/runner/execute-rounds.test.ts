/**
 * Rounds per probe through the real executor (runner/execute.ts) on the fake provider: every probe runs on
 * every backend back to back before the next probe starts, values carry their round and their tool
 * invocation's span, a resumed run's repetitions stay whole, and results.json records the duty cycle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_STATE_ROOT } from '../../helpers/state-root.js';
import { type FakeEntry, fakeRun, fakeScenario } from '../../helpers/fake-run.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'ib-fake-rounds-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(TEST_STATE_ROOT, { recursive: true, force: true });
});

describe('rounds per probe in a run', () => {
  it('runs each probe on every backend back to back, rotating, and records rounds, spans and the duty cycle', async () => {
    const backends = [{ kind: 'fake', name: 'c', rate: 900, execMs: 20 } as FakeEntry];
    const r = await fakeRun(
      work,
      fakeScenario('rounds', backends, { workloads: { cpu: { seconds: 1, allVcpus: false } } }),
      'rounds',
    );
    expect(r.code, r.stderr).toBe(0);
    const cells = r.results.cells.filter((c) => c.workload === 'cpu');
    expect(cells.map((c) => c.backend).sort()).toEqual(['fake:base', 'fake:c']);
    // Every value with its round and span, flattened and put in time order.
    const spans = cells.flatMap((c) =>
      c.metrics.flatMap((m) =>
        m.values.map((_, i) => ({
          backend: c.backend,
          round: m.rounds![i]!,
          start: Date.parse(m.starts![i]!),
          end: Date.parse(m.ends![i]!),
        })),
      ),
    );
    expect(spans).toHaveLength(2 * 3 * 2); // 2 backends x 3 probes x 2 repetitions
    spans.sort((a, b) => a.start - b.start);
    for (const s of spans) expect(s.end).toBeGreaterThanOrEqual(s.start);
    // In time order the rounds come in pairs: one round, both backends, then the next round.
    const order = spans.map((s) => s.round);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]);
    expect([...new Set(order)]).toEqual([
      'cpu:1:sysbench-1t',
      'cpu:1:matrixprod-1t',
      'cpu:1:syscall',
      'cpu:2:sysbench-1t',
      'cpu:2:matrixprod-1t',
      'cpu:2:syscall',
    ]);
    // The starting backend rotates with the repetition and the probe (warm-up 1 shifts repetition 1 by one).
    const first = (round: string) => spans.find((s) => s.round === round)!.backend;
    expect(first('cpu:1:sysbench-1t')).not.toBe(first('cpu:1:matrixprod-1t'));
    expect(first('cpu:1:sysbench-1t')).not.toBe(first('cpu:2:sysbench-1t'));
    const duty = r.results.dutyCycle!.cpu!;
    expect(duty.rounds).toBe(3 * 3); // 3 probes x (1 warm-up + 2 measured)
    expect(duty.measuringMs).toBeGreaterThan(0);
    expect(duty.measuringMs).toBeLessThanOrEqual(duty.wallMs);
    expect(duty.share).toBeCloseTo(duty.measuringMs / duty.wallMs, 6);
  });

  it('an interruption in the middle of a repetition records none of it; the resume runs it whole', async () => {
    // `c` execs 3 warm-up probes, then the environment check and 3 probes (repetition 1), then 3 probes: its
    // 9th exec is the 2nd probe of repetition 2, after both backends ran that repetition's first round. The
    // resumed attempt counts its execs from 1 again and needs fewer than 9.
    const c = { kind: 'fake', name: 'c', rate: 900, faults: [{ at: 'exec', nth: 9, do: 'signal', signal: 'SIGTERM' }] };
    const scenario = fakeScenario('rounds-resume', [c as FakeEntry], {
      workloads: { cpu: { seconds: 1, allVcpus: false } },
    });
    const first = await fakeRun(work, scenario, 'rounds-resume');
    expect(first.code, first.stderr).toBe(130);
    const reps = (res: typeof first) =>
      res.results.cells
        .filter((x) => x.workload === 'cpu')
        .flatMap((x) => x.metrics.map((m) => m.repetitions.join(',')));
    // Nothing of the interrupted repetition is kept, though its first round was measured on both backends.
    expect([...new Set(reps(first))]).toEqual(['1']);
    const resumed = await fakeRun(work, undefined, 'rounds-resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect([...new Set(reps(resumed))]).toEqual(['1,2']);
    for (const cell of resumed.results.cells.filter((x) => x.workload === 'cpu'))
      for (const m of cell.metrics)
        expect(m.rounds).toEqual(m.repetitions.map((rep) => `cpu:${rep}:${m.rounds![0]!.split(':')[2]}`));
  });
});

describe('which probes a round runs', () => {
  it("a scenario's `probes` runs only the probes it names", async () => {
    const id = 'probes-chosen';
    const r = await fakeRun(
      work,
      fakeScenario(id, [{ kind: 'fake', name: 'c', rate: 900 } as FakeEntry], {
        workloads: { cpu: { seconds: 1, allVcpus: false, probes: ['sysbench-1t', 'syscall'] } },
      }),
      id,
    );
    expect(r.code, r.stderr).toBe(0);
    for (const c of r.results.cells.filter((x) => x.workload === 'cpu'))
      expect(c.metrics.map((m) => m.metric).sort(), c.backend).toEqual(['sysbench-events-1t', 'syscall-ops']);
  });

  it('an adaptive round runs only the probes of the undecided figures', async () => {
    // sysbench reports a steady rate on both sides (decided by the pilot); stress-ng on `c` alternates ±2% from
    // round to round (two stressors per round: each list entry twice), which a pilot of 3 plans about 7 pairs
    // for, within maxRepetitions 8: the extra rounds run matrixprod and syscall, not sysbench.
    const id = 'probes-adaptive';
    const c = { kind: 'fake', name: 'c', rate: 1000, stressNgRate: [1020, 1020, 980, 980] } as FakeEntry;
    const r = await fakeRun(
      work,
      fakeScenario(id, [c], {
        warmup: 0,
        repetitions: 3,
        adaptive: { targetCiPct: 3, maxRepetitions: 8, maxMinutes: 1 },
        workloads: { cpu: { seconds: 1, allVcpus: false } },
      }),
      id,
    );
    expect(r.code, r.stderr).toBe(0);
    const reps = (backend: string, metric: string) =>
      r.results.cells
        .find((x) => x.backend === backend && x.workload === 'cpu')
        ?.metrics.find((m) => m.metric === metric)?.repetitions ?? [];
    for (const b of ['fake:base', 'fake:c']) {
      expect(reps(b, 'sysbench-events-1t'), b).toEqual([1, 2, 3]);
      expect(reps(b, 'matrixprod-bogo-ops-1t').length, b).toBeGreaterThan(3);
      expect(reps(b, 'syscall-ops').length, b).toBeGreaterThan(3);
    }
  });
});
