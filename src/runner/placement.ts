/**
 * Symmetric placement (ARCHITECTURE "Identical limits and placement"):
 *  - the instance CPU set and the harness CPU set are disjoint unless a scenario
 *    says `instance.shareHarnessCpu: true`; the harness process (and so every
 *    peer, traffic generator and runtime client it spawns: affinity is
 *    inherited) is pinned to the harness set for every backend. An instance's
 *    processes leave that set when they join the instance's cpuset cgroup (the
 *    kernel resets a task's affinity to the cpuset on attach);
 *  - while one backend is measured, the other backends' idle instances are
 *    frozen (cgroup v1 `freezer.state`, v2 `cgroup.freeze`) rather than stopped,
 *    so interleaving keeps its long-lived instances; QEMU frozen this way stops
 *    its vCPU and I/O threads the same way;
 *  - where network processing ran: host NET_RX / NET_TX softirqs per CPU during
 *    each network repetition (on a veth, receive work runs on the sender's CPU;
 *    a VM's virtio-net work runs in QEMU on the instance CPUs).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatCpuList, parseCpuList, type CgroupHandle } from '../host/cgroup.js';
import { run, runOk, sleep } from '../util/proc.js';

export interface CpuPlan {
  instanceCpus: number[];
  harnessCpus: number[];
  shared: boolean;
}

/** Instance CPUs ("auto": the last `vcpus` CPUs) and the harness CPUs (the rest, or all when shared). */
export function planCpus(
  instance: { vcpus: number; cpus: 'auto' | number[]; shareHarnessCpu?: boolean },
  hostCpus: number,
): CpuPlan {
  const n = Math.min(instance.vcpus, hostCpus);
  const instanceCpus = Array.isArray(instance.cpus)
    ? [...instance.cpus]
    : Array.from({ length: n }, (_, i) => hostCpus - n + i);
  const rest = Array.from({ length: hostCpus }, (_, i) => i).filter((c) => !instanceCpus.includes(c));
  const shared = rest.length === 0;
  return { instanceCpus, harnessCpus: shared ? Array.from({ length: hostCpus }, (_, i) => i) : rest, shared };
}

/** A one-line problem when the instance CPU set leaves no CPU to the harness and the scenario did not accept that. */
export function harnessCpuProblem(
  instance: { vcpus: number; cpus: 'auto' | number[]; shareHarnessCpu?: boolean },
  hostCpus: number,
  file: string,
): string | undefined {
  const plan = planCpus(instance, hostCpus);
  if (!plan.shared || instance.shareHarnessCpu) return undefined;
  const what = Array.isArray(instance.cpus)
    ? `instance.cpus [${instance.cpus.join(', ')}]`
    : `instance.vcpus: ${instance.vcpus} (cpus: auto)`;
  return (
    `${file}: ${what} takes every CPU of this ${hostCpus}-CPU host, leaving none for the harness and traffic peers; ` +
    `use at most ${hostCpus - 1} vCPUs, or set instance.shareHarnessCpu: true to accept sharing`
  );
}

/** Pin every thread of `pid` to `cpus`; returns a function that restores the previous affinity. */
export async function pinProcess(
  pid: number,
  cpus: number[],
): Promise<{ previous: string; restore: () => Promise<void> }> {
  const before = await runOk(['taskset', '-c', '-p', String(pid)]);
  const previous = /list:\s*(\S+)/.exec(before)?.[1];
  if (!previous) throw new Error(`taskset -c -p ${pid}: unexpected output ${JSON.stringify(before.trim())}`);
  await runOk(['taskset', '-a', '-c', '-p', formatCpuList(cpus), String(pid)]);
  return { previous, restore: async () => void (await run(['taskset', '-a', '-c', '-p', previous, String(pid)])) };
}

/** CPUs the given process may run on, from /proc/<pid>/status. */
export async function cpusAllowed(pid: number | 'self'): Promise<number[] | undefined> {
  const text = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(text);
  return m?.[1] ? parseCpuList(m[1]) : undefined;
}

/** Freeze and thaw instances through their cgroup (v1 freezer, v2 cgroup.freeze). */
export class Freezer {
  private readonly frozen = new Set<CgroupHandle>();

  /** Files this cgroup freezes with, or undefined when it cannot be frozen here. */
  static files(
    cg: CgroupHandle,
  ): { control: string; on: string; off: string; state: string; frozenWhen: (text: string) => boolean } | undefined {
    if (cg.layout.version === 2) {
      const dir = path.join(cg.layout.root, cg.relPath);
      return {
        control: path.join(dir, 'cgroup.freeze'),
        on: '1',
        off: '0',
        state: path.join(dir, 'cgroup.events'),
        frozenWhen: (t) => /^frozen 1$/m.test(t),
      };
    }
    const dir = cg.dir('freezer');
    if (!dir) return undefined;
    const state = path.join(dir, 'freezer.state');
    return { control: state, on: 'FROZEN', off: 'THAWED', state, frozenWhen: (t) => t.trim() === 'FROZEN' };
  }

  get count(): number {
    return this.frozen.size;
  }

  isFrozen(cg: CgroupHandle): boolean {
    return this.frozen.has(cg);
  }

  /** Freeze; resolves once the kernel reports the cgroup frozen. Throws when it cannot. */
  async freeze(cg: CgroupHandle): Promise<void> {
    if (this.frozen.has(cg)) return;
    const f = Freezer.files(cg);
    if (!f) throw new Error(`cgroup ${cg.relPath}: no freezer here`);
    await fs.writeFile(f.control, f.on);
    this.frozen.add(cg);
    const deadline = Date.now() + 5000;
    for (;;) {
      const t = await fs.readFile(f.state, 'utf8').catch(() => '');
      if (f.frozenWhen(t)) return;
      if (Date.now() > deadline) {
        await this.thaw(cg);
        throw new Error(`cgroup ${cg.relPath} did not freeze within 5 s`);
      }
      await sleep(10);
    }
  }

  async thaw(cg: CgroupHandle): Promise<void> {
    const f = Freezer.files(cg);
    this.frozen.delete(cg);
    if (!f) return;
    await fs.writeFile(f.control, f.off).catch(() => undefined);
  }

  async thawAll(): Promise<void> {
    for (const cg of [...this.frozen]) await this.thaw(cg);
  }
}

/** /proc/softirqs: row name -> per-CPU counts. */
export function parseSoftirqs(text: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const line of text.split('\n').slice(1)) {
    const [name, ...vals] = line.trim().split(/\s+/);
    if (!name?.endsWith(':')) continue;
    m.set(name.slice(0, -1), vals.map(Number).filter(Number.isFinite));
  }
  return m;
}

export async function readSoftirqs(): Promise<Map<string, number[]>> {
  return parseSoftirqs(await fs.readFile('/proc/softirqs', 'utf8').catch(() => ''));
}

/** Per-CPU NET_RX / NET_TX softirq counts between two snapshots. */
export function netSoftirqDelta(
  a: Map<string, number[]>,
  b: Map<string, number[]>,
): { netRxPerCpu: number[]; netTxPerCpu: number[] } {
  const d = (k: string): number[] => (b.get(k) ?? []).map((v, i) => v - ((a.get(k) ?? [])[i] ?? 0));
  return { netRxPerCpu: d('NET_RX'), netTxPerCpu: d('NET_TX') };
}
