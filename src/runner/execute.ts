/**
 * The executor of one run, its lock taken: it prepares the backends, builds
 * the plan (plan/index.ts) from what was prepared and what an earlier attempt
 * measured, runs each planned measurement, records it, and asks the plan
 * whether a workload wants more repetitions. The run starts as "partial" and
 * becomes "complete" only at its end (PerfKitBenchmarker's discipline);
 * teardown happens in `finish`, also on signals.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IsobenchError, errorMessage } from '../errors.js';
import type { HostFacts } from '../host/facts.js';
import type { CapabilityId } from '../host/capabilities.js';
import { toolVersions } from '../ops/versions.js';
import { collectHostInfo } from '../host/info.js';
import { resolveBackend, type Scenario } from '../scenario/schema.js';
import { CleanupRegistry } from '../core/cleanup.js';
import type { RunState } from '../core/state.js';
import { removeEmptyParents } from '../host/cgroup.js';
import { makeHostSettingGuard, setHostSettingGuard } from '../host/settings.js';
import { getWorkload } from '../workloads/registry.js';
import '../workloads/index.js';
import {
  ParseError,
  probesOf,
  type MetricValue,
  type Probe,
  type Workload,
  type WorkloadContext,
} from '../workloads/types.js';
import type { RunResults } from '../results/types.js';
import { writeResults } from '../results/io.js';
import { isAbortError } from '../util/proc.js';
import { acquireRun } from './resume.js';
import { RunControl } from './control.js';
import { Progress } from './progress.js';
import { preflight } from './preflight.js';
import { netSoftirqDelta, readSoftirqs } from './placement.js';
import { RunSession, hostWarnings, shortIdOf, type DeriveResults, type LiveBackend } from './session.js';
import { prepareRun, type Prepared } from './prepare.js';
import { runOneRepetition } from './repetition.js';
import { runRepetition, type ProbeOutcome } from './rounds.js';
import { makePlan, nextRound, scenarioWorkloads, workloadPlan, type Measurement, type RunPlan } from './plan/index.js';
import { cellOf, recordExtras, recordValues, type Cells } from './plan/cells.js';
import { carriedCells } from './plan/resume.js';
import { checkExtra } from '../workloads/extras/common.js';

export interface RunOptions {
  /** The scenario; a resume without it uses the scenario the run recorded. */
  scenarioFile?: string;
  /** Keep only these backends: kinds (native, container, vm) or keys (container:runsc). */
  backends?: string[];
  runId?: string;
  resume?: string;
  resultsRoot: string;
  /** Private temp root for instance state (bundles, disk images, sockets). */
  workRoot?: string;
  quiet?: boolean;
  /** Aborting stops the run: instances are stopped, the partial result is kept. */
  signal?: AbortSignal;
  /** The caller's handle for a forced exit (second Ctrl-C); see control.ts. */
  control?: RunControl;
  /** Host capabilities to treat as absent for this run (host/capabilities.ts), to run the fallbacks for real. */
  maskCapabilities?: CapabilityId[];
  /** Statistics and the worded headline stored in results.json (the CLI passes the report's); see session.ts. */
  derive?: DeriveResults;
}

export interface RunOutcome {
  runDir: string;
  results: RunResults;
  exitCode: number;
}

export interface LockedRun {
  host: HostFacts;
  scenario: Scenario;
  runId: string;
  runDir: string;
  previous?: RunResults;
  runState?: RunState;
}

