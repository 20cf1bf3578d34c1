/**
 * The results.json contract (schemaVersion 2). Scripts, report, compare and
 * capacity read this; change it only with a schemaVersion bump.
 *
 * Version 2 (issue 13): equivalence verdicts (Verdict), thresholds, detectable
 * effects and repetitions needed on every overhead; `differences` (figures
 * compared by difference of means) and `headline` blocks; Summary.outlierMethod.
 * Version 1 files are still read: results/io.ts recomputes what version 2 adds
 * from their cells (the measured values), so nothing is guessed.
 */
import type { BackendKind } from '../backends/types.js';

export const SCHEMA_VERSION = 2;
/** Versions loadResults accepts (older ones are upgraded on read). */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

export type RunStatus = 'complete' | 'partial' | 'failed';

export interface Summary {
  n: number;
  median: number;
  mean: number;
  stdev: number;
  min: number;
  max: number;
  /**
   * 95% confidence interval of the MEAN, Student t with n-1 degrees of freedom
   * (src/stats: a bootstrap of 3-10 values understates the spread; t does not).
   */
  ci95: [number, number];
  /** Coefficient of variation (stdev / mean), 0..inf. */
  cv: number;
  /** Indices (into values) of flagged outliers (see outlierMethod); flagged, never dropped. */
  outliers: number[];
  /** How outliers were flagged: Dixon's Q (n 3..10), modified z-score (n > 10), or none (n < 3: too few to flag any). */
  outlierMethod?: 'none: n < 3' | 'dixon-q95' | 'mad-z3.5';
}

export interface MetricResult {
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  values: number[];
  /** Repetition number of each value (1-based, warm-ups excluded). */
  repetitions: number[];
  /** Raw log of each value, relative to the run directory (raw/...). */
  rawLogs: string[];
  summary: Summary | null;
  /** Labels of caveats attached to this metric (e.g. "gVisor does not honour O_DIRECT"). */
  notes?: string[];
}

export type CellState =
  | { state: 'complete'; metrics: MetricResult[] }
  | { state: 'partial'; metrics: MetricResult[]; reason: string }
  | { state: 'failed'; stage: string; error: string; rawLog?: string; metrics: MetricResult[] }
  | { state: 'skipped'; reason: string; metrics: MetricResult[] };

export type Cell = { backend: string; workload: string; extra?: Record<string, unknown> } & CellState;

export interface BackendResult {
  /** Column label: `native`, `container:runc`, `vm:q35-tcg` ... */
  label: string;
  kind: BackendKind;
  variant: string;
  accelerator: string;
  acceleratorReason: string;
  versions: Record<string, string>;
  warnings: string[];
  details: Record<string, unknown>;
  /** Limits as read back from the instance's cgroup, proving they took effect. */
  limitsReadBack?: Record<string, unknown>;
  /** VM backends: the self-check run at the start (guest vs host CPU, mitigations, clocksource, THP, virtio-net, I/O threads). */
  vmSelfCheck?: Record<string, unknown>;
  error?: string;
}

/**
 * Equivalence verdicts (src/stats/equivalence.ts): `no-practical-difference`
 * only when the whole CI lies inside ±threshold; `overhead`/`better` when the
 * CI excludes 0 and the estimate is beyond the threshold; `small-difference`
 * when the CI excludes 0 but the estimate is inside; `inconclusive` otherwise.
 */
export type Verdict = 'no-practical-difference' | 'small-difference' | 'overhead' | 'better' | 'inconclusive' | 'insufficient-data';

export interface Overhead {
  backend: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** backend mean / native mean (the ratio whose CI is computed; see src/stats). */
  ratio: number;
  /** 95% CI of the ratio: delta method on log(ratio), Welch-Satterthwaite df. */
  ratioCi95: [number, number];
  /** Cost in percent: positive means the backend is worse than native. */
  overheadPct: number;
  overheadPctCi95: [number, number];
  verdict: Verdict;
  /** Practical threshold in percent the verdict was judged against. */
  thresholdPct: number;
  /** Smallest overhead (percent) this run could have detected (80% power, 5% two-sided). */
  detectablePct: number;
  /** For an inconclusive verdict: repetitions per side that would likely decide it (null: decided, or > 1000). */
  repetitionsNeeded: number | null;
  /** Repetitions behind the figure: [native, backend]. */
  n: [number, number];
  /**
   * Set when the figure cannot be taken at face value (src/stats/plausibility.ts):
   * a backend beating native on CPU/memory/syscalls beyond its CI plus a margin,
   * or a disk figure whose reads did not reach the device. Never fed to capacity.
   */
  implausible?: Implausible;
  /** Further flags may be added by later checks; readers ignore what they do not know. */
  [flag: string]: unknown;
}

