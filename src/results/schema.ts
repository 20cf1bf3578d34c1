/**
 * The results.json contract as one zod schema (schemaVersion 2). The
 * TypeScript types in types.ts are inferred from it, and every reader (report,
 * compare, capacity, resume, fleet) gets its results through the one loader in
 * io.ts, which parses with it: a field of the wrong type is one clear error
 * naming its path, not a crash three modules later.
 *
 * Objects list every field isobench writes; a key no version wrote is dropped
 * on read (readers ignore what they do not know). Overheads and differences
 * stay loose: later checks add flags to them. Workload `extra` data is a
 * record here; its shape per workload is declared next to the workload
 * (src/workloads/extras/) and checked when it is recorded and when rendered.
 *
 * Version 1 files are read with `resultsFileV1` (no verdict fields, no
 * differences or headline) and upgraded by upgrade.ts, which recomputes what
 * version 2 adds from the measured values.
 */
import { z } from 'zod';
import { BACKEND_KINDS } from '../backends/types.js';

export const SCHEMA_VERSION = 2;
/** Versions the loader accepts (older ones are upgraded on read). */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

/**
 * A number as JSON stores it: JSON.stringify writes NaN and ±Infinity as null
 * (a spread of one value, a ratio over a zero mean), so null is read as NaN and
 * the reader sees the same non-finite number the writer had.
 */
const num = z.union([z.number(), z.null().transform(() => Number.NaN)]);
const pair = z.tuple([num, num]);

/**
 * The measurement duty cycle of one workload: `measuringMs` is the union of the
 * spans of the tool invocations whose values were recorded (warm-ups and setup
 * excluded), `wallMs` the workload's wall time in the run (every backend, warm-ups,
 * setup, harness work and saves included); the other fields say where the rest went.
 */
export const dutyCycleSchema = z.object({
  wallMs: z.number(),
  measuringMs: z.number(),
  /** measuringMs / wallMs (0..1). */
  share: num,
  /** Tool invocations run for warm-ups (not recorded). */
  warmupMs: z.number(),
  /** Harness time around the probes: instance start, freeze/thaw of idle instances, softirq reads, result writes. */
  harness: z.record(z.string(), z.number()),
  /** Rounds run (one probe on every active backend). */
  rounds: z.number(),
});

export const runStatusSchema = z.enum(['complete', 'partial', 'failed']);

export const summarySchema = z.object({
  n: z.number(),
  median: num,
  mean: num,
  stdev: num,
  min: num,
  max: num,
  /**
   * 95% confidence interval of the MEAN, Student t with n-1 degrees of freedom
   * (src/stats: a bootstrap of 3-10 values understates the spread; t does not).
   */
  ci95: pair,
  /** Coefficient of variation (stdev / mean), 0..inf. */
  cv: num,
  /** Indices (into values) of flagged outliers (see outlierMethod); flagged, never dropped. */
  outliers: z.array(z.number()),
  /**
   * How outliers were flagged: Dixon's Q (n 3..10), modified z-score (n > 10), or none (n < 3: too few to flag any).
   */
  outlierMethod: z.enum(['none: n < 3', 'dixon-q95', 'mad-z3.5']).optional(),
});

export const metricResultSchema = z.object({
  metric: z.string(),
  unit: z.string(),
  higherIsBetter: z.boolean(),
  values: z.array(z.number()),
  /** Repetition number of each value (1-based, warm-ups excluded). */
  repetitions: z.array(z.number()),
  /** Raw log of each value, relative to the run directory (raw/...). */
  rawLogs: z.array(z.string()),
  /**
   * Round of each value (`workload:repetition:probe`): the values of one round, one per
   * backend, were measured back to back and are the pairs a paired estimate uses.
   * '' for a value without one; absent in files written before rounds per probe.
   */
  rounds: z.array(z.string()).optional(),
  /** Start and end (ISO 8601) of the tool invocation each value came from; '' when unknown; absent in older files. */
  starts: z.array(z.string()).optional(),
  ends: z.array(z.string()).optional(),
  summary: summarySchema.nullable(),
  /** Labels of caveats attached to this metric (e.g. "gVisor does not honour O_DIRECT"). */
  notes: z.array(z.string()).optional(),
});

