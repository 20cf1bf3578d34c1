/**
 * Where QEMU's threads run on the host.
 *
 * The guest's vCPU threads get the instance's CPU set (spec.cpus, the cpuset a
 * container gets). QEMU's other threads (main loop, the virtio-blk I/O thread,
 * vhost-net's worker, RCU and thread-pool workers) do the host-side device work
 * that, for native and containers, the kernel does on whatever CPU the
 * traffic's sender or the I/O's completion runs on, which is the harness CPU
 * set (every host CPU outside spec.cpus, where peers and traffic generators
 * run). So they are pinned apart from the vCPUs, onto the harness CPU set, as
 * libvirt's `emulatorpin`/`iothreadpin` do. When spec.cpus covers every host
 * CPU there is no harness CPU left: all threads share spec.cpus, and the
 * placement says so.
 *
 * Mechanism (the same on cgroup v1 and v2, no threaded cgroups needed): the
 * QEMU cgroup's cpuset is spec.cpus plus the harness CPUs, and each thread's
 * affinity (sched_setaffinity via `taskset -p`) narrows it: vCPU threads (their
 * ids from QMP query-cpus-fast) to spec.cpus, every other thread to the harness
 * CPUs. Threads QEMU starts later inherit the affinity of the thread that
 * starts them, and the placement is applied again once the guest is ready
 * (vhost's worker only exists once the guest driver started the device).
 */
import { promises as fs } from 'node:fs';
import { run } from '../util/proc.js';
import { formatCpuList } from '../host/cgroup.js';

/** The policy in one line, for results.json. */
export const PLACEMENT_POLICY =
  "vCPU threads (ids from QMP query-cpus-fast) pinned to the instance's CPU set; QEMU's main loop, I/O thread, " +
  "vhost worker and helpers pinned to the harness CPU set (host CPUs outside the instance's set), " +
  "or sharing the instance's set when no CPU is left (said per instance)";

export interface PlacementPlan {
  /** apart: non-vCPU threads on the harness CPUs; shared: every thread on spec.cpus. */
  mode: 'apart' | 'shared';
  vcpuCpus: number[];
  otherCpus: number[];
  /** The QEMU cgroup's cpuset (the union of the two). */
  cgroupCpus: number[];
  note: string;
}

/** Pure: which CPUs the vCPU threads and the other threads get. */
export function planPlacement(instanceCpus: number[], hostCpuCount: number): PlacementPlan {
  const vcpuCpus = [...new Set(instanceCpus)].sort((a, b) => a - b);
  const harness = Array.from({ length: hostCpuCount }, (_, i) => i).filter((c) => !vcpuCpus.includes(c));
  if (harness.length === 0)
    return {
      mode: 'shared',
      vcpuCpus,
      otherCpus: vcpuCpus,
      cgroupCpus: vcpuCpus,
      note:
        `shared: the instance's CPU set (${formatCpuList(vcpuCpus)}) covers every host CPU, ` +
        `so QEMU's I/O and main-loop threads share the vCPUs' CPUs (VM disk and network work competes with the guest)`,
    };
  return {
    mode: 'apart',
    vcpuCpus,
    otherCpus: harness,
    cgroupCpus: [...vcpuCpus, ...harness].sort((a, b) => a - b),
    note:
      `apart: vCPU threads on CPU ${formatCpuList(vcpuCpus)} (the instance's set); QEMU's main loop, ` +
      `I/O thread and helpers (and vhost's worker when vhost is on) on the harness CPU ${formatCpuList(harness)}, ` +
      `where native and container network/disk completion work also runs; the QEMU cgroup's cpuset is the union`,
  };
}

export interface QemuThread {
  tid: number;
  name: string;
}

/** The threads of a process, with their names (/proc/PID/task/TID/comm). */
export async function threadsOf(pid: number): Promise<QemuThread[]> {
  const tids = await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: QemuThread[] = [];
  for (const t of tids) {
    const name = (await fs.readFile(`/proc/${pid}/task/${t}/comm`, 'utf8').catch(() => '')).trim();
    out.push({ tid: Number(t), name });
  }
  return out;
}

/**
 * Kernel vhost workers of a QEMU (kthreads named vhost-PID on kernels before 6.4; later ones are QEMU's own threads).
 */
export async function vhostKthreads(pid: number): Promise<QemuThread[]> {
  const out: QemuThread[] = [];
  for (const e of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(e)) continue;
    const name = (await fs.readFile(`/proc/${e}/comm`, 'utf8').catch(() => '')).trim();
    if (name === `vhost-${pid}`) out.push({ tid: Number(e), name });
  }
  return out;
}

/** Does the process hold /dev/vhost-net open (QEMU really uses vhost, not only asked to)? */
export async function holdsVhostNet(pid: number): Promise<boolean> {
  for (const fd of await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    if ((await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === '/dev/vhost-net') return true;
  }
  return false;
}

export interface AppliedPlacement extends PlacementPlan {
  vcpuThreads: Array<QemuThread & { cpus: string }>;
  otherThreads: Array<QemuThread & { cpus: string }>;
  /** Threads whose affinity could not be set (they exited, or taskset failed). */
  failed: string[];
}

async function readAffinity(tid: number): Promise<string> {
  const status = await fs.readFile(`/proc/${tid}/status`, 'utf8').catch(() => '');
  return /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '?';
}

/**
 * Pin vCPU threads to plan.vcpuCpus and every other thread (and vhost kthreads) to plan.otherCpus; read back.
 * Threads in `already` (placed by an earlier pass) are not pinned again: the pass at ready only spawns
 * taskset for threads started since, so it adds little to start-up.
 */
export async function applyPlacement(
  pid: number,
  vcpuTids: number[],
  plan: PlacementPlan,
  already: ReadonlySet<number> = new Set(),
): Promise<AppliedPlacement> {
  const threads = [...(await threadsOf(pid)), ...(await vhostKthreads(pid))];
  const vcpuSet = new Set(vcpuTids);
  const failed: string[] = [];
  const pin = async (t: QemuThread, cpus: number[]): Promise<void> => {
    const r = await run(['taskset', '-p', '-c', formatCpuList(cpus), String(t.tid)], { timeoutMs: 5_000 });
    if (r.code !== 0) failed.push(`${t.name} (${t.tid}): ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}`);
  };
  await Promise.all(
    threads.filter((t) => !already.has(t.tid)).map((t) => pin(t, vcpuSet.has(t.tid) ? plan.vcpuCpus : plan.otherCpus)),
  );
  const withCpus = async (t: QemuThread): Promise<QemuThread & { cpus: string }> => ({
    ...t,
    cpus: await readAffinity(t.tid),
  });
  return {
    ...plan,
    vcpuThreads: await Promise.all(threads.filter((t) => vcpuSet.has(t.tid)).map(withCpus)),
    otherThreads: await Promise.all(threads.filter((t) => !vcpuSet.has(t.tid)).map(withCpus)),
    failed,
  };
}
