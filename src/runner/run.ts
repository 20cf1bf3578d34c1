/**
 * Orchestration of one run: scenario -> backends -> instances -> workloads x
 * repetitions -> results. The shape follows PerfKitBenchmarker's discipline:
 * the run starts as "partial" and becomes "complete" only on its last line,
 * results are rewritten after every measured cell (hyperfine's habit), and
 * teardown happens in `finally`, also on signals.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { IsobenchError, errorMessage } from '../errors.js';
import { hostFacts, type HostFacts } from '../host/facts.js';
import { toolVersions } from '../host/versions.js';
import { collectHostInfo } from '../host/info.js';
import { loadScenario } from '../scenario/loader.js';
import { resolveBackend, splitWorkloadEntry, type ResolvedBackend, type Scenario } from '../scenario/schema.js';
import { CleanupRegistry } from '../core/cleanup.js';
import { Progress } from './progress.js';
import { preflight } from './preflight.js';
import { startInstance } from './lifecycle.js';
import { createBackend } from './backends.js';
import { getProvider } from '../backends/providers/index.js';
import { BenchNet } from '../net/bench.js';
import { removeEmptyParents } from '../host/cgroup.js';
import { makeHostSettingGuard, setHostSettingGuard } from '../host/settings.js';
import type { RunState } from '../core/state.js';
import { acquireRun, carriedCellProblems, resumeScenario } from './resume.js';
import type { Backend, BackendContext, ExecResult, Instance, InstanceSpec } from '../backends/types.js';
import { getWorkload } from '../workloads/registry.js';
import '../workloads/index.js';
import type { MetricDecl, MetricValue, StartedInstance, Workload, WorkloadContext } from '../workloads/types.js';
import { ParseError } from '../workloads/types.js';
import { SCHEMA_VERSION, type BackendResult, type Cell, type MetricResult, type RunResults, type Warning } from '../results/types.js';
import { assertRunId, loadResults, resolveRunDir, writeResults } from '../results/io.js';
import { summarize } from '../stats/index.js';
import { computeComparisons } from '../stats/comparisons.js';
import { adaptiveUndecided } from './adaptive.js';
import type { WorkloadImage } from '../images/rootfs.js';
import { Freezer, cpusAllowed, netSoftirqDelta, pinProcess, planCpus, readSoftirqs } from './placement.js';
import { deriveFromCells } from '../results/derive.js';
import { dropHostCaches } from '../host/caches.js';
import { abortError, abortable, isAbortError, sleep, throwIfAborted } from '../util/proc.js';

export const TOOL_VERSION = '0.1.0';

/** The registry of the run in progress, so a second Ctrl-C can still release what it holds. */
export let activeCleanup: CleanupRegistry | undefined;

/**
 * The run in progress, for a forced exit (second Ctrl-C): `finish` releases
 * in the registry's order (joining a release under way), writes the partial
 * results.json and drops the run's lock. Resolves once all that is done.
 */
export let activeRun: { runDir: string; finish: (reason: string) => Promise<void> } | undefined;

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
}

export interface RunOutcome {
  runDir: string;
  results: RunResults;
  exitCode: number;
}

interface CellData {
  backend: string;
  workload: string;
  metrics: Map<string, MetricResult>;
  failure?: { stage: string; error: string; rawLog?: string };
  skipped?: string;
  extra?: Record<string, unknown>;
}

interface LiveBackend {
  entry: ResolvedBackend;
  backend: Backend;
  label: string;
  info: BackendResult;
  instance?: Instance;
  spec?: InstanceSpec;
  /** Extra instances started by workloads, stopped after each repetition. */
  extras: Instance[];
  failed?: string;
  nameCounter: number;
}