/** One repetition's structured data (ctx.recordExtra): cell.extra[name] = [{ repetition, data }]. */
export const extraEntrySchema = z.object({ repetition: z.number(), data: z.unknown() });

const cellBase = {
  backend: z.string(),
  workload: z.string(),
  /** Per name, what the workload recorded per repetition; checked per workload by src/workloads/extras/. */
  extra: z.record(z.string(), z.unknown()).optional(),
  metrics: z.array(metricResultSchema),
};

export const cellSchema = z.discriminatedUnion('state', [
  z.object({ ...cellBase, state: z.literal('complete') }),
  z.object({ ...cellBase, state: z.literal('partial'), reason: z.string() }),
  z.object({
    ...cellBase,
    state: z.literal('failed'),
    stage: z.string(),
    error: z.string(),
    rawLog: z.string().optional(),
  }),
  z.object({ ...cellBase, state: z.literal('skipped'), reason: z.string() }),
]);

/** A process an instance brings beside its payload (its provider's declaration), and where it runs. */
export const helperProcessSchema = z.object({
  comm: z.string(),
  role: z.string(),
  /** instance: in the instance's cgroup and CPUs (the instance pays); host: outside them. */
  placement: z.enum(['instance', 'host']),
  /** What the instance's figures leave out because it runs outside. */
  leavesOut: z.string().optional(),
});

export const backendResultSchema = z.object({
  /** Column label: `native`, `container:runc`, `vm:q35-tcg` ... */
  label: z.string(),
  kind: z.enum(BACKEND_KINDS),
  variant: z.string(),
  accelerator: z.string(),
  acceleratorReason: z.string(),
  versions: z.record(z.string(), z.string()),
  warnings: z.array(z.string()),
  details: z.record(z.string(), z.unknown()),
  /** Limits as read back from the instance's cgroup, proving they took effect. */
  limitsReadBack: z.record(z.string(), z.unknown()).optional(),
  /**
   * VM backends: the self-check run at the start (guest vs host CPU, mitigations, clocksource, THP, virtio-net, I/O
   * threads).
   */
  vmSelfCheck: z.record(z.string(), z.unknown()).optional(),
  /** Helper processes of this variant as its provider declares them (absent in files written before). */
  helpers: z.array(helperProcessSchema).optional(),
  error: z.string().optional(),
});

/**
 * Equivalence verdicts (src/stats/equivalence.ts, docs/statistics.md):
 * `no-practical-difference` when the 90% CI lies inside ±threshold (TOST);
 * `overhead`/`better` when not equivalent and the 95% CI excludes 0 on that
 * side; `inconclusive` otherwise. `small-difference` was written by versions
 * before the TOST rule (CI excludes 0, estimate inside the threshold).
 */
export const verdictSchema = z.enum([
  'no-practical-difference',
  'small-difference',
  'overhead',
  'better',
  'inconclusive',
  'insufficient-data',
]);

export const implausibleSchema = z.object({
  reason: z.string(),
  /** What to look at to find the cause. */
  hint: z.string(),
  /** Raw logs of the flagged figure (backend first, then native), relative to the run dir. */
  rawLogs: z.array(z.string()),
});