export async function executeRun(opts: RunOptions & { scenarioFile: string }, given: LockedRun): Promise<RunOutcome> {
  const { host, scenario, runId, runDir, previous } = given;
  let entries = scenario.backends.map(resolveBackend);
  if (opts.backends && opts.backends.length > 0) {
    const want = opts.backends;
    for (const w of want)
      if (!/^[a-z]+(:[a-z0-9]+)?$/.test(w))
        throw new IsobenchError(
          'BAD_ARGS',
          `--backends: "${w}" is not a backend; use native, container, vm or e.g. container:runsc`,
        );
    entries = entries.filter((e) => want.some((w) => w === e.kind || w === e.key));
    if (entries.length === 0) {
      const have = scenario.backends.map((b) => (typeof b === 'string' ? b : b.kind)).join(', ');
      throw new IsobenchError(
        'BAD_ARGS',
        `--backends ${want.join(',')} matches none of the scenario's backends (${have})`,
      );
    }
  }
  const workloads = new Map<string, Workload>(
    scenarioWorkloads(scenario).map((k) => {
      const w = getWorkload(k);
      if (!w) throw new IsobenchError('BAD_SCENARIO', `${opts.scenarioFile}: workloads.${k}: unknown workload`);
      return [k, w];
    }),
  );

  const workRoot = opts.workRoot ?? os.tmpdir();
  preflight({ scenario, host, backends: entries, resultsRoot: opts.resultsRoot, workRoot, file: opts.scenarioFile });

  if (!opts.resume) {
    try {
      await fs.mkdir(opts.resultsRoot, { recursive: true });
      await fs.mkdir(runDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new IsobenchError(
          'BAD_ARGS',
          `run ${runId} already exists in ${opts.resultsRoot}; pick another --run-id or --resume it`,
        );
      throw e;
    }
  }
  await fs.mkdir(path.join(runDir, 'raw'), { recursive: true });

  const shortId = shortIdOf(runId);
  // The run's state file (owner pid and start time, claimed names, host settings' originals) exists before any
  // resource.
  const runState = given.runState ?? (await acquireRun(runId, shortId, host.cgroup));
  const control = opts.control ?? new RunControl();
  const cleanup = new CleanupRegistry({
    added: (label) => void runState.recordResource(label).catch(() => undefined),
    released: (label) => void runState.forgetResource(label).catch(() => undefined),
  });
  control.attachCleanup(cleanup);
  setHostSettingGuard(makeHostSettingGuard(runState, cleanup));
  const progress = new Progress(opts.quiet);
  // Carry over what a previous attempt measured (plan/resume.ts decides what).
  const cells: Cells = previous ? carriedCells(previous) : new Map();
  const session = new RunSession({
    host,
    scenario,
    scenarioFile: opts.scenarioFile,
    runId,
    runDir,
    shortId,
    runState,
    cleanup,
    progress,
    cells,
    workloads: [...workloads.keys()].map((w) => workloadPlan(scenario, w)),
    warnings: [],
    ...(previous ? { previous } : {}),
    ...(opts.derive ? { derive: opts.derive } : {}),
  });
  const runDeadline = Date.now() + scenario.timeouts.runMinutes * 60_000;

  const onAbort = (): void => {
    session.aborted = true;
    session.statusReason = `interrupted (${String(opts.signal?.reason ?? 'signal')})`;
    progress.note(`interrupted: stopping instances and keeping what was measured`);
    // Stopping the instances ends any exec in flight (a frozen one is thawed first: it could not die).
    void session.freezer.thawAll().finally(() => {
      for (const b of session.live) {
        for (const i of [b.instance, ...b.extras]) void i?.stop().catch(() => undefined);
      }
    });
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let exitCode = 0;
  let finalResults: RunResults | undefined;
  /**
   * The end of every run, once: stop instances, release in the registry's
   * order, write the final results.json, drop empty cgroup parents and the
   * run's lock. A forced exit (second Ctrl-C) calls it too, or joins the call
   * under way, so order and the final write hold even then.
   */
  let finishing: Promise<void> | undefined;
  const finish = (forced?: string): Promise<void> =>
    (finishing ??= (async () => {
      if (forced) session.interrupt(`interrupted (${forced}, forced)`);
      // A frozen instance cannot die: thaw every idle instance before stopping it.
      await session.freezer.thawAll().catch(() => undefined);
      const stops = session.live
        .flatMap((lb) => [...lb.extras, lb.instance])
        .map((i) => i?.stop().catch(() => undefined));
      // A forced exit does not wait long for a stop that hangs: the registry kills what is left.
      await (forced
        ? Promise.race([Promise.all(stops), new Promise((r) => setTimeout(r, 5000).unref())])
        : Promise.all(stops));
      const failures = await cleanup.releaseAll();
      control.attachCleanup(undefined);
      setHostSettingGuard(undefined);
      await removeEmptyParents().catch(() => undefined);
      // Complete only when nothing went wrong; failed only when a run error left nothing measured.
      const { statusReason, aborted } = session;
      const status: RunResults['status'] =
        !statusReason && !aborted
          ? 'complete'
          : statusReason?.startsWith('run failed') && !session.anyMeasured()
            ? 'failed'
            : 'partial';
      finalResults = session.snapshot(status, new Date().toISOString());
      if (failures.length > 0) {
        finalResults.cleanupFailed = {
          leftovers: failures.map((f) => `${f.label}: ${f.error}`),
          hint: 'run `isobench doctor --cleanup` to remove isobench leftovers (names start with isobench-)',
        };
        exitCode = exitCode || 1;
      }
      await writeResults(runDir, finalResults);
      // The lock and state go only when nothing is left to restore; otherwise `doctor --cleanup` finds them once
      // this process is gone.
      if (failures.length === 0 && runState.hostSettings().length === 0) await runState.release();
      control.attachFinish(undefined);
    })());
  control.attachFinish((reason) => finish(reason));

  try {
    // Inside the try: a failure here still releases the lock and writes a results.json saying why.
    session.toolVersions = await toolVersions();
    session.hostInfo = await collectHostInfo(host);
    session.warnings.push(...hostWarnings(host));
    await session.save();
    const prepared = await prepareRun(session, {
      entries,
      needsNet: [...workloads.values()].some((w) => w.needsNetwork),
      workRoot,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    // Results of a resumed run are keyed by the prepared labels: the plan is made once they are known.
    const plan = makePlan({
      scenario,
      workloads: [...workloads.keys()],
      backends: session.live.map((lb) => ({
        label: lb.label,
        ...(lb.info.kind === 'native' ? { baseline: true } : {}),
        ...(lb.failed ? { unavailable: lb.failed } : {}),
      })),
      ...(previous ? { previous: cells } : {}),
    });
    await measureAll(session, prepared, plan, workloads, {
      runDeadline,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    progress.stop();
    const anyFailed = [...cells.values()].some((c) => c.failure || c.skipped);
    if (session.aborted) {
      session.statusReason ??= 'interrupted';
      exitCode = 1;
    } else if (anyFailed) {
      session.statusReason = 'some backend x workload cells failed or were skipped (see cells[].state and warnings)';
      exitCode = 1;
    }
  } catch (e) {
    progress.stop();
    if (session.aborted || isAbortError(e)) {
      // Interrupted before or between measurements (image build, preparation, a boot): not a failure of the run.
      session.interrupt(`interrupted (${String(opts.signal?.reason ?? 'signal')})`);
      exitCode = 1;
    } else {
      session.statusReason = `run failed: ${errorMessage(e)}`;
      exitCode = e instanceof IsobenchError ? e.exitCode : 1;
      if (!(e instanceof IsobenchError))
        session.warnings.push({ code: 'UNEXPECTED', message: (e as Error).stack ?? String(e) });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await finish();
  }
  return { runDir, results: finalResults ?? session.snapshot('partial', new Date().toISOString()), exitCode };
}

/**
 * Run the plan: each workload's repetitions as rounds per probe, then adaptive repetitions while the plan asks for
 * them.
 */
async function measureAll(
  session: RunSession,
  prepared: Prepared,
  plan: RunPlan,
  workloads: ReadonlyMap<string, Workload>,
  o: { runDeadline: number; signal?: AbortSignal },
): Promise<void> {
  const { scenario, progress } = session.s;
  let total = plan.measurements.length;
  progress.start(total);
  const shape = { vcpus: scenario.instance.vcpus, memoryMiB: scenario.instance.memoryMiB };
  for (const wp of plan.workloads) {
    const workload = workloads.get(wp.workload);
    if (!workload) throw new Error(`plan names workload ${wp.workload}, which the run did not resolve`);
    const probes = chosenProbes(probesOf(workload, wp.params, shape), wp.probes);
    // The workload's setup (environment check) runs once per backend, before its first measured probe.
    const needSetup = new Set(session.live.map((l) => l.label));
    session.duty.begin(wp.workload);
    // adaptive.maxMinutes boxes the extra repetitions only: it starts when the base ones are done.
    let adaptiveBegan: number | undefined;
    for (let rep = 1 - wp.warmup; rep <= wp.maxRepetitions; rep++) {
      if (session.aborted) break;
      if (Date.now() > o.runDeadline) {
        session.statusReason = `run time limit of ${scenario.timeouts.runMinutes} min reached`;
        session.aborted = true;
        break;
      }
      let measurements: Measurement[];
      let roundProbes = probes;
      if (rep > wp.repetitions) {
        adaptiveBegan ??= Date.now();
        // THE single call site of the adaptive rule (plan/adaptive.ts: in h-stats' branch the pilot look, the
        // planned pairs from the paired spread and the final look, src/stats/sequential.ts); figures are paired.
        const next = nextRound(plan, wp, rep, Date.now() - adaptiveBegan, () => {
          const current = session.snapshot('partial', null);
          return [...current.overheads, ...current.differences];
        });
        if (!next.more || !next.round) {
          if (!next.more && next.warning) session.warnings.push(next.warning);
          break;
        }
        const shown = `${next.open.slice(0, 3).join(', ')}${next.open.length > 3 ? ', ...' : ''}`;
        progress.note(`${wp.workload}: repetition ${rep} for ${next.open.length} undecided figure(s) (${shown})`);
        total += next.round.length;
        progress.setTotal(total);
        measurements = next.round;
        roundProbes = probesFor(probes, next.metrics);
      } else {
        measurements = plan.measurements.filter((m) => m.workload === wp.workload && m.rep === rep);
      }
      await measureRepetition(
        session,
        prepared,
        workload,
        wp.params,
        roundProbes,
        rep,
        measurements,
        needSetup,
        o.signal,
      );
    }
    session.duty.end(wp.workload);
    if (session.aborted) break;
  }
}

/** The probes a scenario chose for a workload (the loader checked the names), all of them when it chose none. */
function chosenProbes<P>(all: Array<Probe<P>>, chosen: readonly string[] | undefined): Array<Probe<P>> {
  return chosen ? all.filter((p) => chosen.includes(p.name)) : all;
}

/**
 * An adaptive round runs only the probes that measure an undecided figure: a decided sysbench figure does
 * not wait for a second undecided stress-ng one. A figure no probe declares (derived) keeps every probe.
 */
function probesFor<P>(probes: Array<Probe<P>>, metrics: readonly string[]): Array<Probe<P>> {
  const some = probes.filter((p) => p.metrics.some((m) => metrics.includes(m)));
  return some.length && metrics.every((m) => probes.some((p) => p.metrics.includes(m))) ? some : probes;
}

/**
 * One repetition of a workload: the measurements the plan does not run (skipped,
 * carried, warmed, or of a cell that failed earlier) are ticked off, the others
 * run as rounds per probe (rounds.ts), and each backend's values are recorded
 * once the repetition is over, with their rounds and spans.
 */
async function measureRepetition(
  session: RunSession,
  prepared: Prepared,
  workload: Workload,
  params: unknown,
  probes: ReadonlyArray<Probe<unknown>>,
  rep: number,
  measurements: readonly Measurement[],
  needSetup: Set<string>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { progress, scenario, runDir, cells } = session.s;
  const duty = session.duty;
  const runnable: Measurement[] = [];
  for (const m of measurements) {
    const cell = cellOf(cells, m.backend, workload.name);
    if (m.action.kind === 'skip') {
      progress.step(`${m.backend} ${workload.name} ${m.text}`);
      cell.skipped = m.action.reason;
      progress.tick();
    } else if (cell.failure || m.action.kind !== 'run') {
      // A cell that failed earlier in this run is not measured again; carried and warmed ones were done by an
      // earlier attempt.
      progress.tick();
    } else runnable.push(m);
  }
  if (runnable.length === 0) return;
  const env = {
    ensureInstance: prepared.ensureInstance,
    baseSpec: prepared.baseSpec,
    net: prepared.net,
    runDir,
    scenario,
    progress,
    runSignal: signal,
    capabilities: session.s.host.capabilities,
  };
  const liveOf = (m: Measurement): LiveBackend => {
    const lb = session.live.find((l) => l.label === m.backend);
    if (!lb) throw new Error(`plan names backend ${m.backend}, which the run did not prepare`);
    return lb;
  };
  const run = async (m: Measurement, probe: Probe<unknown>, _round: string, setup: boolean): Promise<ProbeOutcome> => {
    const lb = liveOf(m);
    const cell = cellOf(cells, lb.label, workload.name);
    progress.step(`${lb.label} ${workload.name} ${m.text}${probes.length > 1 ? ` ${probe.name}` : ''}`);
    const extras: Array<{ name: string; data: unknown }> = [];
    const spans = new Map<string, readonly [number, number]>();
    await duty.harness(workload.name, 'isolate', () => prepared.isolate(lb));
    let t0 = Date.now();
    try {
      // The instance is started (or restarted after a failure) outside the probe's span.
      if (!lb.instance) {
        await duty
          .harness(workload.name, 'start', () => prepared.ensureInstance(lb))
          .catch((e: unknown) => {
            throw isAbortError(e)
              ? e
              : Object.assign(e instanceof Error ? e : new Error(String(e)), { stage: 'start' });
          });
      }
      const irq0 = workload.needsNetwork
        ? await duty.harness(workload.name, 'softirqs', () => readSoftirqs())
        : undefined;
      t0 = Date.now();
      const body = async (ctx: WorkloadContext<unknown>): Promise<MetricValue[]> => {
        if (setup) await workload.setup?.(ctx);
        return probe.run(ctx);
      };
      const values = await runOneRepetition(
        lb,
        workload,
        params,
        rep,
        { ...env, onSpan: (log, a, b) => spans.set(log, [a, b]) },
        (name, data) => extras.push({ name, data: checkExtra(workload, name, data) }),
        body,
      );
      const t1 = Date.now();
      if (rep <= 0) duty.warmup(workload.name, t1 - t0);
      if (irq0) {
        const irq1 = await duty.harness(workload.name, 'softirqs', () => readSoftirqs());
        extras.push({ name: 'netSoftirqs', data: checkExtra(workload, 'netSoftirqs', netSoftirqDelta(irq0, irq1)) });
      }
      return { ok: true, result: { values, spans, startMs: t0, endMs: t1, extras } };
    } catch (e) {
      // An interrupted repetition is not a failure of the workload.
      if (session.aborted) return { ok: false, aborted: true, extras: [] };
      const err = e as Error & { rawLog?: string };
      cell.failure = {
        stage: e instanceof ParseError ? 'parse' : ((err as { stage?: string }).stage ?? 'run'),
        error: errorMessage(e),
        ...(err.rawLog ? { rawLog: err.rawLog } : {}),
      };
      const probeName = probes.length > 1 ? ` ${probe.name}` : '';
      progress.note(`${lb.label} ${workload.name}${probeName}: failed: ${errorMessage(e).split('\n')[0]}`);
      // A hung or broken instance must not poison the next probe or workload: start a fresh one.
      if (lb.instance) {
        await lb.instance.stop().catch(() => undefined);
        lb.instance = undefined;
      }
      return { ok: false, aborted: false, extras };
    } finally {
      for (const x of lb.extras.splice(0)) await x.stop().catch(() => undefined);
    }
  };
  const res = await runRepetition(
    workload,
    probes,
    rep,
    runnable,
    { interleaved: session.s.scenario.order === 'interleaved', needSetup },
    { aborted: () => session.aborted, run },
  );
  duty.rounds(workload.name, res.rounds);
  for (const b of res.byBackend.values()) {
    const cell = cellOf(cells, b.measurement.backend, workload.name);
    if (res.aborted && !b.failed) continue; // an interrupted repetition is not recorded: resume runs it again
    if (rep > 0) {
      // What a failed repetition recorded (e.g. where a sweep stopped) is kept; its values are not.
      recordExtras(cell, mergeSoftirqs(b.extras), rep);
      if (!b.failed && !cell.failure) {
        if (b.values.length === 0) {
          cell.failure = {
            stage: 'run',
            error: `${workload.name}: repetition ${rep} measured no value (every probe failed; cells[].extra says why)`,
          };
        } else {
          recordValues(cell, workload, b.values, rep);
          duty.measured(workload.name, b.spans);
        }
      }
    }
    progress.tick();
  }
  await duty.harness(workload.name, 'save', () => session.save());
}

/** One repetition's netSoftirqs deltas (one per probe) summed into one per repetition, as before rounds per probe. */
function mergeSoftirqs(extras: Array<{ name: string; data: unknown }>): Array<{ name: string; data: unknown }> {
  const irqs = extras
    .filter((x) => x.name === 'netSoftirqs')
    .map((x) => x.data as { netRxPerCpu: number[]; netTxPerCpu: number[] });
  if (irqs.length <= 1) return extras;
  const add = (k: 'netRxPerCpu' | 'netTxPerCpu'): number[] =>
    irqs.reduce<number[]>((acc, d) => d[k].map((v, i) => v + (acc[i] ?? 0)), []);
  return [
    ...extras.filter((x) => x.name !== 'netSoftirqs'),
    { name: 'netSoftirqs', data: { netRxPerCpu: add('netRxPerCpu'), netTxPerCpu: add('netTxPerCpu') } },
  ];
}