export function makeRunId(scenarioName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${scenarioName}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export function shortIdOf(runId: string): string {
  return createHash('sha256').update(runId).digest('hex').slice(0, 6);
}

function pickCpus(s: Scenario, host: HostFacts): number[] {
  // The last `vcpus` CPUs ("auto"): the rest stay for the harness and the traffic peers.
  return planCpus(s.instance, host.cpus).instanceCpus;
}

function labelSlug(label: string): string {
  return label.replace(/^container:/, 'c').replace(/^vm:/, 'v').replace(/^native$/, 'n').replace(/[^a-z0-9]/g, '').slice(0, 8);
}

function cellKey(backend: string, workload: string): string {
  return `${backend}\u0000${workload}`;
}

function safeFile(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

export async function runScenario(opts: RunOptions): Promise<RunOutcome> {
  const host = await hostFacts();
  // Resume: lock the run first, then trust only what the lock protects.
  let previous: RunResults | undefined;
  let runId: string;
  let runDir: string;
  let scenario: Scenario;
  let scenarioFile: string;
  let runState: RunState | undefined;
  if (opts.resume) {
    runDir = resolveRunDir(opts.resume, opts.resultsRoot);
    runId = assertRunId((await loadResults(runDir)).runId, `${path.join(runDir, 'results.json')}: runId`);
    runState = await acquireRun(runId, shortIdOf(runId), host.cgroup, (t) => process.stderr.write(`${t}\n`));
    try {
      previous = await loadResults(runDir);
      if (previous.runId !== runId) throw new IsobenchError('BAD_RESULTS', `${runDir}: results.json changed its runId while the lock was taken`);
      if (previous.status === 'complete') throw new IsobenchError('BAD_ARGS', `run ${runId} is already complete; nothing to resume`);
      scenario = await resumeScenario(previous, runDir, opts.scenarioFile);
      const bad = carriedCellProblems(previous, scenario);
      if (bad.length) throw new IsobenchError('BAD_RESULTS', `${path.join(runDir, 'results.json')}: ${bad.length} carried-over cell problem(s); the run cannot be resumed`, { details: bad.slice(0, 20).map((b) => `  ${b}`) });
      scenarioFile = opts.scenarioFile ?? previous.scenarioFile;
    } catch (e) {
      await runState.release().catch(() => undefined);
      throw e;
    }
  } else {
    if (opts.scenarioFile === undefined) throw new IsobenchError('BAD_ARGS', 'run: a scenario file is required (or --resume <run-id>)');
    scenarioFile = opts.scenarioFile;
    scenario = (await loadScenario(scenarioFile)).scenario;
    runId = opts.runId ?? makeRunId(scenario.name);
    assertRunId(runId, '--run-id');
    runDir = path.join(opts.resultsRoot, runId);
  }
  try {
    return await runLocked({ ...opts, scenarioFile }, { host, scenario, runId, runDir, ...(previous ? { previous } : {}), ...(runState ? { runState } : {}) });
  } catch (e) {
    await runState?.release().catch(() => undefined);
    throw e;
  }
}

async function runLocked(
  opts: RunOptions & { scenarioFile: string },
  given: { host: HostFacts; scenario: Scenario; runId: string; runDir: string; previous?: RunResults; runState?: RunState },
): Promise<RunOutcome> {
  const { host, scenario, runId, runDir, previous } = given;
  let entries = scenario.backends.map(resolveBackend);
  if (opts.backends && opts.backends.length > 0) {
    const want = opts.backends;
    for (const w of want)
      if (!/^[a-z]+(:[a-z0-9]+)?$/.test(w))
        throw new IsobenchError('BAD_ARGS', `--backends: "${w}" is not a backend; use native, container, vm or e.g. container:runsc`);
    entries = entries.filter((e) => want.some((w) => w === e.kind || w === keyOf(e)));
    if (entries.length === 0)
      throw new IsobenchError('BAD_ARGS', `--backends ${want.join(',')} matches none of the scenario's backends (${scenario.backends.map((b) => (typeof b === 'string' ? b : b.kind)).join(', ')})`);
  }
  const workloads: Workload[] = Object.keys(scenario.workloads)
    .filter((k) => (scenario.workloads as Record<string, unknown>)[k] !== undefined)
    .map((k) => {
      const w = getWorkload(k);
      if (!w) throw new IsobenchError('BAD_SCENARIO', `${opts.scenarioFile}: workloads.${k}: unknown workload`);
      return w;
    });

  const workRoot = opts.workRoot ?? os.tmpdir();
  preflight({ scenario, host, backends: entries, resultsRoot: opts.resultsRoot, workRoot, file: opts.scenarioFile });

  if (!opts.resume) {
    try {
      await fs.mkdir(opts.resultsRoot, { recursive: true });
      await fs.mkdir(runDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new IsobenchError('BAD_ARGS', `run ${runId} already exists in ${opts.resultsRoot}; pick another --run-id or --resume it`);
      throw e;
    }
  }
  await fs.mkdir(path.join(runDir, 'raw'), { recursive: true });

  const shortId = shortIdOf(runId);
  // The run's state file (owner pid and start time, claimed names, host settings' originals) exists before any resource.
  const runState = given.runState ?? (await acquireRun(runId, shortId, host.cgroup));
  given.runState = runState; // the caller releases it if anything below throws before the run's own end
  const cleanup = new CleanupRegistry({
    added: (label) => void runState.recordResource(label).catch(() => undefined),
    released: (label) => void runState.forgetResource(label).catch(() => undefined),
  });
  activeCleanup = cleanup;
  setHostSettingGuard(makeHostSettingGuard(runState, cleanup));
  const progress = new Progress(opts.quiet);
  const warnings: Warning[] = [];
  const startedAt = previous?.startedAt ?? new Date().toISOString();
  const runDeadline = Date.now() + scenario.timeouts.runMinutes * 60_000;
  const cells = new Map<string, CellData>();
  const live: LiveBackend[] = [];
  // Idle instances of the backends not being measured are frozen (placement.ts).
  const freezer = new Freezer();
  let placement: RunResults['placement'];
  let aborted = false;
  let statusReason: string | undefined;
  let image: WorkloadImage | undefined;

  const onAbort = (): void => {
    aborted = true;
    statusReason = `interrupted (${String(opts.signal?.reason ?? 'signal')})`;
    progress.note(`interrupted: stopping instances and keeping what was measured`);
    // Stopping the instances ends any exec in flight (a frozen one is thawed first: it could not die).
    void freezer.thawAll().finally(() => {
      for (const b of live) {
        for (const i of [b.instance, ...b.extras]) void i?.stop().catch(() => undefined);
      }
    });
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  // Carry over what a previous attempt measured.
  if (previous) {
    for (const c of previous.cells) {
      if (c.state === 'complete' || c.state === 'partial' || c.state === 'failed') {
        const data: CellData = { backend: c.backend, workload: c.workload, metrics: new Map() };
        for (const m of c.metrics) if (m.values.length) data.metrics.set(m.metric, { ...m, summary: null });
        if (c.extra) data.extra = c.extra;
        cells.set(cellKey(c.backend, c.workload), data);
      }
    }
  }

  const toolVers = await toolVersions();
  const hostInfo = await collectHostInfo(host);
  if (host.loadAvg[0] > 0.5 * host.cpus)
    warnings.push({ code: 'HOST_BUSY', message: `host load average ${host.loadAvg[0].toFixed(2)} at start on ${host.cpus} CPUs: other load skews results` });
  if (host.thp.enabled === 'always') warnings.push({ code: 'THP_ALWAYS', message: 'transparent huge pages are "always": memory figures depend on THP availability' });
  if (host.cpuGovernor && host.cpuGovernor !== 'performance')
    warnings.push({ code: 'CPU_GOVERNOR', message: `CPU frequency governor is "${host.cpuGovernor}", not "performance": frequency scaling adds variance` });
  if (host.ksm.run === 1) warnings.push({ code: 'KSM_ON', message: 'KSM is running: identical pages of VMs are merged, lowering their memory figures' });
  if (host.virtualized) warnings.push({ code: 'NESTED', message: 'this host is itself a virtual machine: native figures include its hypervisor' });

  const snapshot = (status: RunResults['status'], endedAt: string | null): RunResults => {
    const cellList: Cell[] = [];
    for (const c of cells.values()) {
      const metrics = [...c.metrics.values()].map((m) => ({ ...m, summary: summarize(m.values) }));
      const base = { backend: c.backend, workload: c.workload, ...(c.extra ? { extra: c.extra } : {}) };
      if (c.skipped) cellList.push({ ...base, state: 'skipped', reason: c.skipped, metrics });
      else if (c.failure) cellList.push({ ...base, state: 'failed', stage: c.failure.stage, error: c.failure.error, ...(c.failure.rawLog ? { rawLog: c.failure.rawLog } : {}), metrics });
      else if (status !== 'complete' && !isCellComplete(c)) cellList.push({ ...base, state: 'partial', reason: statusReason ?? 'not all repetitions measured yet', metrics });
      else cellList.push({ ...base, state: 'complete', metrics });
    }
    const derived = deriveFromCells(cellList, live.map((b) => b.info), scenario);
    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'isobench', version: TOOL_VERSION },
      runId,
      status,
      ...(statusReason ? { statusReason } : {}),
      startedAt,
      endedAt,
      scenarioFile: path.relative(process.cwd(), opts.scenarioFile) || opts.scenarioFile,
      scenario,
      host: hostInfo,
      toolVersions: toolVers,
      rootfsHash: image?.hash ?? previous?.rootfsHash ?? null,
      backends: live.map((b) => b.info),
      order:
        scenario.order === 'interleaved'
          ? 'interleaved: for each workload and repetition, every backend in turn, the starting backend rotating each repetition (ABC, BCA, CAB)'
          : 'sequential: all repetitions of one backend, then the next',
      cells: derived.cells,
      overheads: derived.overheads,
      differences: derived.differences,
      headline: derived.headline,
      ...(placement ? { placement } : {}),
      warnings: [...warnings, ...noiseWarnings(cellList), ...derived.warnings],
    };
  };

  const plans = new Map(workloads.map((w) => [w.name, splitWorkloadEntry((scenario.workloads as Record<string, unknown>)[w.name], scenario)]));
  const isCellComplete = (c: CellData): boolean => {
    const reps = repsDone(c);
    return reps.size >= (plans.get(c.workload as Workload['name'])?.repetitions ?? scenario.repetitions);
  };

  const save = async (status: RunResults['status'] = 'partial', endedAt: string | null = null): Promise<RunResults> => {
    const r = snapshot(status, endedAt);
    await writeResults(runDir, r);
    return r;
  };

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
      if (forced) {
        aborted = true;
        statusReason ??= `interrupted (${forced}, forced)`;
      }
      // A frozen instance cannot die: thaw every idle instance before stopping it.
      await freezer.thawAll().catch(() => undefined);
      const stops = live.flatMap((lb) => [...lb.extras, lb.instance]).map((i) => i?.stop().catch(() => undefined));
      // A forced exit does not wait long for a stop that hangs: the registry kills what is left.
      await (forced ? Promise.race([Promise.all(stops), new Promise((r) => setTimeout(r, 5000).unref())]) : Promise.all(stops));
      const failures = await cleanup.releaseAll();
      activeCleanup = undefined;
      setHostSettingGuard(undefined);
      await removeEmptyParents().catch(() => undefined);
      // Complete only when nothing went wrong; failed only when a run error left nothing measured.
      const anyMeasured = [...cells.values()].some((c) => [...c.metrics.values()].some((m) => m.values.length > 0));
      const status: RunResults['status'] =
        !statusReason && !aborted ? 'complete' : statusReason?.startsWith('run failed') && !anyMeasured ? 'failed' : 'partial';
      finalResults = snapshot(status, new Date().toISOString());
      if (failures.length > 0) {
        finalResults.cleanupFailed = {
          leftovers: failures.map((f) => `${f.label}: ${f.error}`),
          hint: 'run `isobench doctor --cleanup` to remove isobench leftovers (names start with isobench-)',
        };
        exitCode = exitCode || 1;
      }
      await writeResults(runDir, finalResults);
      // The lock and state go only when nothing is left to restore; otherwise `doctor --cleanup` finds them once this process is gone.
      if (failures.length === 0 && runState.hostSettings().length === 0) await runState.release();
      activeRun = undefined;
    })());
  activeRun = { runDir, finish: (reason) => finish(reason) };

  await save();

  try {
    const needsNet = workloads.some((w) => w.needsNetwork);
    const needsImage = entries.some((e) => getProvider(e.provider).needsImage);
    if (needsImage) {
      progress.note('preparing the workload image (cached after the first build)');
      const { ensureWorkloadImage } = await import('../images/rootfs.js');
      image = await ensureWorkloadImage({ log: (s: string) => progress.note(s), ...(opts.signal ? { signal: opts.signal } : {}) });
    }
    // The harness and everything it spawns (peers, runtime clients) on the harness CPUs.
    const cpuPlan = planCpus(scenario.instance, host.cpus);
    const pin = await pinProcess(process.pid, cpuPlan.harnessCpus);
    cleanup.add(`harness CPU affinity (restore ${pin.previous})`, pin.restore);
    placement = {
      instanceCpus: cpuPlan.instanceCpus,
      harnessCpus: cpuPlan.harnessCpus,
      harnessCpusReadBack: (await cpusAllowed('self')) ?? null,
      sharedWithHarness: cpuPlan.shared,
      peers: 'traffic peers (iperf3/sockperf clients), runtime clients and the harness inherit the harness CPU affinity; instance processes get the instance cpuset when they join its cgroup',
      idleInstances: 'instances of the backends not being measured are frozen (cgroup freezer) during each measured or warm-up repetition, thawed for their own turn',
      network:
        'per network repetition, host NET_RX/NET_TX softirqs per CPU are in cells[].extra.netSoftirqs: on a veth (native, containers) the receive work of traffic sent to the instance runs on the sender\'s CPU (the harness CPU); a VM\'s virtio-net work runs in QEMU on the instance CPUs',
      freezeFailures: [],
    };
    const workDir = await fs.mkdtemp(path.join(workRoot, `isobench-${shortId}-`));
    cleanup.add(`dir ${workDir}`, () => fs.rm(workDir, { recursive: true, force: true }));
    const net = needsNet ? await BenchNet.create(shortId, cleanup) : undefined;
    const ctx: BackendContext = {
      runId,
      shortId,
      workDir,
      rawDir: path.join(runDir, 'raw'),
      host,
      cleanup,
      image: image ?? { rootfsDir: '/', ext4Path: '', hash: 'native-host', manifestPath: '' },
      net,
    };

    // Prepare every backend; a backend that cannot work here fails its cells, the run goes on.
    for (const entry of entries) {
      throwIfAborted(opts.signal);
      const backend = await createBackend(entry, ctx, { bootTimeoutMs: scenario.timeouts.bootSeconds * 1000 });
      const lb: LiveBackend = { entry, backend, label: keyOf(entry), info: placeholderInfo(entry), extras: [], nameCounter: 0 };
      live.push(lb);
      try {
        progress.note(`preparing ${keyOf(entry)}`);
        // A Ctrl-C during preparation (VM calibration boots) ends the wait at once; what the
        // preparation started is in the registry and released by finish().
        await abortable(backend.prepare(), opts.signal);
        const info = backend.info();
        lb.label = backend.label;
        lb.info = { label: backend.label, ...info };
        for (const w of info.warnings) warnings.push({ code: 'BACKEND', message: w, backend: backend.label });
      } catch (e) {
        if (isAbortError(e)) throw e;
        lb.failed = errorMessage(e);
        lb.info = { ...lb.info, error: lb.failed };
        warnings.push({ code: 'BACKEND_UNAVAILABLE', message: lb.failed, backend: lb.label });
      }
    }
    // Results of a resumed run are keyed by the prepared labels.
    const baseSpec = (lb: LiveBackend, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
      name: `${shortId}-${labelSlug(lb.label)}-${lb.nameCounter++}`,
      vcpus: scenario.instance.vcpus,
      cpus: pickCpus(scenario, host),
      memoryMiB: scenario.instance.memoryMiB,
      pidsLimit: scenario.instance.pidsLimit,
      disk: { ...scenario.instance.disk },
      network: needsNet,
      ...overrides,
    });

    // VM self-check (vm-selfcheck-run.ts): one short boot per VM backend, guest vs host, into backends[].vmSelfCheck; THP per backend.
    const { selfCheckRun } = await import('../backends/vm-selfcheck-run.js');
    throwIfAborted(opts.signal);
    await abortable(selfCheckRun(live, { host, spec: (lb) => baseSpec(lb as LiveBackend), runDir, warnings, note: (t) => progress.note(t) }), opts.signal);
    await save();

    const ensureInstance = async (lb: LiveBackend): Promise<Instance> => {
      if (lb.instance) return lb.instance;
      const spec = baseSpec(lb);
      progress.note(`starting ${lb.label} instance ${spec.name}`);
      const started = await startInstance(lb.backend, spec, scenario.timeouts.bootSeconds * 1000, opts.signal);
      lb.instance = started.instance;
      lb.spec = spec;
      if (started.instance.cgroup) {
        const rb = await started.instance.cgroup.readLimits().catch(() => undefined);
        if (rb) lb.info.limitsReadBack = { ...rb };
      }
      return started.instance;
    };

    /** Only lb's instances run: freeze the others' idle instances, thaw lb's. */
    const isolate = async (lb: LiveBackend): Promise<void> => {
      if (lb.instance?.cgroup) await freezer.thaw(lb.instance.cgroup);
      for (const other of live) {
        const cg = other === lb ? undefined : other.instance?.cgroup;
        if (!cg || freezer.isFrozen(cg)) continue;
        try {
          await freezer.freeze(cg);
        } catch (e) {
          const msg = `${other.label}: could not freeze its idle instance (${errorMessage(e)}); it stays running during ${lb.label}'s measurements`;
          if (placement && !placement.freezeFailures.includes(msg)) {
            placement.freezeFailures.push(msg);
            warnings.push({ code: 'PLACEMENT', message: msg, backend: other.label });
          }
        }
      }
    };

    let totalReps = workloads.reduce((n, w) => n + ((plans.get(w.name)?.warmup ?? 0) + (plans.get(w.name)?.repetitions ?? 0)) * live.length, 0);
    progress.start(totalReps);

    for (const workload of workloads) {
      const plan = plans.get(workload.name) ?? { repetitions: scenario.repetitions, warmup: scenario.warmup, params: undefined, explicitRepetitions: false };
      const { params } = plan;
      // Adaptive repetition applies where the scenario asks for it: not to a workload with its own repetition count.
      const adaptive = scenario.adaptive && !plan.explicitRepetitions ? scenario.adaptive : undefined;
      const maxReps = adaptive ? Math.max(plan.repetitions, adaptive.maxRepetitions) : plan.repetitions;
      const adaptiveDeadline = adaptive ? Date.now() + adaptive.maxMinutes * 60_000 : 0;
      for (let rep = 1 - plan.warmup; rep <= maxReps; rep++) {
        if (aborted) break;
        if (Date.now() > runDeadline) {
          statusReason = `run time limit of ${scenario.timeouts.runMinutes} min reached`;
          aborted = true;
          break;
        }
        if (rep > plan.repetitions) {
          // Adaptive mode: go on while a reported overhead of this workload is undecided and its CI wider than the target, within the time box.
          if (!adaptive) break;
          if (Date.now() > adaptiveDeadline) {
            warnings.push({ code: 'ADAPTIVE_TIME_BOX', workload: workload.name, message: `${workload.name}: adaptive repetition stopped after ${adaptive.maxMinutes} min (adaptive.maxMinutes) at ${rep - 1} repetitions; some verdicts may stay inconclusive` });
            break;
          }
          const current = snapshot('partial', null);
          const open = adaptiveUndecided([...current.overheads, ...current.differences].filter((o) => o.workload === workload.name), adaptive.targetCiPct);
          if (open.length === 0) break;
          progress.note(`${workload.name}: ${open.length} figure(s) still undecided (${open.slice(0, 3).join(', ')}${open.length > 3 ? ', ...' : ''}): repetition ${rep}`);
          totalReps += live.length;
          progress.setTotal(totalReps);
        }
        const order = rotate(live, scenario.order === 'interleaved' ? (rep - 1 + plan.warmup) % live.length : 0);
        for (const lb of order) {
          if (aborted) break;
          const key = cellKey(lb.label, workload.name);
          let cell = cells.get(key);
          if (!cell) {
            cell = { backend: lb.label, workload: workload.name, metrics: new Map() };
            cells.set(key, cell);
          }
          const repText = rep <= 0 ? `warm-up ${rep + plan.warmup}/${plan.warmup}` : `rep ${rep}/${plan.repetitions}`;
          progress.step(`${lb.label} ${workload.name} ${repText}`);
          if (lb.failed) {
            cell.skipped = `backend unavailable: ${lb.failed}`;
            progress.tick();
            continue;
          }
          if (cell.failure) {
            progress.tick();
            continue;
          }
          if (rep > 0 && repsDone(cell).has(rep)) {
            progress.tick(); // measured by an earlier attempt (resume)
            continue;
          }
          if (rep <= 0 && previous && repsDone(cell).size > 0) {
            progress.tick(); // resumed cell: warm-up already done
            continue;
          }
          const extras: Array<{ name: string; data: unknown }> = [];
          await isolate(lb);
          const irq0 = workload.needsNetwork ? await readSoftirqs() : undefined;
          try {
            const values = await runOneRepetition(lb, workload, params, rep, ensureInstance, baseSpec, net, runDir, scenario, progress, opts.signal, (name, data) => extras.push({ name, data }));
            if (irq0) extras.push({ name: 'netSoftirqs', data: netSoftirqDelta(irq0, await readSoftirqs()) });
            if (rep > 0) recordValues(cell, workload, values, rep);
            if (rep > 0) recordExtras(cell, extras, rep);
          } catch (e) {
            if (aborted) break; // an interrupted repetition is not a failure of the workload
            if (rep > 0) recordExtras(cell, extras, rep); // what a failed repetition recorded (e.g. where a sweep stopped) is kept
            const err = e as Error & { rawLog?: string };
            cell.failure = {
              stage: e instanceof ParseError ? 'parse' : (err as { stage?: string }).stage ?? 'run',
              error: errorMessage(e),
              ...(err.rawLog ? { rawLog: err.rawLog } : {}),
            };
            progress.note(`${lb.label} ${workload.name}: failed: ${errorMessage(e).split('\n')[0]}`);
            // A hung or broken instance must not poison the next workload: start a fresh one.
            if (lb.instance) {
              await lb.instance.stop().catch(() => undefined);
              lb.instance = undefined;
            }
          } finally {
            for (const x of lb.extras.splice(0)) await x.stop().catch(() => undefined);
          }
          progress.tick();
          await save();
        }
      }
      if (aborted) break;
    }
    progress.stop();
    const anyFailed = [...cells.values()].some((c) => c.failure || c.skipped);
    if (aborted) {
      statusReason ??= 'interrupted';
      exitCode = 1;
    } else if (anyFailed) {
      statusReason = 'some backend x workload cells failed or were skipped (see cells[].state and warnings)';
      exitCode = 1;
    }
  } catch (e) {
    progress.stop();
    if (aborted || isAbortError(e)) {
      // Interrupted before or between measurements (image build, preparation, a boot): not a failure of the run.
      aborted = true;
      statusReason ??= `interrupted (${String(opts.signal?.reason ?? 'signal')})`;
      exitCode = 1;
    } else {
      statusReason = `run failed: ${errorMessage(e)}`;
      exitCode = e instanceof IsobenchError ? e.exitCode : 1;
      if (!(e instanceof IsobenchError)) warnings.push({ code: 'UNEXPECTED', message: (e as Error).stack ?? String(e) });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await finish();
  }
  return { runDir, results: finalResults ?? snapshot('partial', new Date().toISOString()), exitCode };
}

