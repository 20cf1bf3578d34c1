/**
 * The fixed shape of every workload (as PerfKitBenchmarker's modules): a
 * parameter schema with defaults, metric declarations, and run() for one
 * repetition built from argv + a pure parser. A workload gets an Instance and
 * never asks which backend it is.
 */
import type { z } from 'zod';
import type { Instance, InstanceSpec, ExecResult } from '../backends/types.js';
import type { BenchNet } from '../net/bench.js';
import type { ExtraSchemas } from './extras/common.js';
import type { HostCapabilities } from '../host/capabilities.js';
import type { WorkloadDeclaration } from '../core/declarations.js';

/** A workload's registry key (results' `workload`): any name a module registers. */
export type WorkloadName = string;

export interface MetricDecl {
  name: string;
  unit: string;
  higherIsBetter: boolean;
  description: string;
}

export interface MetricValue {
  metric: string;
  value: number;
  /** Raw log this value was parsed from (relative to the run dir). Filled by WorkloadContext.exec. */
  rawLog?: string;
}

/** A started instance plus how long it took to become ready (measured by the lifecycle template). */
export interface StartedInstance {
  instance: Instance;
  /** start() to the first successful exec of /bin/true through the harness (a stage, not the start-up figure). */
  readyMs: number;
  /** The start-up figure by the one definition and its stages (lifecycle.ts: startupMeasure). */
  startup: StartupMeasure;
}

/** Start-up by the one definition (STARTUP_DEFINITION), with every stage on its own; all ms. */
export interface StartupMeasure {
  definition: string;
  /** The headline: launch to the payload's own ready signal. */
  startupMs: number;
  stages: {
    /** start() to launch: host-side preparation (scratch disk, cgroup, bundle; network attachment included). */
    prepareMs: number;
    /** Host-side network attachment alone (veth or tap); absent without network. */
    networkAttachMs?: number;
    /** Launch to the payload's signal: the headline again, as a stage. */
    launchToPayloadMs: number;
    /** Payload's signal to the first successful exec through the harness (runtime exec, guest agent). */
    payloadToFirstExecMs: number;
    /** start() to that first exec: the sum, what the harness waits for. */
    readyMs: number;
  };
  signal: string;
}

export interface WorkloadContext<P> {
  params: P;
  /** The long-lived instance of this backend for this run (overhead workloads use it). */
  instance: Instance;
  /** The spec that instance was started with. */
  spec: InstanceSpec;
  /** The bench namespace (traffic peer side), when the scenario uses the network. */
  net: BenchNet | undefined;
  /**
   * What this host offers (host/capabilities.ts), probed once per run: a workload consults it
   * instead of probing, and records a part it cannot measure as skipped with the reason and fix.
   */
  capabilities: HostCapabilities;
  /** 1-based repetition number; 0 for warm-ups. */
  repetition: number;
  /**
   * Fires when the repetition is cancelled (its workload timeout, or the run
   * interrupted). exec, execPeer and startInstance honour it themselves (they
   * kill what they started and reject with an AbortError); a workload passes it
   * to its own sleeps and waits (`sleep(ms, ctx.signal)`) and starts nothing
   * new once it has fired.
   */
  signal: AbortSignal;
  /**
   * Run argv in an instance, save stdout+stderr under raw/ and return the result plus
   * the raw log path. Throws a clear error on timeout or non-zero exit unless allowFailure.
   */
  exec(
    instance: Instance,
    argv: string[],
    opts: { tag: string; timeoutMs?: number; allowFailure?: boolean },
  ): Promise<ExecResult & { rawLog: string }>;
  /** Run argv in the bench namespace (iperf3/sockperf client side), logged like exec. */
  execPeer(
    argv: string[],
    opts: { tag: string; timeoutMs?: number; allowFailure?: boolean },
  ): Promise<ExecResult & { rawLog: string }>;
  /**
   * Start extra instances of the same backend (start-up, footprint, density, partition); stopped by the runner at
   * the end.
   */
  startInstance(overrides?: Partial<InstanceSpec>): Promise<StartedInstance>;
  /** Save a text as a raw log, returns its relative path. */
  saveRaw(tag: string, text: string): Promise<string>;
  /** Report progress text for long workloads. */
  progress(text: string): void;
  /** Default per-exec timeout from the scenario. */
  timeoutMs: number;
  /**
   * Keep structured data of this repetition that is not a metric (a time series, a
   * curve, where a sweep stopped and why). The runner stores it in the cell's
   * `extra[name]` as `[{ repetition, data }, ...]` (warm-ups dropped). Optional:
   * contexts that keep nothing (unit-test fakes) may leave it out.
   */
  recordExtra?: (name: string, data: unknown) => void;
  /**
   * Write back and drop the host's page cache (so a read test starts cold), with a
   * line saying what was done. Optional: contexts without host access (unit-test
   * fakes) leave it out, and the workload records that caches were not dropped.
   */
  dropHostCaches?: () => Promise<string>;
}

