/**
 * Pure OCI runtime-spec (config.json) generator for the container backend and
 * the bare-runc baseline. No I/O here: the backend decides paths and limits,
 * this turns them into the document runc/crun/runsc read.
 *
 * Limits (InstanceSpec -> linux.resources):
 *  - cpus -> cpu.cpus (cpuset). Always: the instance runs on the same host CPUs
 *    as the native baseline and the VM's vCPU threads, so a CPU figure compares
 *    the same cores. A cpuset alone is not a hard cap in CPU-time (a 2-CPU set
 *    gives up to 200%), which is the fair comparison to a 2-vCPU VM.
 *  - cpuQuotaPercent -> cpu.quota/period (CFS bandwidth), only when asked for:
 *    quota throttles in 100 ms periods and adds latency jitter that a cpuset does
 *    not, so it would bias every CPU figure if it were always on.
 *  - cpuWeight -> cpu.shares on v1 (weight*1024/100), cpu.weight via
 *    `unified` on v2 (runc's shares->weight conversion does not round-trip).
 *  - memoryBytes -> memory.limit; swap = the same figure (memory+swap total, so
 *    no swap) when the host has swap accounting (v1 memsw files, always on v2).
 *  - pidsLimit -> pids.limit.
 */

import { SIGNAL_THEN_QUIET } from './payload-signal.js';

export interface OciBind {
  source: string;
  destination: string;
  readonly?: boolean;
}

export interface OciLimits {
  cpus?: number[];
  /** cpuset.mems; leave unset to inherit the parent's (runc copies it on v1). */
  mems?: string;
  cpuQuotaPercent?: number;
  cpuWeight?: number;
  memoryBytes?: number;
  /** Set memory+swap = memory (no swap). Only when the host can account swap. */
  limitSwap?: boolean;
  pidsLimit?: number;
}

export interface OciConfigInput {
  args: string[];
  /** Absolute path of the rootfs (shared, read-only image). */
  rootfs: string;
  readonlyRoot: boolean;
  hostname: string;
  env?: string[];
  cwd?: string;
  /** Absolute cgroup path, e.g. "/isobench/run1-c0". Unset: the runtime picks one. */
  cgroupsPath?: string;
  cgroupVersion: 1 | 2;
  limits?: OciLimits;
  /** Join this network namespace (a /var/run/netns path); unset: a new empty one. */
  netnsPath?: string;
  /** Size of the private tmpfs on /tmp. */
  tmpSizeMiB?: number;
  binds?: OciBind[];
  /** RLIMIT_NOFILE soft=hard (default 1024); must not exceed the caller's hard limit. */
  nofile?: number;
}

export const CFS_PERIOD_US = 100_000;

/** Docker's default capability set (plus nothing): what a plain container gets. */
export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DEFAULT_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'HOME=/root',
  'TERM=dumb',
];

export type OciSpec = {
  ociVersion: string;
  process: Record<string, unknown> & { args: string[]; env: string[] };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: {
    cgroupsPath?: string;
    resources: Record<string, unknown>;
    namespaces: Array<{ type: string; path?: string }>;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
};

export function weightToShares(weight: number): number {
  return Math.max(2, Math.round((weight * 1024) / 100));
}

/** linux.resources for the limits (pure; exported for tests). */
export function ociResources(l: OciLimits | undefined, cgroupVersion: 1 | 2): Record<string, unknown> {
  const res: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (!l) return res;
  const cpu: Record<string, unknown> = {};
  if (l.cpus && l.cpus.length > 0) cpu.cpus = [...l.cpus].sort((a, b) => a - b).join(',');
  if (l.mems) cpu.mems = l.mems;
  if (l.cpuQuotaPercent !== undefined) {
    if (!(l.cpuQuotaPercent > 0)) throw new Error(`cpuQuotaPercent must be > 0 (got ${l.cpuQuotaPercent})`);
    cpu.quota = Math.round((l.cpuQuotaPercent / 100) * CFS_PERIOD_US);
    cpu.period = CFS_PERIOD_US;
  }
  const unified: Record<string, string> = {};
  if (l.cpuWeight !== undefined) {
    if (!(l.cpuWeight >= 1 && l.cpuWeight <= 10000)) throw new Error(`cpuWeight must be 1..10000 (got ${l.cpuWeight})`);
    if (cgroupVersion === 1) cpu.shares = weightToShares(l.cpuWeight);
    else unified['cpu.weight'] = String(Math.round(l.cpuWeight));
  }
  if (Object.keys(cpu).length > 0) res.cpu = cpu;
  if (l.memoryBytes !== undefined) {
    const mem: Record<string, unknown> = { limit: l.memoryBytes };
    if (l.limitSwap) mem.swap = l.memoryBytes;
    res.memory = mem;
  }
  if (l.pidsLimit !== undefined) res.pids = { limit: l.pidsLimit };
  if (Object.keys(unified).length > 0) res.unified = unified;
  return res;
}

export function ociConfig(input: OciConfigInput): OciSpec {
  if (!input.rootfs.startsWith('/')) throw new Error(`rootfs must be absolute: ${input.rootfs}`);
  if (input.args.length === 0) throw new Error('args must not be empty');
  const mounts: OciSpec['mounts'] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/tmp',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'mode=1777', `size=${input.tmpSizeMiB ?? 256}m`],
    },
  ];
  for (const b of input.binds ?? []) {
    if (!b.source.startsWith('/') || !b.destination.startsWith('/'))
      throw new Error(`bind paths must be absolute: ${b.source} -> ${b.destination}`);
    mounts.push({
      destination: b.destination,
      type: 'bind',
      source: b.source,
      options: ['rbind', b.readonly ? 'ro' : 'rw', 'nosuid', 'nodev'],
    });
  }
  const nofile = input.nofile ?? 1024;
  const namespaces: OciSpec['linux']['namespaces'] = [
    { type: 'pid' },
    input.netnsPath ? { type: 'network', path: input.netnsPath } : { type: 'network' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...input.args],
      env: [...(input.env ?? DEFAULT_ENV)],
      cwd: input.cwd ?? '/',
      capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: input.readonlyRoot },
    hostname: input.hostname,
    mounts,
    linux: {
      ...(input.cgroupsPath ? { cgroupsPath: input.cgroupsPath } : {}),
      resources: ociResources(input.limits, input.cgroupVersion),
      namespaces,
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  return spec;
}

/**
 * The idle init every instance runs as pid 1: a shell that sleeps and reaps
 * (ash's wait reaps adopted orphans too, so daemons started by exec leave no
 * zombies) and exits at once on TERM/INT. The script is a constant: nothing from
 * input is spliced into it.
 */
export const IDLE_INIT = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

/**
 * The idle init that first signals its own start (the start-up definition's end
 * point, see payload-signal.ts): it prints the ready marker on its stdout (the
 * harness's FIFO), sends later stdout to /dev/null, then idles as IDLE_INIT.
 */
export const SIGNALLING_IDLE_INIT = ['/bin/sh', '-c', `${SIGNAL_THEN_QUIET}; ${IDLE_INIT[2]}`];