export interface Implausible {
  reason: string;
  /** What to look at to find the cause. */
  hint: string;
  /** Raw logs of the flagged figure (backend first, then native), relative to the run dir. */
  rawLogs: string[];
}

/** A backend vs native compared by difference of means (per-instance costs, pp, native ~0). */
export interface Difference {
  backend: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** mean(backend) − mean(native), in the unit. */
  diff: number;
  /** Welch 95% CI of the difference. */
  ci95: [number, number];
  nativeMean: number;
  backendMean: number;
  verdict: Verdict;
  /** Threshold in the metric's unit. */
  threshold: number;
  /** Smallest difference (unit) this run could have detected. */
  detectable: number;
  repetitionsNeeded: number | null;
  n: [number, number];
  [flag: string]: unknown;
}

/** One backend's figure in a headline row, computed once by src/report/headline.ts and rendered as is. */
export interface HeadlineFigure {
  backend: string;
  verdict: Verdict | null;
  /** Point estimate in words: "11.9% slower", "+241 MiB per idle instance", "OOM at 150% of the limit". */
  value: string;
  /** 95% CI in the same form ('' when the figure has none). */
  ci: string;
  /** A second reading: "runs at 88% of native", the repetitions that would decide, the smallest detectable effect. */
  detail: string;
  /** The numbers behind the text (for scripts). */
  point: number | null;
  ci95: [number, number] | null;
  state: 'complete' | 'partial' | 'failed' | 'skipped' | 'missing';
  stateReason?: string;
  /** Why the figure cannot be taken at face value (Overhead.implausible.reason); kept out of capacity. */
  implausible?: string;
}

export interface HeadlineRow {
  category: string;
  title: string;
  /** overhead: ratio vs native; absolute: difference vs native; isolation: the category's own terms. */
  kind: 'ratio' | 'absolute' | 'isolation';
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** What the row reads ("summed PSS per extra instance", "share achieved vs target"). */
  what: string;
  /** The native baseline in words ("native mean 1,203 events/s"; for isolation rows native's own reading). */
  baseline: string;
  entries: HeadlineFigure[];
}

export interface Warning {
  code: string;
  message: string;
  backend?: string;
  workload?: string;
}

export interface RunResults {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'isobench'; version: string };
  runId: string;
  status: RunStatus;
  /** Why the run is partial or failed. */
  statusReason?: string;
  startedAt: string;
  endedAt: string | null;
  scenarioFile: string;
  scenario: unknown;
  host: Record<string, unknown>;
  toolVersions: Record<string, string | null>;
  rootfsHash: string | null;
  backends: BackendResult[];
  /** How repetitions were ordered across backends, e.g. "interleaved (rotating ABC, BCA, CAB)". */
  order: string;
  cells: Cell[];
  overheads: Overhead[];
  /** Figures compared by difference of means instead of a ratio (schemaVersion 2). */
  differences: Difference[];
  /** The headline per category, computed once (src/report/headline.ts), rendered by HTML, Markdown and PNG. */
  headline: HeadlineRow[];
  warnings: Warning[];
  /** Where the harness, peers and instances ran, and what happened to idle instances (src/runner/placement.ts). */
  placement?: Placement;
  /** Set when measurements succeeded but cleanup did not: what is left, how to remove it. */
  cleanupFailed?: { leftovers: string[]; hint: string };
  /** The samples.jsonl written with this results.json (written and fsynced first): a reader checks the hash to know both match. */
  samples?: { file: 'samples.jsonl'; rows: number; sha256: string };
}

export interface Placement {
  instanceCpus: number[];
  harnessCpus: number[];
  /** The harness's affinity as the kernel reports it after pinning. */
  harnessCpusReadBack: number[] | null;
  /** The scenario let the instances share the harness CPUs (instance.shareHarnessCpu). */
  sharedWithHarness: boolean;
  peers: string;
  idleInstances: string;
  network: string;
  freezeFailures: string[];
}

/** One line of samples.jsonl: flat, for pandas / BigQuery / Grafana. */
export interface SampleRow {
  runId: string;
  backend: string;
  variant: string;
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  repetition: number;
  value: number;
  rawLog: string;
  /** The host that measured it: the inventory host name in a fleet, the hostname of a single run (absent in older runs). */
  host?: string;
}
