/**
 * Host facts, probed once per process and passed down (backends never re-probe).
 * Pure parsers are exported so tests can feed them fixture text.
 */
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import { detectCgroupLayout, type CgroupLayout } from './cgroup.js';

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
  cpuGovernor: string | null;
  loadAvg: [number, number, number];
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
  if (hardware) summary = `hardware virtualization (${cpuFlag}, ${modules.join(', ')}); VM backend may use KVM after calibration`;
  else if (modules.includes('kvm_pvm'))
    summary = `${devicePresent ? '/dev/kvm present but' : 'no /dev/kvm;'} KVM is software (kvm_pvm, no vmx/svm flag): VM backend will use TCG emulation`;
  else if (devicePresent) summary = `/dev/kvm present but no vmx/svm CPU flag (${modules.join(', ') || 'no kvm_intel/kvm_amd'}): VM backend will use TCG emulation`;
  else summary = 'no /dev/kvm and no hardware virtualization: VM backend will use TCG emulation';
  return { devicePresent, cpuFlag, modules, hardware, summary };
}

async function readOpt(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

let cached: Promise<HostFacts> | undefined;

/** Probe once per process; later calls get the same answer. */
export function hostFacts(): Promise<HostFacts> {
  cached ??= probeHost();
  return cached;
}

/** Fresh MemAvailable, for preflight and density checks that need the current value. */
export async function memAvailableBytes(): Promise<number> {
  return parseMeminfo((await readOpt('/proc/meminfo')) ?? '').get('MemAvailable') ?? os.freemem();
}

async function probeHost(): Promise<HostFacts> {
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
    cgroup: await detectCgroupLayout(),
    kvm: classifyKvm(existsSync('/dev/kvm'), flags, modules),
    ksm: { available: ksmRun !== undefined, run: ksmRun === undefined ? null : Number(ksmRun), pagesSharing: ksmSharing === undefined ? null : Number(ksmSharing) },
    thp: {
      enabled: selected(await readOpt('/sys/kernel/mm/transparent_hugepage/enabled')),
      defrag: selected(await readOpt('/sys/kernel/mm/transparent_hugepage/defrag')),
    },
    cpuGovernor: (await readOpt('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor')) ?? null,
    loadAvg: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
  };
}
