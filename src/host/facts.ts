/**
 * Host facts, probed once per process and passed down (backends never re-probe).
 * Pure parsers are exported so tests can feed them fixture text.
 */
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import { runnableBesidesUs } from './busy.js';
import { detectCgroupLayout, type CgroupLayout } from './cgroup.js';
import {
  maskCapabilities,
  probeCapabilities,
  realHostTree,
  type CapabilityId,
  type HostCapabilities,
} from './capabilities.js';

export interface KvmFacts {
  /** /dev/kvm exists. */
  devicePresent: boolean;
  /** The CPU advertises vmx (Intel) or svm (AMD). */
  cpuFlag: 'vmx' | 'svm' | null;
  /** KVM modules present in /sys/module (kvm_intel, kvm_amd, kvm_pvm ...). */
  modules: string[];
  /** Hardware virtualization is real: a vmx/svm flag AND kvm_intel/kvm_amd. */
  hardware: boolean;
  /** One-line explanation for doctor and results. */
  summary: string;
}

export interface HostFacts {
  hostname: string;
  isRoot: boolean;
  cpuModel: string;
  cpus: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  kernel: string;
  os: string;
  /** Running inside a hypervisor (cpu flag `hypervisor`). */
  virtualized: boolean;
  cgroup: CgroupLayout;
  kvm: KvmFacts;
  ksm: { available: boolean; run: number | null; pagesSharing: number | null };
  thp: { enabled: string | null; defrag: string | null };
  /** CPU feature flags from /proc/cpuinfo (the VM self-check compares the guest's with these). */
  cpuFlags: string[];
  /**
   * KVM module parameters that change what VM figures mean, per module
   * (/sys/module/kvm{,_intel,_amd}/parameters/NAME), only those that exist on this host.
   */
  kvmParams: Record<string, Record<string, string>>;
  cpuGovernor: string | null;
  loadAvg: [number, number, number];
  /** Tasks running or waiting for a CPU at the start, besides isobench (a mean of a few reads; host/busy.ts). */
  runnableAtStart: number | null;
  /** What the kernel and cgroups offer, probed once (host/capabilities.ts); masked ones marked. */
  capabilities: HostCapabilities;
}

/** The same facts with some capabilities treated as absent for this run (--mask-capability). */
export function withMaskedCapabilities(host: HostFacts, ids: readonly CapabilityId[]): HostFacts {
  if (ids.length === 0) return host;
  // A masked KVM is no hardware virtualization: the VM backend's auto choice then takes TCG, as on a host without it.
  const kvm =
    ids.includes('kvm') && host.kvm.hardware
      ? {
          ...host.kvm,
          hardware: false,
          summary: `hardware virtualization masked for this run (--mask-capability kvm); the host: ${host.kvm.summary}`,
        }
      : host.kvm;
  return { ...host, kvm, capabilities: maskCapabilities(host.capabilities, ids) };
}

export function parseCpuFlags(cpuinfo: string): Set<string> {
  const line = cpuinfo.split('\n').find((l) => l.startsWith('flags'));
  return new Set((line?.split(':')[1] ?? '').trim().split(/\s+/).filter(Boolean));
}