/** Further flags may be added by later checks (loose): readers ignore what they do not know. */
export const overheadSchema = z.looseObject({
  backend: z.string(),
  workload: z.string(),
  metric: z.string(),
  unit: z.string(),
  higherIsBetter: z.boolean(),
  /** Paired: exp(mean per-round ln(backend/native)); unpaired: backend mean / native mean (see src/stats). */
  ratio: num,
  /** 95% CI of the ratio: t on the per-round log ratios (paired) or delta method with Welch df (unpaired). */
  ratioCi95: pair,
  /** Cost in percent: positive means the backend is worse than native. */
  overheadPct: num,
  overheadPctCi95: pair,
  /** 90% CI of the cost (what the TOST equivalence test reads). */
  overheadPctCi90: pair.optional(),
  verdict: verdictSchema,
  /**
   * How the figure was estimated (absent in files written before pairing: read as unpaired).
   * paired: per-round differences of values measured in the same round (d = ln b − ln n for ratios,
   * b − n for differences), t interval on pairs − 1 df; unpaired: two independent samples (Welch).
   */
  design: z.enum(['paired', 'unpaired']).optional(),
  /** Pairs behind a paired figure. */
  pairs: z.number().optional(),
  /**
   * SD of one paired difference (ln units for ratios, the unit for differences); unpaired: of one repetition's
   * difference.
   */
  spread: num.optional(),
  /** Degrees of freedom of the t interval. */
  df: num.optional(),
  /** An overhead/better whose whole 95% CI lies beyond ±threshold ("overhead beyond T"). */
  beyondThreshold: z.boolean().optional(),

  /** Practical threshold in percent the verdict was judged against. */
  thresholdPct: z.number(),
  /** Smallest overhead (percent) this run could have detected (80% power, 5% two-sided). */
  detectablePct: num,
  /**
   * For an inconclusive verdict: pairs (paired) or repetitions per side (unpaired) giving 80% power to show
   * equivalence at ±threshold when the true overhead is 0, from the observed spread (null: decided, or > 1000).
   */
  repetitionsNeeded: z.number().nullable(),
  /** Repetitions behind the figure: [native, backend]. */
  n: z.tuple([z.number(), z.number()]),
  /**
   * Set when the figure cannot be taken at face value (src/stats/plausibility.ts):
   * a backend beating native on CPU/memory/syscalls beyond its CI plus a margin,
   * or a disk figure whose reads did not reach the device. Never fed to capacity.
   */
  implausible: implausibleSchema.optional(),
});

/** A backend vs native compared by difference of means (per-instance costs, pp, native ~0). */
export const differenceSchema = z.looseObject({
  backend: z.string(),
  workload: z.string(),
  metric: z.string(),
  unit: z.string(),
  higherIsBetter: z.boolean(),
  /** Mean per-round backend − native (paired) or mean(backend) − mean(native), in the unit. */
  diff: num,
  /** 95% CI of the difference: paired t, or Welch. */
  ci95: pair,
  nativeMean: num,
  backendMean: num,
  verdict: verdictSchema,
  /** Threshold in the metric's unit. */
  threshold: num,
  /** Smallest difference (unit) this run could have detected. */
  detectable: num,
  repetitionsNeeded: z.number().nullable(),
  n: z.tuple([z.number(), z.number()]),
  /**
   * How the figure was estimated (absent in files written before pairing: read as unpaired).
   * paired: per-round differences of values measured in the same round (d = ln b − ln n for ratios,
   * b − n for differences), t interval on pairs − 1 df; unpaired: two independent samples (Welch).
   */
  design: z.enum(['paired', 'unpaired']).optional(),
  /** Pairs behind a paired figure. */
  pairs: z.number().optional(),
  /**
   * SD of one paired difference (ln units for ratios, the unit for differences); unpaired: of one repetition's
   * difference.
   */
  spread: num.optional(),
  /** Degrees of freedom of the t interval. */
  df: num.optional(),
  /** An overhead/better whose whole 95% CI lies beyond ±threshold ("overhead beyond T"). */
  beyondThreshold: z.boolean().optional(),
});

/** One backend's figure in a headline row, computed once by src/report/headline.ts and rendered as is. */
export const headlineFigureSchema = z.object({
  backend: z.string(),
  verdict: verdictSchema.nullable(),
  /** Point estimate in words: "11.9% slower", "+241 MiB per idle instance", "OOM at 150% of the limit". */
  value: z.string(),
  /** 95% CI in the same form ('' when the figure has none). */
  ci: z.string(),
  /** A second reading: "runs at 88% of native", the repetitions that would decide, the smallest detectable effect. */
  detail: z.string(),
  /** The numbers behind the text (for scripts). */
  point: z.number().nullable(),
  ci95: pair.nullable(),
  state: z.enum(['complete', 'partial', 'failed', 'skipped', 'missing']),
  stateReason: z.string().optional(),
  /** Why the figure cannot be taken at face value (Overhead.implausible.reason); kept out of capacity. */
  implausible: z.string().optional(),
});