function keyOf(e: ResolvedBackend): string {
  return e.key;
}

function placeholderInfo(e: ResolvedBackend): BackendResult {
  return { label: keyOf(e), kind: e.kind, variant: e.variant, accelerator: 'unknown', acceleratorReason: 'not prepared', versions: {}, warnings: [], details: {} };
}

function rotate<T>(xs: T[], k: number): T[] {
  if (xs.length === 0) return xs;
  const s = ((k % xs.length) + xs.length) % xs.length;
  return [...xs.slice(s), ...xs.slice(0, s)];
}

function repsDone(c: CellData): Set<number> {
  const s = new Set<number>();
  for (const m of c.metrics.values()) for (const r of m.repetitions) s.add(r);
  return s;
}

function declOf(workload: Workload, name: string): MetricDecl | undefined {
  return workload.metrics.find((m) => m.name === name) ?? workload.metricFor?.(name);
}

function recordValues(cell: CellData, workload: Workload, values: MetricValue[], rep: number): void {
  for (const v of values) {
    const decl = declOf(workload, v.metric);
    if (!decl) throw new Error(`workload ${workload.name} produced undeclared metric ${v.metric}`);
    if (!Number.isFinite(v.value)) throw new ParseError(workload.name, `metric ${v.metric} is not a finite number`);
    let m = cell.metrics.get(v.metric);
    if (!m) {
      m = { metric: decl.name, unit: decl.unit, higherIsBetter: decl.higherIsBetter, values: [], repetitions: [], rawLogs: [], summary: null };
      cell.metrics.set(v.metric, m);
    }
    m.values.push(v.value);
    m.repetitions.push(rep);
    m.rawLogs.push(v.rawLog ?? '');
  }
}

