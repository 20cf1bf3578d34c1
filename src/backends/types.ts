/**
 * The one interface that joins native, container and VM. A workload receives an
 * Instance and never asks which backend it came from.
 */
import type { CleanupRegistry } from '../core/cleanup.js';
import type { HostFacts } from '../host/facts.js';
import type { BenchNet } from '../net/bench.js';
import type { WorkloadImage } from '../images/rootfs.js';
import type { CgroupHandle } from '../host/cgroup.js';

/**
 * Result categories (results.json backends[].kind, samples.jsonl `backend`): the baseline, a container of any
 * runtime or engine, a VM. Which one of them is the variant; the providers (backends/registry.ts) own the rest.
 */
export const BACKEND_KINDS = ['native', 'container', 'vm'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface DiskSpec {
  /** Size of the scratch disk the disk workloads use. */
  sizeMiB: number;
  /**
   * `dir`: a host directory bind-mounted (what container users do);
   * `image`: a raw image file (what a VM always gets), for like-for-like disk comparisons.
   */
  mode: 'dir' | 'image';
  /**
   * Host directory to hold the scratch disk (dir or image, under a per-instance name)
   * instead of the instance's private directory: lets a workload put two instances'
   * disks on one device it owns (partition: a bfq loop device). The backend never
   * removes this directory, only what it created in it.
   */
  placeUnder?: string;
}

/** One set of limits, mapped by each backend to its own mechanism (see docs/workloads.md, "Limits"). */
export interface InstanceSpec {
  /** Unique, sanitised ([a-z0-9-], <= 32 chars). Used in cgroup paths, bundle dirs, netns names. */
  name: string;
  vcpus: number;
  /** Host CPUs the instance may run on (cpuset). The native baseline gets the same set. */
  cpus: number[];
  memoryMiB: number;
  /** Hard CPU cap in percent of one CPU (150 = 1.5 CPUs). Undefined: no quota beyond the cpuset. */
  cpuQuotaPercent?: number;
  /** Relative CPU weight, cgroup v2 scale 1..10000 (100 = default). v1: shares = weight*1024/100. */
  cpuWeight?: number;
  pidsLimit: number;
  disk: DiskSpec;
  /** Join the bench network (an address in 198.18.0.0/15 reachable from the bench namespace). */
  network: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  /**
   * Aborting ends the exec at once: its process (and what it forked) is killed
   * and the call rejects with an AbortError. Every backend honours it.
   */
  signal?: AbortSignal;
}

export interface StartOptions {
  signal?: AbortSignal;
}

export interface ExecResult {
  /** Exit code; 128+signal when killed by a signal; -1 when it never started. */
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time seen by the host, from request to result. */
  wallMs: number;
  timedOut: boolean;
  /** Set when the instance's memory limit killed the process (cgroup OOM event or guest OOM). */
  oomKilled?: boolean;
}

export interface Footprint {
  /** Resident memory of the host processes that make up the instance. */
  hostRssBytes: number;
  /** Proportional set size of those processes (shared pages split): the cross-backend figure. */
  hostPssBytes?: number;
  /** Memory charged to the instance's cgroup (see docs/workloads.md for v1/v2 definitions). */
  cgroupMemoryBytes?: number;
  /** How many host processes were counted. */
  processes: number;
  /**
   * Parts of the figure worth naming apart (already included in the totals): e.g. a container engine's
   * per-container helper (conmon, containerd-shim-runc-v2), so its cost can be attributed.
   */
  parts?: Array<{ name: string; role: string; pssBytes: number; rssBytes: number; processes: number }>;
}

export interface StartupStages {
  /** Named stage -> milliseconds since start() was called (monotonic, cumulative). */
  [stage: string]: number;
}

/**
 * The one start-up definition, the same for every backend and for the bare
 * references in bench/: from the launch of the instance (the runtime, QEMU or the
 * native process is spawned) to the first instruction of its payload (the
 * container's init, the guest's /init, the native process), signalled by the
 * payload itself as it reaches the host (a marker line on its stdout; a VM: on its
 * serial console). Never a second runtime invocation. Host-side preparation,
 * network attachment and the first exec through the harness are their own stages.
 */
export const STARTUP_DEFINITION =
  "launch (runtime, QEMU or native process spawned) to the payload's first instruction, " +
  'signalled by the payload itself (a marker line on its stdout / serial console, timestamped as the host reads ' +
  'it); preparation, network attachment and the first exec are separate stages';

/** When the instance launched and when its payload signalled, ms since start() was called. */
export interface StartupTiming {
  /** The backend spawned the instance (`runc run`, QEMU, the native payload process). */
  launchedMs: number;
  /** The payload's own ready marker reached the host. */
  payloadReadyMs: number;
  /**
   * Host-side network attachment (veth or tap) on its own, ms of duration; undefined without network. Before launch on
   * every backend.
   */
  networkAttachMs?: number;
  /** How the payload signalled (for the record). */
  signal: string;
}

export interface Instance {
  readonly name: string;
  readonly kind: BackendKind;
  readonly variant: string;
  /** Path inside the instance where the scratch disk is mounted (writable). */
  readonly scratchDir: string;
  /** Address reachable from the bench namespace when spec.network is set. */
  readonly address: string | undefined;
  /**
   * The instance's link as seen from the bench namespace (veth peer or tap), where
   * tc shapes its traffic for network shares and caps. Undefined without network.
   */
  readonly benchIf?: string;
  /** The cgroup holding the instance's host processes (for accounting and weights). */
  readonly cgroup: CgroupHandle | undefined;
  /** Stages of start-up the backend can tell apart, ms since start() was called. */
  startupStages(): StartupStages;
  /** The start-up definition's end points (STARTUP_DEFINITION); the lifecycle turns them into the figure. */
  startupTiming(): StartupTiming;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  footprint(): Promise<Footprint>;
  /** Host CPU seconds consumed by the instance so far (cgroup cpu accounting). */
  hostCpuSeconds(): Promise<number>;
  /** Idempotent; releases everything the instance created. */
  stop(): Promise<void>;
}

export interface BackendInfo {
  kind: BackendKind;
  /** Which kind of the backend: OCI runtime (runc, crun, runsc) or machine+accel (q35-tcg). */
  variant: string;
  /** native | runc | crun | runsc | kvm | tcg */
  accelerator: string;
  /** Why this accelerator was chosen (e.g. "kvm_pvm is software virtualization; calibration 912x slower"). */
  acceleratorReason: string;
  /** Tool versions relevant to this backend. */
  versions: Record<string, string>;
  /** Loud caveats that belong next to every figure (e.g. emulated VM). */
  warnings: string[];
  /** Backend-specific facts worth recording (machine type, calibration figure, mechanisms). */
  details: Record<string, unknown>;
}

/** Everything a backend needs from the run, decided once and passed in. */
export interface BackendContext {
  runId: string;
  /** Short hex id of the run, used in kernel-visible names (interface names max 15 chars). */
  shortId: string;
  /** Private directory for instance state (bundles, sockets, disk images). */
  workDir: string;
  /** Where raw logs (console logs) are saved. */
  rawDir: string;
  host: HostFacts;
  cleanup: CleanupRegistry;
  image: WorkloadImage;
  /** The bench network; undefined when no workload needs the network. */
  net: BenchNet | undefined;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Column label, e.g. `native`, `container:runc`, `vm:q35-tcg`. */
  readonly label: string;
  /** Probe the host (accelerator calibration, runtime checks). Throws IsobenchError BACKEND_UNAVAILABLE. */
  prepare(): Promise<void>;
  info(): BackendInfo;
  /**
   * Resolves once the instance is ready to exec. Start-up timing is measured by
   * the caller (runner/lifecycle.ts). An abort (opts.signal) ends a start under
   * way: the backend releases what it created and rejects with an AbortError
   * (a VM's boot wait is the long one); an instance that still comes up is
   * stopped by the caller.
   */
  start(spec: InstanceSpec, opts?: StartOptions): Promise<Instance>;
}