export const headlineRowSchema = z.object({
  category: z.string(),
  title: z.string(),
  /** overhead: ratio vs native; absolute: difference vs native; isolation: the category's own terms. */
  kind: z.enum(['ratio', 'absolute', 'isolation']),
  metric: z.string(),
  unit: z.string(),
  higherIsBetter: z.boolean(),
  /** What the row reads ("summed PSS per extra instance", "share achieved vs target"). */
  what: z.string(),
  /** The native baseline in words ("native mean 1,203 events/s"; for isolation rows native's own reading). */
  baseline: z.string(),
  entries: z.array(headlineFigureSchema),
});

export const warningSchema = z.object({
  code: z.string(),
  message: z.string(),
  backend: z.string().optional(),
  workload: z.string().optional(),
});

export const placementSchema = z.object({
  instanceCpus: z.array(z.number()),
  harnessCpus: z.array(z.number()),
  /** The harness's affinity as the kernel reports it after pinning. */
  harnessCpusReadBack: z.array(z.number()).nullable(),
  /** The scenario let the instances share the harness CPUs (instance.shareHarnessCpu). */
  sharedWithHarness: z.boolean(),
  peers: z.string(),
  idleInstances: z.string(),
  network: z.string(),
  freezeFailures: z.array(z.string()),
});

export const runResultsSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal('isobench'), version: z.string() }),
  runId: z.string(),
  status: runStatusSchema,
  /** Why the run is partial or failed. */
  statusReason: z.string().optional(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  scenarioFile: z.string(),
  scenario: z.unknown(),
  host: z.record(z.string(), z.unknown()),
  toolVersions: z.record(z.string(), z.string().nullable()),
  rootfsHash: z.string().nullable(),
  backends: z.array(backendResultSchema),
  /** How repetitions were ordered across backends, e.g. "interleaved (rotating ABC, BCA, CAB)". */
  order: z.string(),
  cells: z.array(cellSchema),
  overheads: z.array(overheadSchema),
  /** Figures compared by difference of means instead of a ratio (schemaVersion 2). */
  differences: z.array(differenceSchema),
  /** The headline per category, computed once (src/report/headline.ts), rendered by HTML, Markdown and PNG. */
  headline: z.array(headlineRowSchema),
  warnings: z.array(warningSchema),
  /** Where the harness, peers and instances ran, and what happened to idle instances (src/runner/placement.ts). */
  placement: placementSchema.optional(),
  /**
   * Per workload, how much of its wall time was spent inside the measuring tools (src/runner/duty.ts); absent in older
   * files.
   */
  dutyCycle: z.record(z.string(), dutyCycleSchema).optional(),
  /** Set when measurements succeeded but cleanup did not: what is left, how to remove it. */
  cleanupFailed: z.object({ leftovers: z.array(z.string()), hint: z.string() }).optional(),
  /**
   * The samples.jsonl written with this results.json (written and fsynced first): a reader checks the hash to know both
   * match.
   */
  samples: z.object({ file: z.literal('samples.jsonl'), rows: z.number(), sha256: z.string() }).optional(),
});

/**
 * A version-1 file: the measured cells are the same; comparisons carry no
 * verdict fields and there are no differences or headline. Only what upgrade.ts
 * reads is required of its overheads (they are recomputed from the cells).
 */
export const resultsFileV1Schema = runResultsSchema.extend({
  schemaVersion: z.literal(1),
  overheads: z.array(z.looseObject({ backend: z.string(), workload: z.string(), metric: z.string() })),
  differences: z.array(z.unknown()).optional(),
  headline: z.array(z.unknown()).optional(),
});

/** One line of samples.jsonl: flat, for pandas / BigQuery / Grafana. */
export const sampleRowSchema = z.object({
  runId: z.string(),
  backend: z.string(),
  variant: z.string(),
  workload: z.string(),
  metric: z.string(),
  unit: z.string(),
  higherIsBetter: z.boolean(),
  repetition: z.number(),
  value: z.number(),
  rawLog: z.string(),
  /**
   * The value's round (`workload:repetition:probe`) and the start and end of its tool invocation (ISO 8601); absent in
   * older runs.
   */
  round: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  /**
   * The host that measured it: the inventory host name in a fleet, the hostname of a single run (absent in older runs).
   */
  host: z.string().optional(),
});