export function parseMeminfo(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (match?.[1] && match[2]) m.set(match[1], Number(match[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return m;
}

/** The bracketed choice in a sysfs selector such as "always [madvise] never". */
export function selected(text: string | undefined): string | null {
  if (text === undefined) return null;
  const m = /\[(\w+)\]/.exec(text);
  return m?.[1] ?? (text.trim() || null);
}

export function classifyKvm(devicePresent: boolean, flags: Set<string>, modules: string[]): KvmFacts {
  const cpuFlag = flags.has('vmx') ? 'vmx' : flags.has('svm') ? 'svm' : null;
  const hwModule = modules.some((m) => m === 'kvm_intel' || m === 'kvm_amd');
  const hardware = cpuFlag !== null && hwModule && devicePresent;
  let summary: string;
  if (hardware)
    summary =
      `hardware virtualization (${cpuFlag}, ${modules.join(', ')}); ` + 'VM backend may use KVM after calibration';
  else if (modules.includes('kvm_pvm'))
    summary =
      `${devicePresent ? '/dev/kvm present but' : 'no /dev/kvm;'} KVM is software (kvm_pvm, no vmx/svm flag): ` +
      'VM backend will use TCG emulation';
  else if (devicePresent)
    summary =
      `/dev/kvm present but no vmx/svm CPU flag (${modules.join(', ') || 'no kvm_intel/kvm_amd'}): ` +
      'VM backend will use TCG emulation';
  else summary = 'no /dev/kvm and no hardware virtualization: VM backend will use TCG emulation';
  return { devicePresent, cpuFlag, modules, hardware, summary };
}

/**
 * The KVM parameters worth recording: halt polling (host CPU burnt by idle vCPUs),
 * the iTLB-multihit workaround (executable huge pages split), interrupt
 * virtualization (APICv/AVIC), two-dimensional paging (EPT/NPT).
 */
export const KVM_PARAMS: Record<string, string[]> = {
  kvm: [
    'halt_poll_ns',
    'halt_poll_ns_grow',
    'halt_poll_ns_shrink',
    'nx_huge_pages',
    'tdp_mmu',
    'eager_page_split',
    'lapic_timer_advance_ns',
    'lapic_timer_advance',
    'enable_pmu',
  ],
  kvm_intel: ['enable_apicv', 'ept', 'unrestricted_guest', 'vpid', 'pml', 'preemption_timer', 'enable_ipiv'],
  kvm_amd: ['avic', 'npt', 'nested', 'vls', 'vgif', 'force_avic'],
};

/** Read the KVM_PARAMS that exist under `sysModule` (a /sys/module tree; fixtures in tests). */
export async function readKvmParams(sysModule = '/sys/module'): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [mod, names] of Object.entries(KVM_PARAMS)) {
    for (const n of names) {
      const v = await readOpt(`${sysModule}/${mod}/parameters/${n}`);
      if (v !== undefined) (out[mod] ??= {})[n] = v;
    }
  }
  return out;
}

export interface HostVmWarning {
  code: string;
  message: string;
}

function truthy(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return /^(y|1|on|true)$/i.test(v.trim());
}

/**
 * Warnings about host settings that change what a VM figure means (pure).
 * THP applies to every accelerator (QEMU madvises guest RAM); the KVM
 * parameters only matter when the guest runs under KVM.
 */
export function vmHostWarnings(host: Pick<HostFacts, 'thp' | 'kvmParams'>, accel: 'kvm' | 'tcg'): HostVmWarning[] {
  const w: HostVmWarning[] = [];
  if (host.thp.enabled === 'madvise')
    w.push({
      code: 'THP_MADVISE_VM',
      message:
        'transparent huge pages are "madvise": QEMU madvises guest RAM (MADV_HUGEPAGE), ' +
        "so the VM's memory is backed by 2 MiB host pages where native and container processes get 4 KiB pages " +
        'unless they madvise; memory-latency figures compare different host page sizes ' +
        '(the guest itself runs with THP "madvise" too, set on its kernel command line)',
    });
  if (accel !== 'kvm') return w;
  const kvm = host.kvmParams.kvm ?? {};
  const poll = Number(kvm.halt_poll_ns);
  if (Number.isFinite(poll) && poll > 0)
    w.push({
      code: 'KVM_HALT_POLL',
      message:
        `kvm halt_poll_ns=${poll}: an idle vCPU spins up to ${(poll / 1000).toFixed(0)} µs on the host ` +
        `before sleeping, so host CPU per GB and per-instance host CPU figures of I/O workloads include polling ` +
        `(set /sys/module/kvm/parameters/halt_poll_ns to 0 to measure without it)`,
    });
  const nx = kvm.nx_huge_pages;
  if (nx !== undefined && truthy(nx) === true)
    w.push({
      code: 'KVM_NX_HUGE_PAGES',
      message:
        `kvm nx_huge_pages=${nx}: the iTLB-multihit workaround splits executable guest huge pages into 4 KiB ` +
        `pages in the second-level page table: CPU and memory figures of the VM include that ` +
        `(the host's own mitigation choice, recorded)`,
    });
  const intel = host.kvmParams.kvm_intel;
  const amd = host.kvmParams.kvm_amd;
  if (intel && truthy(intel.enable_apicv) === false)
    w.push({
      code: 'KVM_NO_APICV',
      message:
        'kvm_intel enable_apicv=N: every guest interrupt costs a VM exit; VM network and disk latency figures are ' +
        'overstated vs a host with APICv',
    });
  if (amd && truthy(amd.avic) === false)
    w.push({
      code: 'KVM_NO_AVIC',
      message:
        'kvm_amd avic=0: guest interrupts are not virtualized (each costs a VM exit); VM network and disk latency ' +
        'figures are higher than on a host with AVIC enabled',
    });
  if (intel && truthy(intel.ept) === false)
    w.push({
      code: 'KVM_NO_TDP',
      message: 'kvm_intel ept=N: shadow paging; VM memory and syscall figures describe shadow paging, not EPT',
    });
  if (amd && truthy(amd.npt) === false)
    w.push({
      code: 'KVM_NO_TDP',
      message: 'kvm_amd npt=0: shadow paging; VM memory and syscall figures describe shadow paging, not NPT',
    });
  return w;
}

async function readOpt(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

let cached: Promise<HostFacts> | undefined;
let basics: Promise<HostBasics> | undefined;

/** The host's facts without its capabilities, which only a run and doctor need. */
export type HostBasics = Omit<HostFacts, 'capabilities'>;

/** Probe once per process; later calls get the same answer. */
export function hostFacts(): Promise<HostFacts> {
  cached ??= hostBasics().then(async (b) => ({
    ...b,
    capabilities: await probeCapabilities(await realHostTree(b.cgroup, b.kvm)),
  }));
  return cached;
}

/**
 * The facts that reading files and checking a scenario need (CPUs, memory, the cgroup layout): no
 * capability probe, whose tc check creates a network namespace, for a command that only reads.
 */
export function hostBasics(): Promise<HostBasics> {
  basics ??= probeHost();
  return basics;
}

/** Fresh MemAvailable, for preflight and density checks that need the current value. */
export async function memAvailableBytes(): Promise<number> {
  return parseMeminfo((await readOpt('/proc/meminfo')) ?? '').get('MemAvailable') ?? os.freemem();
}

async function probeHost(): Promise<HostBasics> {
  const cpuinfo = (await readOpt('/proc/cpuinfo')) ?? '';
  const flags = parseCpuFlags(cpuinfo);
  const meminfo = parseMeminfo((await readOpt('/proc/meminfo')) ?? '');
  let modules: string[] = [];
  try {
    modules = (await fs.readdir('/sys/module')).filter((m) => m === 'kvm' || m.startsWith('kvm_'));
  } catch {
    /* no sysfs */
  }
  const osRelease = (await readOpt('/etc/os-release')) ?? '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? os.type();
  const ksmRun = await readOpt('/sys/kernel/mm/ksm/run');
  const ksmSharing = await readOpt('/sys/kernel/mm/ksm/pages_sharing');
  const load = os.loadavg();
  const runnable = await runnableBesidesUs();
  const cgroup = await detectCgroupLayout();
  const kvm = classifyKvm(existsSync('/dev/kvm'), flags, modules);
  return {
    hostname: os.hostname(),
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memTotalBytes: meminfo.get('MemTotal') ?? os.totalmem(),
    memAvailableBytes: meminfo.get('MemAvailable') ?? os.freemem(),
    kernel: os.release(),
    os: pretty,
    virtualized: flags.has('hypervisor'),
    cgroup,
    kvm,
    ksm: {
      available: ksmRun !== undefined,
      run: ksmRun === undefined ? null : Number(ksmRun),
      pagesSharing: ksmSharing === undefined ? null : Number(ksmSharing),
    },
    thp: {
      enabled: selected(await readOpt('/sys/kernel/mm/transparent_hugepage/enabled')),
      defrag: selected(await readOpt('/sys/kernel/mm/transparent_hugepage/defrag')),
    },
    cpuFlags: [...flags].sort(),
    kvmParams: await readKvmParams(),
    cpuGovernor: (await readOpt('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor')) ?? null,
    loadAvg: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
    runnableAtStart: runnable === undefined ? null : Math.round(runnable * 10) / 10,
  };
}