/** Structured per-repetition data (ctx.recordExtra) goes to cell.extra[name] = [{ repetition, data }]. */
function recordExtras(cell: CellData, extras: Array<{ name: string; data: unknown }>, rep: number): void {
  if (extras.length === 0) return;
  const extra = (cell.extra ??= {});
  for (const { name, data } of extras) {
    const list = Array.isArray(extra[name]) ? (extra[name] as unknown[]) : [];
    list.push({ repetition: rep, data });
    extra[name] = list;
  }
}

async function runOneRepetition(
  lb: LiveBackend,
  workload: Workload,
  params: unknown,
  rep: number,
  ensureInstance: (lb: LiveBackend) => Promise<Instance>,
  baseSpec: (lb: LiveBackend, o?: Partial<InstanceSpec>) => InstanceSpec,
  net: BenchNet | undefined,
  runDir: string,
  scenario: Scenario,
  progress: Progress,
  runSignal: AbortSignal | undefined,
  onExtra?: (name: string, data: unknown) => void,
): Promise<MetricValue[]> {
  let instance: Instance;
  try {
    instance = await ensureInstance(lb);
  } catch (e) {
    if (isAbortError(e)) throw e;
    throw Object.assign(e instanceof Error ? e : new Error(String(e)), { stage: 'start' });
  }
  // One signal per repetition: fired by the workload timeout or by the run's own abort (Ctrl-C).
  const rep$ = new AbortController();
  const onRunAbort = (): void => rep$.abort(runSignal?.reason);
  if (runSignal?.aborted) onRunAbort();
  runSignal?.addEventListener('abort', onRunAbort, { once: true });
  const signal = rep$.signal;
  const execTimeoutMs = scenario.timeouts.execSeconds * 1000;
  // Warm-ups count down to the first measured repetition: warmup2, warmup1, r1, r2 ...
  const repTag = rep <= 0 ? `warmup${1 - rep}` : `r${rep}`;
  const rawRel = (tag: string): string => path.join('raw', safeFile(lb.label), workload.name, `${safeFile(tag)}-${repTag}.log`);
  const saveRaw = async (tag: string, text: string): Promise<string> => {
    const rel = rawRel(tag);
    await fs.mkdir(path.dirname(path.join(runDir, rel)), { recursive: true });
    await fs.writeFile(path.join(runDir, rel), text);
    return rel;
  };
  const logged = async (where: string, argv: string[], r: ExecResult, tag: string): Promise<string> =>
    saveRaw(
      tag,
      `# ${where}: ${argv.join(' ')}\n# exit ${r.code}${r.timedOut ? ' (timed out)' : ''}${r.oomKilled ? ' (OOM-killed)' : ''} wall ${r.wallMs.toFixed(1)} ms\n# --- stdout\n${r.stdout}\n# --- stderr\n${r.stderr}\n`,
    );
  const check = (r: ExecResult, rawLog: string, argv: string[], allowFailure?: boolean): void => {
    if (allowFailure) return;
    if (r.timedOut || r.code !== 0) {
      const why = r.timedOut ? 'timed out' : r.oomKilled ? `was OOM-killed (exit ${r.code})` : `exited ${r.code}`;
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ');
      throw Object.assign(new Error(`${argv[0]} ${why}: ${tail} (raw log: ${rawLog})`), { rawLog, stage: r.timedOut ? 'timeout' : 'exec' });
    }
  };
  const ctx: WorkloadContext<unknown> = {
    params,
    instance,
    spec: lb.spec ?? baseSpec(lb),
    net,
    repetition: rep <= 0 ? 0 : rep,
    timeoutMs: execTimeoutMs,
    signal,
    exec: async (inst, argv, o) => {
      throwIfAborted(signal);
      const r = await inst.exec(argv, { timeoutMs: o.timeoutMs ?? execTimeoutMs, signal });
      const rawLog = await logged(`${lb.label} ${inst.name}`, argv, r, o.tag);
      check(r, rawLog, argv, o.allowFailure);
      return { ...r, rawLog };
    },
    execPeer: async (argv, o) => {
      if (!net) throw new Error('this workload needs the bench network, which the run did not create');
      throwIfAborted(signal);
      const t = o.timeoutMs ?? execTimeoutMs;
      const r0 = await net.exec(argv, { timeoutMs: t, signal });
      if (r0.canceled) throw abortError(signal);
      const r: ExecResult = { ...r0 };
      const rawLog = await logged('bench-netns peer', argv, r, o.tag);
      check(r, rawLog, argv, o.allowFailure);
      return { ...r, rawLog };
    },
    startInstance: async (overrides): Promise<StartedInstance> => {
      throwIfAborted(signal);
      const spec = baseSpec(lb, overrides ?? {});
      try {
        const s = await startInstance(lb.backend, spec, scenario.timeouts.bootSeconds * 1000, signal);
        lb.extras.push(s.instance);
        return s;
      } catch (e) {
        if (isAbortError(e)) throw e;
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { stage: 'start' });
      }
    },
    saveRaw,
    dropHostCaches,
    progress: (t) => progress.note(`${lb.label} ${workload.name}: ${t}`),
    ...(onExtra ? { recordExtra: onExtra } : {}),
  };
  const timeoutMs = scenario.timeouts.workloadSeconds * 1000;
  const timeoutError = Object.assign(new Error(`${workload.name} did not finish within ${scenario.timeouts.workloadSeconds} s (timeouts.workloadSeconds); killed`), { stage: 'timeout' });
  const timer = setTimeout(() => {
    // Cancel the workload (its execs are killed, its sleeps end, it starts nothing more),
    // and stop its instances so nothing it left in them runs on; the runner starts a fresh one.
    rep$.abort(timeoutError);
    for (const i of [instance, ...lb.extras]) void i.stop().catch(() => undefined);
  }, timeoutMs);
  const work = workload.run(ctx);
  work.catch(() => undefined);
  const cancelled = new Promise<never>((_, reject) => {
    const fail = (): void => reject(signal.reason === timeoutError ? timeoutError : abortError(signal));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  cancelled.catch(() => undefined);
  try {
    return await Promise.race([work, cancelled]);
  } finally {
    clearTimeout(timer);
    runSignal?.removeEventListener('abort', onRunAbort);
    // A cancelled workload unwinds (its execs were killed): wait for that, briefly, so it
    // cannot start anything after the runner has stopped this repetition's instances.
    if (signal.aborted) await Promise.race([work.catch(() => undefined), sleep(5000)]);
  }
}

/** The run's ratio-of-means overheads (src/stats/comparisons.ts does the work; kept here for callers of the runner API). */
export function computeOverheads(cells: Cell[], backends: BackendResult[]): RunResults['overheads'] {
  return computeComparisons(cells, backends).overheads;
}

function noiseWarnings(cells: Cell[]): Warning[] {
  const out: Warning[] = [];
  for (const c of cells) {
    for (const m of c.metrics) {
      const s = m.summary;
      if (!s) continue;
      if (s.n >= 2 && s.cv > 0.1)
        out.push({ code: 'NOISY', backend: c.backend, workload: c.workload, message: `${c.backend} ${c.workload} ${m.metric}: CV ${(s.cv * 100).toFixed(1)}% over ${s.n} repetitions: too noisy for a fine-grained verdict; add repetitions` });
      if (s.outliers.length)
        out.push({ code: 'OUTLIER', backend: c.backend, workload: c.workload, message: `${c.backend} ${c.workload} ${m.metric}: repetition(s) ${s.outliers.map((i) => m.repetitions[i]).join(', ')} are outliers (kept, flagged)` });
    }
  }
  return out;
}
