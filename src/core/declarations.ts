/**
 * What only a workload or a backend provider knows, as data the layers below
 * and beside them read without importing them: stats/ (how a metric is
 * compared and its threshold), report/ (title, order, primary metric, phrase,
 * isolation view) and capacity/ (which metrics stand for a resource) look
 * a workload up here by name; plausibility looks a variant's caveats up here.
 *
 * The workload registry (src/workloads/registry.ts) and the provider registry
 * (src/backends/registry.ts) fill this catalogue when a module registers;
 * src/workloads/index.ts and src/backends/providers/index.ts mark it complete
 * once every module is in. A lookup before that throws: a path that reads a
 * declaration without loading the modules that declare it would otherwise
 * judge every figure by the defaults, silently.
 */

/** How a backend's figure is set against native's: ratio of means, or difference of means in the unit. */
export type Comparison = 'ratio' | 'difference';

/** How one workload's metrics are judged against native. */
export interface JudgementDecl {
  /** Default comparison of the workload's metrics (a ratio still falls back to a difference near 0). */
  comparison: Comparison;
  /** Practical threshold in percent for ratio figures; the scenario's `thresholds:` overrides it. */
  thresholdPct?: number;
  /** Practical thresholds in a unit for figures compared by difference, by unit. */
  thresholdByUnit?: Readonly<Record<string, number>>;
  /** Isolation adds work here, it cannot remove it: a backend that beats native is flagged implausible. */
  cannotBeatNative?: boolean;
}

/** One place where a workload's metric can stand for a capacity resource. */
export interface CapacityDecl {
  /** The capacity model's resource (capacity/profiles.ts says what each means). */
  resource: 'cpu' | 'footprint' | 'disk' | 'network';
  /** Candidate tiers for that resource, best first; lower tiers across workloads are merged by index. */
  tiers: ReadonlyArray<{ tier: number; metrics: readonly RegExp[] }>;
}

/** The report's own views of a workload that is told in its own terms, not only as a figure vs native. */
export type IsolationViewKind = 'partition' | 'memory-gradient' | 'density' | 'noisy-neighbor' | 'startup';

export interface IsolationDecl {
  /** Which view of report/isolation/ renders the workload's recorded extras. */
  view: IsolationViewKind;
  /** The headline reads the workload with its isolation reader instead of a figure vs native. */
  headline?: boolean;
  /** The category's relative-mean bar chart gives way to the view's own charts (the metric table stays). */
  replacesBarChart?: boolean;
}

/** A program a workload runs, where it runs, and how its version is read and its package named. */
export interface ToolDecl {
  name: string;
  /** instance: inside the instance (the workload image carries it); peer: on the traffic peer side (the host's). */
  where: 'instance' | 'peer';
  /** Debian package that provides it (doctor's fix line). */
  pkg: string;
  /** How its version is read for results' tool versions. */
  version?: { argv: string[]; pattern?: RegExp };
}

export interface WorkloadDeclaration {
  name: string;
  /** Title in the report, the headline and the CLI. */
  title: string;
  /** Place in the report: categories are sorted by it (smaller first). */
  order: number;
  judgement: JudgementDecl;
  /** Metrics that stand for the workload in the headline, fleet merge, ... (first match wins). */
  primary?: readonly RegExp[];
  /** Words after a difference in the headline: "per idle instance"; per metric first, then for all. */
  phrase?: string;
  metricPhrases?: Readonly<Record<string, string>>;
  /** Metrics drawn as distributions (start-up times, latencies): all of the workload's, or those matched. */
  distribution?: 'all' | RegExp;
  /**
   * A metric recorded to check the measurement, never compared (the disk device check: device bytes read
   * per byte the tool read): the workload's other figures are plausible only while its median lies in [min, max].
   */
  check?: { metric: string; min: number; max: number };
  capacity?: readonly CapacityDecl[];
  isolation?: IsolationDecl;
  /** Programs beyond the common set (src/images/host-inputs.ts, ops/versions.ts) the workload runs. */
  tools?: readonly ToolDecl[];
}

/** A known limit of a backend variant that changes what a figure means. */
export interface CaveatDecl {
  /** Stable id others test for, e.g. `o-direct-page-cache`. */
  id: 'o-direct-page-cache' | (string & {});
  /** The note attached to the figures it touches. */
  note: string;
  /** Workloads whose figures it touches. */
  workloads?: readonly string[];
}

/** A process that runs for an instance beside its payload (shim, sandbox, VMM thread). */
export interface HelperProcessDecl {
  /** Its command name as /proc/<pid>/comm shows it (a prefix). */
  comm: string;
  role: string;
  /** Where it runs: inside the instance's cgroup and CPUs (the instance pays) or outside (the host does). */
  placement: 'instance' | 'host';
  /** Said in the report when it runs outside the instance: what the instance's figures leave out. */
  leavesOut?: string;
}

export interface VariantDeclaration {
  /** The provider that offers the variant (`container`, `vm`, `docker`, ...). */
  provider: string;
  /** results' `variant` (runc, runsc, q35-tcg, ...) or a prefix ending in `*` (`q35-*`). */
  variant: string;
  caveats?: readonly CaveatDecl[];
  helpers?: readonly HelperProcessDecl[];
  /** The provider runs a self-check whose result results carry (backends[].vmSelfCheck). */
  selfCheck?: string;
}

const workloads = new Map<string, WorkloadDeclaration>();
const variants: VariantDeclaration[] = [];
let workloadsComplete = false;
let providersComplete = false;

export function declareWorkload(d: WorkloadDeclaration): void {
  if (workloads.has(d.name)) throw new Error(`workload ${d.name} declared twice`);
  workloads.set(d.name, d);
}

export function declareVariants(ds: readonly VariantDeclaration[]): void {
  for (const d of ds) {
    if (variants.some((v) => v.variant === d.variant)) throw new Error(`backend variant ${d.variant} declared twice`);
    variants.push(d);
  }
}

/** Called by src/workloads/index.ts once every workload module is loaded. */
export function workloadCatalogueComplete(): void {
  workloadsComplete = true;
}

/** Called by src/backends/providers/index.ts once every provider module is loaded. */
export function providerCatalogueComplete(): void {
  providersComplete = true;
}

function needWorkloads(): void {
  if (!workloadsComplete) throw new Error('workload declarations read before src/workloads/index.js was loaded');
}

/** The declaration of a workload, or undefined for a name no module declares (a file from another version). */
export function workloadDeclaration(name: string): WorkloadDeclaration | undefined {
  needWorkloads();
  return workloads.get(name);
}

export function workloadDeclarations(): WorkloadDeclaration[] {
  needWorkloads();
  return [...workloads.values()].sort((a, b) => a.order - b.order);
}

/** What a results `variant` is known to change, from its provider's declaration. */
export function variantDeclaration(variant: string | undefined): VariantDeclaration | undefined {
  if (!providersComplete)
    throw new Error('backend declarations read before src/backends/providers/index.js was loaded');
  if (variant === undefined) return undefined;
  return (
    variants.find((v) => v.variant === variant) ??
    variants.find((v) => v.variant.endsWith('*') && variant.startsWith(v.variant.slice(0, -1)))
  );
}
