/**
 * The state of one run in progress, held in one object the executor's parts
 * share (instead of closures over locals): what has been measured, the live
 * backends, warnings, placement, whether the run was interrupted and why. It
 * also turns that state into results.json (`snapshot`), rewritten after
 * every measured cell (hyperfine's habit) so a crash loses nothing.
 */
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { HostFacts } from '../host/facts.js';
import { hostBusy } from '../host/busy.js';
import type { ResolvedBackend, Scenario } from '../scenario/schema.js';
import type { CleanupRegistry } from '../core/cleanup.js';
import type { RunState } from '../core/state.js';
import type { Backend, Instance, InstanceSpec } from '../backends/types.js';
import type { WorkloadImage } from '../images/rootfs.js';
import { SCHEMA_VERSION, type BackendResult, type Cell, type RunResults, type Warning } from '../results/types.js';
import { writeResults } from '../results/io.js';
import { deriveComparisons } from '../results/derive.js';
import type { Progress } from './progress.js';
import { Freezer } from './placement.js';
import { DutyMeter } from './duty.js';
import { cellComplete, type WorkloadPlan } from './plan/index.js';
import { toCells, type Cells } from './plan/cells.js';

export const TOOL_VERSION = '0.1.0';

/** How the results file describes `scenario.order`. */
const ORDER_TEXT = {
  interleaved:
    'interleaved per probe: each repetition is a round per probe (one tool invocation) that runs on every backend ' +
    'back to back, the starting backend rotating with every repetition and probe (ABC, BCA, CAB)',
  sequential:
    'sequential per probe: each repetition is a round per probe (one tool invocation) that runs on every backend ' +
    "in turn, always in the scenario's order (no rotation)",
};

