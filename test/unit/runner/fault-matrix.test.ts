/**
 * The fault matrix on the fake provider (src/backends/providers/fake.ts), through the CLI's main() in this
 * process with its real signal handlers: every stage a run passes (backend preparation, an instance's boot,
 * a workload's exec, an extra instance a workload starts, an instance's stop, the report) met by every
 * fault the fake can script (a signal to this process as a Ctrl-C would send, a failure, a hang, an
 * instance that dies). After each: the exit code, results.json (schema-validated, partial or complete as
 * it should be, with the cell's failure stage), no fake instance left running and no run lock left.
 *
 * The real cleanup paths (QEMU, runc, cgroups, netns) keep their own fault cases on real backends:
 * test/integration/faults-native.test.ts, test/slow/faults-backends.test.ts (a VM boot, a runc workload)
 * and test/slow/fault-matrix.test.ts (every backend in one run: VM preparation, SIGHUP, SIGKILL).
 */
import { TEST_STATE_ROOT } from '../../helpers/state-root.js';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeEntry, type FakeRunResult, fakeRun, fakeScenario } from '../../helpers/fake-run.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'ib-fake-matrix-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(TEST_STATE_ROOT, { recursive: true, force: true });
});

/** One fake backend `c` beside the native baseline, with the given faults. */
const withFault = (name: string, faults: FakeEntry['faults'], over: Record<string, unknown> = {}) =>
  fakeScenario(name, [{ kind: 'fake', name: 'c', rate: 900, faults } as FakeEntry], over);

const cellOf = (r: FakeRunResult, backend: string, workload: string) =>
  r.results.cells.find((c) => c.backend === backend && c.workload === workload);

function nothingLeft(r: FakeRunResult): void {
  expect(r.live, r.stderr).toEqual([]);
  expect(r.stateLeft, r.stderr).toBe(false);
  expect(r.results.endedAt).not.toBe(null);
}