/**
 * A workload declares what only it knows (src/core/declarations.ts): its title and
 * place in the report, how its metrics are compared with native and their
 * thresholds, its primary metric, its capacity resource and its isolation view.
 * stats/, report/ and capacity/ read the declaration; none of them names the workload.
 */
export interface Workload<P = unknown> extends Omit<WorkloadDeclaration, 'name' | 'title'> {
  name: WorkloadName;
  title: string;
  description: string;
  /** Zod schema of the scenario parameters, with defaults; unknown keys rejected. */
  params: z.ZodType<P>;
  metrics: MetricDecl[];
  /** Declaration of a metric whose name is only known at run time (e.g. a backend's start-up stages). */
  metricFor?(name: string): MetricDecl | undefined;
  /**
   * Zod schema of each extra this workload records (ctx.recordExtra name -> data),
   * from src/workloads/extras/: checked when recorded, parsed when rendered. A
   * workload that records no extra leaves it out.
   */
  extraSchema?: ExtraSchemas;
  /** Needs the bench network. */
  needsNetwork: boolean;
  /** Needs a scratch disk. */
  needsDisk: boolean;
  /** One measured repetition. Returns values for (a subset of) the declared metrics. */
  run(ctx: WorkloadContext<P>): Promise<MetricValue[]>;
  /**
   * The tool invocations ("probes") of one repetition, each run on every backend back
   * to back before the next probe starts (a round per probe: the runner interleaves
   * per probe, so the values it pairs are seconds apart, not a whole workload apart).
   * Depends only on the parameters and the instance shape (the same for every
   * backend). Absent: run() is the one probe. A workload that declares probes keeps
   * run() as all its probes in turn (unit tests and one-off callers use it).
   */
  probes?(params: P, shape: ProbeShape): Array<Probe<P>>;
  /**
   * Once per backend and workload, before its first measured probe in a run attempt
   * (not per repetition): checks whose answer does not change between repetitions,
   * such as the environment record. Its extras are kept with that repetition.
   */
  setup?(ctx: WorkloadContext<P>): Promise<void>;
}

/** What a probe list may depend on besides the parameters: the instance's shape, the same on every backend. */
export interface ProbeShape {
  vcpus: number;
  memoryMiB: number;
}

/** One tool invocation (or one server + client pair) and the metric values it yields. */
export interface Probe<P = unknown> {
  /** Stable short name, part of the round id (`cpu:3:sysbench-1t`): a-z, 0-9 and '-'. */
  name: string;
  /** The metrics it yields (a subset of the workload's declared ones). */
  metrics: readonly string[];
  run(ctx: WorkloadContext<P>): Promise<MetricValue[]>;
}

/** The probe a workload without declared probes is: its whole run(). */
export const WHOLE_RUN_PROBE = 'all';

/** A workload's probes for these parameters and shape; one probe (its run()) when it declares none. */
export function probesOf<P>(w: Workload<P>, params: P, shape: ProbeShape): Array<Probe<P>> {
  const declared = w.probes?.(params, shape);
  if (!declared || declared.length === 0)
    return [{ name: WHOLE_RUN_PROBE, metrics: w.metrics.map((m) => m.name), run: (ctx) => w.run(ctx) }];
  const seen = new Set<string>();
  for (const p of declared) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(p.name) || seen.has(p.name))
      throw new Error(`workload ${w.name}: probe name "${p.name}" is not unique or not [a-z0-9-]`);
    seen.add(p.name);
  }
  return declared;
}

/** run() of a workload with probes: setup, then every probe in turn (as one backend alone would run them). */
export async function runProbesInTurn<P>(w: Workload<P>, ctx: WorkloadContext<P>): Promise<MetricValue[]> {
  await w.setup?.(ctx);
  const out: MetricValue[] = [];
  for (const p of probesOf(w, ctx.params, ctx.spec)) out.push(...(await p.run(ctx)));
  return out;
}

/** Thrown by pure parsers on output they cannot read: names the tool, never yields NaN. */
export class ParseError extends Error {
  constructor(
    readonly tool: string,
    message: string,
  ) {
    super(`${tool}: ${message}`);
    this.name = 'ParseError';
  }
}

/** Guard used by parsers: a finite number or a ParseError. */
export function finite(tool: string, what: string, v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new ParseError(tool, `${what} missing or not a number (got ${JSON.stringify(v)})`);
  return n;
}