export function makeRunId(scenarioName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${scenarioName}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** The short id every resource name of the run carries (netns, cgroups, QEMU names, the lock). */
export function shortIdOf(runId: string): string {
  return createHash('sha256').update(runId).digest('hex').slice(0, 6);
}

export interface LiveBackend {
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

/**
 * What the runner stores beside the cells: statistics, plausibility and the
 * worded headline. The runner sits below the report, so the caller hands the
 * headline's wording in (the CLI passes report/derive.ts's deriveFromCells);
 * without it the results carry the statistics and an empty headline, which
 * the report words when it reads the file (report/derive.ts: withComparisons).
 */
export type DeriveResults = (
  cells: readonly Cell[],
  backends: readonly BackendResult[],
  scenario: unknown,
) => Pick<RunResults, 'cells' | 'overheads' | 'differences' | 'headline'> & { warnings: Warning[] };

export const deriveStatistics: DeriveResults = (cells, backends, scenario) => ({
  ...deriveComparisons(cells, backends, scenario),
  headline: [],
});

export interface SessionInit {
  /** Statistics and headline of a snapshot (default: deriveStatistics, no headline). */
  derive?: DeriveResults;
  host: HostFacts;
  scenario: Scenario;
  scenarioFile: string;
  runId: string;
  runDir: string;
  shortId: string;
  runState: RunState;
  cleanup: CleanupRegistry;
  progress: Progress;
  workloads: readonly WorkloadPlan[];
  cells: Cells;
  previous?: RunResults;
  warnings: Warning[];
}

export class RunSession {
  readonly live: LiveBackend[] = [];
  /** Idle instances of the backends not being measured are frozen (placement.ts). */
  readonly freezer = new Freezer();
  /** Where each workload's wall time goes (duty.ts). */
  readonly duty = new DutyMeter();
  readonly startedAt: string;
  placement: RunResults['placement'];
  image: WorkloadImage | undefined;
  aborted = false;
  statusReason: string | undefined;
  /** Collected once the run holds its lock (they take a moment; an interruption may come first). */
  hostInfo: RunResults['host'] = {};
  toolVersions: RunResults['toolVersions'] = {};

  constructor(readonly s: SessionInit) {
    this.startedAt = s.previous?.startedAt ?? new Date().toISOString();
  }

  get warnings(): Warning[] {
    return this.s.warnings;
  }

  /** Stop the measurements: instances are stopped by the caller, the partial result is kept. */
  interrupt(reason: string): void {
    this.aborted = true;
    this.statusReason ??= reason;
  }

  snapshot(status: RunResults['status'], endedAt: string | null): RunResults {
    const { scenario, previous } = this.s;
    const cellList = toCells(this.s.cells.values(), status, this.statusReason, (c) =>
      cellComplete(this.s.workloads, c, scenario.repetitions),
    );
    const derived = (this.s.derive ?? deriveStatistics)(
      cellList,
      this.live.map((b) => b.info),
      scenario,
    );
    return {
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'isobench', version: TOOL_VERSION },
      runId: this.s.runId,
      status,
      ...(this.statusReason ? { statusReason: this.statusReason } : {}),
      startedAt: this.startedAt,
      endedAt,
      scenarioFile: path.relative(process.cwd(), this.s.scenarioFile) || this.s.scenarioFile,
      scenario,
      host: this.hostInfo,
      toolVersions: this.toolVersions,
      rootfsHash: this.image?.hash ?? previous?.rootfsHash ?? null,
      backends: this.live.map((b) => b.info),
      order: scenario.order === 'interleaved' ? ORDER_TEXT.interleaved : ORDER_TEXT.sequential,
      cells: derived.cells,
      overheads: derived.overheads,
      differences: derived.differences,
      headline: derived.headline,
      ...(this.placement ? { placement: this.placement } : {}),
      ...this.dutyCycleField(previous),
      warnings: [...this.s.warnings, ...noiseWarnings(cellList), ...derived.warnings],
    };
  }

  /** results.json `dutyCycle` (with an earlier attempt's added on resume); nothing before any workload ran. */
  private dutyCycleField(previous: RunResults | undefined): Pick<RunResults, 'dutyCycle'> {
    const dutyCycle = this.duty.snapshot(previous?.dutyCycle);
    return Object.keys(dutyCycle).length > 0 ? { dutyCycle } : {};
  }

  async save(status: RunResults['status'] = 'partial', endedAt: string | null = null): Promise<RunResults> {
    const r = this.snapshot(status, endedAt);
    await writeResults(this.s.runDir, r);
    return r;
  }

  /** Anything measured at all (a run error after a measurement leaves a partial run, not a failed one). */
  anyMeasured(): boolean {
    return [...this.s.cells.values()].some((c) => [...c.metrics.values()].some((m) => m.values.length > 0));
  }
}

/** Other load at the start (host/busy.ts): busy now, or a load that just ended. */
function busyWarnings(host: HostFacts): Warning[] {
  const b = hostBusy(host);
  if (b.state === 'busy') return [{ code: 'HOST_BUSY', message: b.text }];
  if (b.state === 'recently-busy') return [{ code: 'HOST_RECENTLY_BUSY', message: b.text }];
  return [];
}

/** Conditions of the host at start that skew results, as warnings in the results. */
export function hostWarnings(host: HostFacts): Warning[] {
  const warnings: Warning[] = [];
  warnings.push(...busyWarnings(host));
  if (host.thp.enabled === 'always')
    warnings.push({
      code: 'THP_ALWAYS',
      message: 'transparent huge pages are "always": memory figures depend on THP availability',
    });
  if (host.cpuGovernor && host.cpuGovernor !== 'performance')
    warnings.push({
      code: 'CPU_GOVERNOR',
      message: `CPU frequency governor is "${host.cpuGovernor}", not "performance": frequency scaling adds variance`,
    });
  if (host.ksm.run === 1)
    warnings.push({
      code: 'KSM_ON',
      message: 'KSM is running: identical pages of VMs are merged, lowering their memory figures',
    });
  if (host.virtualized)
    warnings.push({
      code: 'NESTED',
      message: 'this host is itself a virtual machine: native figures include its hypervisor',
    });
  return warnings;
}

function noiseWarnings(cells: Cell[]): Warning[] {
  const out: Warning[] = [];
  for (const c of cells) {
    for (const m of c.metrics) {
      const s = m.summary;
      if (!s) continue;
      if (s.n >= 2 && s.cv > 0.1)
        out.push({
          code: 'NOISY',
          backend: c.backend,
          workload: c.workload,
          message:
            `${c.backend} ${c.workload} ${m.metric}: CV ${(s.cv * 100).toFixed(1)}% over ${s.n} repetitions: ` +
            'too noisy for a fine-grained verdict; add repetitions',
        });
      if (s.outliers.length) {
        const reps = s.outliers.map((i) => m.repetitions[i]).join(', ');
        out.push({
          code: 'OUTLIER',
          backend: c.backend,
          workload: c.workload,
          message: `${c.backend} ${c.workload} ${m.metric}: repetition(s) ${reps} are outliers (kept, flagged)`,
        });
      }
    }
  }
  return out;
}