describe('a signal at each stage: exit 130 within seconds, partial results.json, nothing left', () => {
  const cases = [
    { stage: 'preparation', at: 'prepare', nth: 1, signal: 'SIGTERM' },
    { stage: 'boot', at: 'start', nth: 1, signal: 'SIGINT' },
    { stage: 'workload (an exec in a running instance)', at: 'exec', nth: 3, signal: 'SIGTERM' },
    // The startup workload starts fresh instances: the 3rd start of `c` is one of them, the run's own is the 1st.
    { stage: "a workload's extra instance booting", at: 'start', nth: 3, signal: 'SIGHUP' },
  ] as const;
  for (const c of cases) {
    it(`${c.signal} at ${c.stage}`, async () => {
      const id = `sig-${c.at}-${c.nth}`;
      const r = await fakeRun(work, withFault(id, [{ at: c.at, nth: c.nth, do: 'signal', signal: c.signal }]), id);
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain(`${c.signal}: stopping after cleanup`);
      expect(r.ms).toBeLessThan(5000);
      expect(r.results.status).toBe('partial');
      expect(r.results.statusReason).toMatch(new RegExp(`interrupted \\(${c.signal}\\)`));
      expect(r.results.backends.map((b) => b.kind).sort()).toEqual(['container', 'native']);
      // An interrupted repetition is not a failure of the workload.
      expect(r.results.cells.filter((x) => x.state === 'failed')).toEqual([]);
      nothingLeft(r);
    });
  }

  it('SIGINT while the report is written: the run stays complete, exit 130, the hint to render it', async () => {
    const id = 'sig-report';
    const scenario = fakeScenario(id, [{ kind: 'fake', name: 'c', rate: 900 }]);
    const r = await fakeRun(work, scenario, id, {
      report: true,
      onStderr: (text) => {
        if (text.startsWith(`run ${id}: complete`)) process.kill(process.pid, 'SIGINT');
      },
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.results.status).toBe('complete');
    expect(r.results.cells.every((x) => x.state === 'complete')).toBe(true);
    expect(r.stderr).toMatch(/render it with `isobench report sig-report`/);
    nothingLeft(r);
  });
});

describe('failures, hangs and deaths at each stage: the cell says where, the run goes on', () => {
  it('prepare fails: the backend is unavailable, its cells skipped with the reason, the baseline runs', async () => {
    const id = 'fail-prepare';
    const r = await fakeRun(work, withFault(id, [{ at: 'prepare', do: 'fail' }]), id);
    expect(r.code).toBe(1);
    expect(r.results.status).toBe('partial');
    for (const w of ['cpu', 'startup']) {
      const cell = cellOf(r, 'fake:c', w);
      expect(cell?.state, w).toBe('skipped');
      expect(cell?.state === 'skipped' && cell.reason).toMatch(/scripted fail at prepare/);
      expect(cellOf(r, 'fake:base', w)?.state).toBe('complete');
    }
    expect(r.results.warnings.some((w) => w.code === 'BACKEND_UNAVAILABLE' && w.backend === 'fake:c')).toBe(true);
    nothingLeft(r);
  });

  it('an instance fails to start: the cell fails at stage start, the next workload starts a fresh one', async () => {
    const id = 'fail-start';
    const r = await fakeRun(work, withFault(id, [{ at: 'start', do: 'fail' }]), id);
    expect(r.code).toBe(1);
    const cpu = cellOf(r, 'fake:c', 'cpu');
    expect(cpu?.state).toBe('failed');
    expect(cpu?.state === 'failed' && cpu.stage).toBe('start');
    expect(cellOf(r, 'fake:c', 'startup')?.state).toBe('complete');
    nothingLeft(r);
  });

  it('a boot that hangs is given up at bootSeconds: stage start, nothing left', async () => {
    const id = 'hang-start';
    const r = await fakeRun(work, withFault(id, [{ at: 'start', do: 'hang' }], { timeouts: { bootSeconds: 0.5 } }), id);
    expect(r.code).toBe(1);
    const cpu = cellOf(r, 'fake:c', 'cpu');
    expect(cpu?.state === 'failed' && cpu.error).toMatch(/not ready within/);
    expect(cellOf(r, 'fake:base', 'cpu')?.state).toBe('complete');
    nothingLeft(r);
  });

  it('an instance that dies while booting fails its cell at stage start', async () => {
    const id = 'kill-start';
    const r = await fakeRun(work, withFault(id, [{ at: 'start', do: 'kill' }]), id);
    const cpu = cellOf(r, 'fake:c', 'cpu');
    expect(cpu?.state === 'failed' && cpu.stage).toBe('start');
    expect(cpu?.state === 'failed' && cpu.error).toMatch(/died while starting/);
    nothingLeft(r);
  });

  it('a tool that exits non-zero fails its cell at stage exec, with the raw log', async () => {
    const id = 'fail-exec';
    const r = await fakeRun(work, withFault(id, [{ at: 'exec', nth: 2, do: 'fail' }]), id);
    expect(r.code).toBe(1);
    const cpu = cellOf(r, 'fake:c', 'cpu');
    expect(cpu?.state === 'failed' && cpu.stage).toBe('exec');
    expect(cpu?.state === 'failed' && cpu.rawLog).toMatch(/^raw\/fake_c\/cpu\//);
    expect(cellOf(r, 'fake:c', 'startup')?.state).toBe('complete');
    nothingLeft(r);
  });

  it('a workload that outlives workloadSeconds is cancelled: stage timeout, its instances stopped', async () => {
    const id = 'hang-workload';
    const r = await fakeRun(
      work,
      withFault(id, [{ at: 'exec', nth: 2, do: 'hang' }], { timeouts: { execSeconds: 60, workloadSeconds: 0.5 } }),
      id,
    );
    const cpu = cellOf(r, 'fake:c', 'cpu');
    expect(cpu?.state === 'failed' && cpu.error).toMatch(/did not finish within 0.5 s/);
    expect(cpu?.state === 'failed' && cpu.stage).toBe('timeout');
    expect(cellOf(r, 'fake:c', 'startup')?.state).toBe('complete');
    expect(r.ms).toBeLessThan(5000);
    nothingLeft(r);
  });

  it('an instance that dies mid-workload fails the cell at stage exec; the next workload gets a new one', async () => {
    const id = 'kill-exec';
    const r = await fakeRun(work, withFault(id, [{ at: 'exec', nth: 2, do: 'kill' }]), id);
    const cpu = cellOf(r, 'fake:c', 'cpu');
    expect(cpu?.state === 'failed' && cpu.error).toMatch(/exited 137/);
    expect(cellOf(r, 'fake:c', 'startup')?.state).toBe('complete');
    nothingLeft(r);
  });

  it('a stop that fails: inside a workload it fails that cell; at the end of the run it fails nothing', async () => {
    // The startup workload stops each instance it started: the first stop of `c` is one of those.
    const id = 'fail-stop';
    const r = await fakeRun(work, withFault(id, [{ at: 'stop', nth: 1, do: 'fail' }]), id);
    expect(r.code).toBe(1);
    const startup = cellOf(r, 'fake:c', 'startup');
    expect(startup?.state === 'failed' && startup.error).toMatch(/scripted fail at stop/);
    expect(cellOf(r, 'fake:c', 'cpu')?.state).toBe('complete');
    nothingLeft(r);
    // Only cpu: the first stop is the run's own instance at the end, after every measurement.
    const id2 = 'fail-stop-end';
    const end = await fakeRun(
      work,
      withFault(id2, [{ at: 'stop', nth: 1, do: 'fail' }], { workloads: { cpu: { seconds: 1, allVcpus: false } } }),
      id2,
    );
    expect(end.code, end.stderr).toBe(0);
    expect(end.results.status).toBe('complete');
    nothingLeft(end);
  });
});

describe('resume on the fake provider', () => {
  it('an interrupted run resumes: the values measured before the signal are kept, the rest is measured', async () => {
    const id = 'resume-1';
    // cpu with one warm-up and 2 repetitions is 4 execs per repetition (environment, sysbench, matrix,
    // syscall) on each backend: the 9th exec of `c` is in its 2nd measured repetition. The resumed attempt
    // counts its execs from 1 again and needs fewer than 9.
    const first = await fakeRun(work, withFault(id, [{ at: 'exec', nth: 9, do: 'signal', signal: 'SIGINT' }]), id);
    expect(first.code).toBe(130);
    expect(first.results.status).toBe('partial');
    const before = cellOf(first, 'fake:c', 'cpu')?.metrics.find((m) => m.metric === 'sysbench-events-1t')?.values ?? [];
    expect(before).toHaveLength(1);
    nothingLeft(first);

    const again = await fakeRun(work, undefined, id);
    expect(again.code, again.stderr).toBe(0);
    expect(again.results.status).toBe('complete');
    expect(again.results.startedAt).toBe(first.results.startedAt);
    const after = cellOf(again, 'fake:c', 'cpu')?.metrics.find((m) => m.metric === 'sysbench-events-1t')?.values ?? [];
    expect(after).toHaveLength(2);
    expect(after.slice(0, 1)).toEqual(before);
    nothingLeft(again);
  });

  it('a complete run is not resumed again (exit 2)', async () => {
    const id = 'resume-complete';
    const done = await fakeRun(work, fakeScenario(id, [{ kind: 'fake', name: 'c' }]), id);
    expect(done.code).toBe(0);
    const again = await fakeRun(work, undefined, id);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already complete; nothing to resume/);
  });
});

describe('adaptive repetitions on the fake provider', () => {
  const adaptive = { targetCiPct: 1, maxRepetitions: 5, maxMinutes: 1 };
  it('a figure whose planned pairs exceed maxRepetitions stops at the pilot: not decidable here, with the pairs it needs', async () => {
    // Rounds 20-30% apart: the pairs that would decide ±3% are far beyond 5 (src/stats/sequential.ts).
    const id = 'adaptive-noisy';
    const r = await fakeRun(
      work,
      fakeScenario(id, [{ kind: 'fake', name: 'c', rate: [800, 1100, 850, 1050] }], {
        warmup: 0,
        adaptive,
        workloads: { cpu: { seconds: 1, allVcpus: false }, startup: { starts: 1, repetitions: 2, warmup: 0 } },
      }),
      id,
    );
    expect(r.code, r.stderr).toBe(0);
    for (const b of ['fake:base', 'fake:c'])
      for (const m of cellOf(r, b, 'cpu')?.metrics ?? []) expect(m.repetitions, `${b} ${m.metric}`).toEqual([1, 2]);
    const nd = r.results.warnings.filter((w) => w.code.startsWith('NOT_DECIDABLE'));
    expect(nd.length, JSON.stringify(r.results.warnings)).toBeGreaterThan(0);
    expect(nd[0]?.message).toMatch(/needs about \d+ pairs/);
    // A workload with its own repetitions keeps its count.
    for (const m of cellOf(r, 'fake:c', 'startup')?.metrics ?? []) expect(m.repetitions).toEqual([1, 2]);
  });

  it('the time box counts from the first extra repetition: base repetitions past the box still get one', async () => {
    // The container alternates ±2% from round to round: a pilot of 3 plans 7 pairs, within maxRepetitions 8
    // (as in test/unit/runner/plan/index.test.ts). A repetition (3 probes, each on both backends) takes about
    // 0.35 s, so the 3 base repetitions take longer than the 0.005 min (0.3 s) box: the box starts with the first
    // extra repetition, which still runs; the box then stops the plan at 4.
    const id = 'adaptive-box';
    const r = await fakeRun(
      work,
      fakeScenario(id, [{ kind: 'fake', name: 'c', rate: [1020, 980], execMs: 100 }], {
        warmup: 0,
        repetitions: 3,
        adaptive: { targetCiPct: 3, maxRepetitions: 8, maxMinutes: 0.005 },
        workloads: { cpu: { seconds: 1, allVcpus: false }, startup: { starts: 1, repetitions: 2, warmup: 0 } },
      }),
      id,
    );
    expect(r.code, r.stderr).toBe(0);
    for (const b of ['fake:base', 'fake:c']) {
      for (const m of cellOf(r, b, 'cpu')?.metrics ?? [])
        expect(m.repetitions, `${b} ${m.metric}`).toEqual([1, 2, 3, 4]);
      for (const m of cellOf(r, b, 'startup')?.metrics ?? []) expect(m.repetitions).toEqual([1, 2]);
    }
    expect(r.results.warnings.map((w) => w.code)).toContain('ADAPTIVE_TIME_BOX');
  });

  it('stops at the base repetitions when every overhead is decided', async () => {
    const id = 'adaptive-steady';
    const r = await fakeRun(
      work,
      fakeScenario(id, [{ kind: 'fake', name: 'c', rate: 500 }], {
        warmup: 0,
        adaptive,
        workloads: { cpu: { seconds: 1, allVcpus: false } },
      }),
      id,
    );
    expect(r.code, r.stderr).toBe(0);
    for (const m of cellOf(r, 'fake:c', 'cpu')?.metrics ?? []) expect(m.repetitions).toEqual([1, 2]);
    const o = r.results.overheads.find((x) => x.backend === 'fake:c' && x.metric === 'sysbench-events-1t');
    expect(o?.verdict).not.toBe('inconclusive');
  });
});

it('the state root of these runs is empty at the end', () => {
  expect(readdirSync(TEST_STATE_ROOT).filter((d) => !d.startsWith('.'))).toEqual([]);
});
