/**
 * The shapes of a capacity plan: resources and their units, figures with
 * their uncertainty and sources, per-backend profiles and plans, and the
 * defaults of the what-if sweep and break-even. Types only, so the model,
 * its parts and the renderers share them without importing each other.
 * The formulas are documented in model.ts.
 */
import type { BackendKind } from '../backends/types.js';
import type { HostSpec, InstanceDemand, ReserveSpec } from './spec.js';

/** The host resources an instance draws on (not workloads: `disk` is IOPS, `network` Mbit/s). */
export const RESOURCES = ['cpu', 'memory', 'disk', 'network'] as const;
export type Resource = (typeof RESOURCES)[number];

export const RESOURCE_UNITS: Record<Resource, string> = {
  cpu: 'cores',
  memory: 'MiB',
  disk: 'IOPS',
  network: 'Mbit/s',
};

// --- Plan types ---------------------------------------------------------------

export type SourceRef =
  | {
      id: string;
      kind: 'measured';
      runId: string;
      backend: string;
      workload: string;
      metric: string;
      unit: string;
      /** Which statistic was read: an overhead entry's ratio + CI, or a cell's mean + the t CI of the mean. */
      stat: 'overhead.ratio' | 'summary.mean';
      value: number;
      ci95: [number, number];
      n: number | null;
      rawLogs: string[];
    }
  | {
      id: string;
      kind: 'derived';
      /** Ratio computed from two cell summaries because results.overheads has no entry. */
      runId: string;
      backend: string;
      workload: string;
      metric: string;
      unit: string;
      stat: 'ratio-of-means' | 'paired-ratio' | 'difference-of-means';
      value: number;
      ci95: [number, number];
      from: string[];
    }
  | { id: string; kind: 'input'; field: string; value: number; origin: string }
  | { id: string; kind: 'default'; field: string; value: number; note: string };

/** A number with its uncertainty and where it came from. */
export interface Figure {
  value: number;
  best: number;
  worst: number;
  unit: string;
  /** Ids into CapacityPlan.sources. */
  sources: string[];
}

export interface ResourceCost {
  resource: Resource;
  /** The instance's native demand (null: not given). */
  demand: number | null;
  /** Usable host capacity after the reserve (null: not given). */
  usable: number | null;
  /** Cost factor k (cpu/disk/network) or footprint F in MiB (memory). */
  overhead: Figure | null;
  /** Per-instance host cost. */
  cost: Figure | null;
  /** floor(usable / cost). */
  fit: Figure | null;
  status: 'measured' | 'not-measured' | 'not-constrained' | 'baseline';
  note?: string;
}

export interface ScenarioFit {
  instancesPerHost: number;
  binding: Resource[];
  hostsNeeded: number | null;
}

export interface BackendProfile {
  label: string;
  kind: BackendKind;
  variant: string;
  accelerator: string;
  /** Cost factors (cpu, disk, network) and the footprint (memory) of this backend. */
  cpu: Figure | null;
  disk: Figure | null;
  network: Figure | null;
  footprintMiB: Figure | null;
  /**
   * Container engines: the daemon's own memory (dockerd + containerd, measured with no container running), a
   * per-host fixed cost taken from the usable memory once. Undefined for daemonless backends.
   */
  engineFixedMiB?: Figure;
  /** Container engines: mean PSS of the per-container helper (conmon, shim), already inside footprintMiB. */
  engineHelperMiB?: number;
  notes: string[];
}

export interface BackendPlan {
  label: string;
  kind: BackendKind;
  variant: string;
  accelerator: string;
  /** True when the accelerator is TCG (emulation): CPU figures do not transfer to KVM hosts. */
  emulated: boolean;
  resources: Record<Resource, ResourceCost>;
  best: ScenarioFit;
  expected: ScenarioFit;
  worst: ScenarioFit;
  instancesPerHost: Figure;
  hostsNeeded: Figure | null;
  notes: string[];
}

export interface DensityRatio {
  container: string;
  vm: string;
  /** N_container / N_vm (expected); null when the VM fits 0. */
  expected: number | null;
  /** [N_c,worst/N_vm,best, N_c,best/N_vm,worst]. */
  range: [number | null, number | null];
  sources: string[];
}

export interface SweepRow {
  memoryMiB: number;
  backends: { label: string; expected: number; best: number; worst: number; binding: Resource[] }[];
}

export interface BreakEven {
  vm: string;
  reference: string;
  thresholdPct: number;
  /** Smallest instance memory (MiB) at which the VM's extra fixed footprint costs ≤ threshold of memory capacity. */
  memoryMiB: Figure;
  /** Extra fixed footprint F_vm − F_ref (MiB). */
  extraFootprintMiB: Figure;
  /** Memory-capacity loss L(m) at the requested instance size, in percent. */
  lossAtDemandPct: Figure;
}

export interface RuntimeClassOverhead {
  backend: string;
  name: string;
  handler: string;
  handlerIsGuess: boolean;
  /** Upper CI end of the footprint, rounded up (Mi). null: not measured. */
  memoryMi: number | null;
  memoryExpectedMi: number | null;
  /** Upper CI end of the CPU overhead for D.vcpus, rounded up (millicores). null: not measured / unbounded. */
  cpuMillicores: number | null;
  cpuExpectedMillicores: number | null;
  sources: string[];
  notes: string[];
}

export interface CapacityPlan {
  runId: string;
  runStatus: string;
  host: HostSpec;
  instance: InstanceDemand;
  reserve: ReserveSpec;
  target: number | null;
  usable: Record<Resource, number | null>;
  backends: BackendPlan[];
  densityRatios: DensityRatio[];
  sweep: SweepRow[];
  breakEven: BreakEven[];
  runtimeClasses: RuntimeClassOverhead[];
  warnings: string[];
  sources: Record<string, SourceRef>;
}

export interface PlanOptions {
  host: HostSpec;
  instance: InstanceDemand;
  target?: number;
  /** Overrides the profile's reserve and the defaults, field by field. */
  reserve?: Partial<ReserveSpec>;
  /** Memory sizes (MiB) for the what-if sweep. */
  sweepMiB?: number[];
  /** Break-even threshold in percent (default 5). */
  breakEvenPct?: number;
}

export const DEFAULT_SWEEP_MIB: readonly number[] = [128, 256, 512, 1024, 2048, 4096, 8192, 16384];
export const DEFAULT_BREAK_EVEN_PCT = 5;

/** Float tolerance for floor and ceil: 3.9999999 instances from float noise fit as 4, 4.0000001 MiB round up to 4. */
export const EPS = 1e-9;
