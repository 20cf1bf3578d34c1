/**
 * cgroup v1 and v2 behind one handle. The layout is detected once (from
 * /proc/self/mountinfo) and passed in, as cadvisor does; readers take a root so
 * tests can run them on fixture trees.
 *
 * Memory figure: `workingSetBytes` = usage minus inactive file pages, the
 * definition cadvisor and the kubelet use (v1: memory.usage_in_bytes -
 * total_inactive_file; v2: memory.current - inactive_file). Clean page cache the
 * kernel can drop at once is not what an instance costs the host.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { hostSettingGuard } from './settings.js';
import { V1_CONTROLLERS, type CgroupController, type CgroupLayout } from './cgroup-layout.js';
import {
  CGROUP_PARENT,
  killAll,
  parseKeyValues,
  procsOf,
  readText,
  removeCgroupDir,
  removeEmptyParents,
  writeText,
} from './cgroup-fs.js';
import * as io from './cgroup-io.js';
import type { IoCounters, IoThrottle } from './cgroup-io.js';

// The layout, file helpers and I/O control live in cgroup-*.ts; most importers use this path.
export { parseCgroupLayout, detectCgroupLayout, type CgroupController, type CgroupLayout } from './cgroup-layout.js';
export { CGROUP_PARENT, removeEmptyParents } from './cgroup-fs.js';
export {
  chooseIoMechanism,
  parseBlkioV1,
  parseIoStatV2,
  parseIoWeight,
  type IoCounters,
  type IoThrottle,
} from './cgroup-io.js';

export interface CgroupLimits {
  cpus?: number[];
  /** Hard cap, percent of one CPU. */
  cpuQuotaPercent?: number;
  /** v2 scale 1..10000; v1 shares = weight*1024/100. */
  cpuWeight?: number;
  memoryBytes?: number;
  pidsMax?: number;
}

export interface CgroupLimitsReadBack {
  cpus: number[] | undefined;
  cpuQuotaPercent: number | undefined;
  cpuWeight: number | undefined;
  memoryBytes: number | undefined;
  pidsMax: number | undefined;
}

export interface CgroupMemoryStats {
  usageBytes: number;
  workingSetBytes: number;
  inactiveFileBytes: number;
}

const CFS_PERIOD_US = 100_000;

export function formatCpuList(cpus: number[]): string {
  return [...cpus].sort((a, b) => a - b).join(',');
}

/** Parse "0-2,5" into [0,1,2,5]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-');
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** A cgroup at `relPath` (e.g. "isobench/run1-native-0") in whichever hierarchy the host has. */
export class CgroupHandle {
  constructor(
    readonly layout: CgroupLayout,
    readonly relPath: string,
  ) {
    if (relPath.includes('..') || path.isAbsolute(relPath)) throw new Error(`unsafe cgroup path ${relPath}`);
  }

  /** Directory of this cgroup for a controller (v2: the one unified directory). */
  dir(controller: CgroupController): string | undefined {
    if (this.layout.version === 2) return path.join(this.layout.root, this.relPath);
    const mount = this.layout.mounts[controller];
    return mount ? path.join(mount, this.relPath) : undefined;
  }

  /** Every directory that makes up this cgroup (one per v1 hierarchy, or one on v2). */
  dirs(): string[] {
    if (this.layout.version === 2) return [path.join(this.layout.root, this.relPath)];
    const seen = new Set<string>();
    for (const c of V1_CONTROLLERS) {
      const d = this.dir(c);
      if (d) seen.add(d);
    }
    return [...seen];
  }

  /** Files a shell wrapper writes its pid to so a process starts inside the cgroup. */
  procsFiles(): string[] {
    return this.dirs().map((d) => path.join(d, 'cgroup.procs'));
  }

  async exists(): Promise<boolean> {
    const d = this.dir('memory') ?? this.dirs()[0];
    if (!d) return false;
    return (await readText(path.join(d, 'cgroup.procs'))) !== undefined;
  }

  /**
   * Create the cgroup (and its parents), enabling what each level needs.
   * Another run (or test) removes the shared `isobench` parent when it leaves
   * it empty; if that happens between our mkdirs, the parent comes back
   * without its cpuset/subtree settings, so the whole chain is checked and
   * made again.
   */
  async create(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.createOnce();
      if ((await this.createdWhole()) || attempt >= 5) return;
    }
  }

  /** Every level exists with what a child needs (v1 cpuset cpus; v2 controllers enabled). */
  private async createdWhole(): Promise<boolean> {
    if (this.layout.version === 2) {
      const wanted = ['cpu', 'cpuset', 'memory', 'pids'].filter((c) =>
        (this.layout as { controllers: string[] }).controllers.includes(c),
      );
      const have = (await readText(path.join(this.layout.root, this.relPath, 'cgroup.controllers')))?.split(/\s+/);
      return have !== undefined && wanted.every((c) => have.includes(c));
    }
    for (const d of this.dirs()) if ((await readText(path.join(d, 'cgroup.procs'))) === undefined) return false;
    const cs = this.dir('cpuset');
    return !cs || Boolean(await readText(path.join(cs, 'cpuset.cpus')));
  }

  private async createOnce(): Promise<void> {
    if (this.layout.version === 2) {
      const root = this.layout.root;
      const segments = this.relPath.split('/');
      let cur = root;
      const wanted = ['cpu', 'cpuset', 'memory', 'pids', 'io'].filter((c) =>
        (this.layout as { controllers: string[] }).controllers.includes(c),
      );
      for (const seg of segments) {
        // Controllers must be enabled in the parent's subtree_control before a child can use them.
        // The root's is a host setting: the run's guard saves and restores it.
        const guard = cur === root ? hostSettingGuard() : undefined;
        if (guard)
          await guard.enableControllers(path.join(cur, 'cgroup.subtree_control'), wanted).catch(() => undefined);
        else
          await writeText(path.join(cur, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' ')).catch(
            () => undefined,
          );
        cur = path.join(cur, seg);
        await fs.mkdir(cur, { recursive: true });
      }
      return;
    }
    for (const c of V1_CONTROLLERS) {
      const mount = this.layout.mounts[c];
      if (!mount) continue;
      let cur = mount;
      for (const seg of this.relPath.split('/')) {
        const parent = cur;
        cur = path.join(cur, seg);
        await fs.mkdir(cur, { recursive: true });
        if (c === 'cpuset') {
          // v1 cpuset children start empty and refuse tasks until cpus and mems are set.
          for (const f of ['cpuset.cpus', 'cpuset.mems']) {
            const mine = await readText(path.join(cur, f));
            if (!mine) {
              const inherited = await readText(path.join(parent, f));
              if (inherited) await writeText(path.join(cur, f), inherited);
            }
          }
        }
      }
    }
  }

  async setLimits(l: CgroupLimits): Promise<void> {
    const v2 = this.layout.version === 2;
    const cpuDir = this.dir('cpu');
    const cpusetDir = this.dir('cpuset');
    const memDir = this.dir('memory');
    const pidsDir = this.dir('pids');
    if (l.cpus && cpusetDir) await writeText(path.join(cpusetDir, 'cpuset.cpus'), formatCpuList(l.cpus));
    if (l.cpuQuotaPercent !== undefined && cpuDir) {
      const quota = Math.round((l.cpuQuotaPercent / 100) * CFS_PERIOD_US);
      if (v2) await writeText(path.join(cpuDir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
      else {
        await writeText(path.join(cpuDir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
        await writeText(path.join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
      }
    }
    if (l.cpuWeight !== undefined && cpuDir) {
      if (v2) await writeText(path.join(cpuDir, 'cpu.weight'), String(l.cpuWeight));
      else await writeText(path.join(cpuDir, 'cpu.shares'), String(weightToShares(l.cpuWeight)));
    }
    if (l.memoryBytes !== undefined && memDir) {
      if (v2) await writeText(path.join(memDir, 'memory.max'), String(l.memoryBytes));
      else await writeText(path.join(memDir, 'memory.limit_in_bytes'), String(l.memoryBytes));
    }
    if (l.pidsMax !== undefined && pidsDir) await writeText(path.join(pidsDir, 'pids.max'), String(l.pidsMax));
  }

  /** Remove a CPU quota set by setLimits({cpuQuotaPercent}) (v1 quota -1, v2 "max"). */
  async clearCpuQuota(): Promise<void> {
    const cpuDir = this.dir('cpu');
    if (!cpuDir) return;
    if (this.layout.version === 2) await writeText(path.join(cpuDir, 'cpu.max'), `max ${CFS_PERIOD_US}`);
    else await writeText(path.join(cpuDir, 'cpu.cfs_quota_us'), '-1');
  }

  async readLimits(): Promise<CgroupLimitsReadBack> {
    const v2 = this.layout.version === 2;
    const cpuDir = this.dir('cpu');
    const cpusetDir = this.dir('cpuset');
    const memDir = this.dir('memory');
    const pidsDir = this.dir('pids');
    const cpusText = cpusetDir
      ? await readText(path.join(cpusetDir, v2 ? 'cpuset.cpus.effective' : 'cpuset.cpus'))
      : undefined;
    let cpuQuotaPercent: number | undefined;
    let cpuWeight: number | undefined;
    if (cpuDir) {
      if (v2) {
        const [q, p] = ((await readText(path.join(cpuDir, 'cpu.max'))) ?? 'max').split(/\s+/);
        if (q && q !== 'max') cpuQuotaPercent = (Number(q) / Number(p ?? CFS_PERIOD_US)) * 100;
        const w = await readText(path.join(cpuDir, 'cpu.weight'));
        if (w) cpuWeight = Number(w);
      } else {
        const q = Number(await readText(path.join(cpuDir, 'cpu.cfs_quota_us')));
        const p = Number(await readText(path.join(cpuDir, 'cpu.cfs_period_us')));
        if (q > 0 && p > 0) cpuQuotaPercent = (q / p) * 100;
        const s = await readText(path.join(cpuDir, 'cpu.shares'));
        if (s) cpuWeight = sharesToWeight(Number(s));
      }
    }
    let memoryBytes: number | undefined;
    if (memDir) {
      const m = await readText(path.join(memDir, v2 ? 'memory.max' : 'memory.limit_in_bytes'));
      // v1 reports "no limit" as a huge page-aligned number.
      if (m && m !== 'max' && Number(m) < 2 ** 62) memoryBytes = Number(m);
    }
    let pidsMax: number | undefined;
    if (pidsDir) {
      const p = await readText(path.join(pidsDir, 'pids.max'));
      if (p && p !== 'max') pidsMax = Number(p);
    }
    return { cpus: cpusText ? parseCpuList(cpusText) : undefined, cpuQuotaPercent, cpuWeight, memoryBytes, pidsMax };
  }

  async memoryStats(): Promise<CgroupMemoryStats | undefined> {
    const memDir = this.dir('memory');
    if (!memDir) return undefined;
    const v2 = this.layout.version === 2;
    const usageText = await readText(path.join(memDir, v2 ? 'memory.current' : 'memory.usage_in_bytes'));
    if (usageText === undefined) return undefined;
    const usage = Number(usageText);
    const stat = parseKeyValues(await readText(path.join(memDir, 'memory.stat')));
    const inactiveFile = stat.get(v2 ? 'inactive_file' : 'total_inactive_file') ?? 0;
    return { usageBytes: usage, inactiveFileBytes: inactiveFile, workingSetBytes: Math.max(0, usage - inactiveFile) };
  }

  /** Number of OOM kills the kernel recorded for this cgroup. */
  async oomKills(): Promise<number> {
    const memDir = this.dir('memory');
    if (!memDir) return 0;
    const file = this.layout.version === 2 ? 'memory.events' : 'memory.oom_control';
    return parseKeyValues(await readText(path.join(memDir, file))).get('oom_kill') ?? 0;
  }

  async cpuUsageSeconds(): Promise<number> {
    if (this.layout.version === 2) {
      const stat = parseKeyValues(await readText(path.join(this.layout.root, this.relPath, 'cpu.stat')));
      return (stat.get('usage_usec') ?? 0) / 1e6;
    }
    const d = this.dir('cpuacct');
    const ns = d ? await readText(path.join(d, 'cpuacct.usage')) : undefined;
    return ns ? Number(ns) / 1e9 : 0;
  }

  // Block I/O (caps, weights, counters): cgroup-io.ts.

  /** Hard I/O caps on one block device ("major:minor"); 0 or undefined removes a cap. */
  setIoThrottle(t: IoThrottle): Promise<void> {
    return io.setIoThrottle(this, t);
  }

  /** Remove every cap setIoThrottle() put on the device. */
  clearIoThrottle(device: string): Promise<void> {
    return io.clearIoThrottle(this, device);
  }

  /** Caps currently set on each device (only devices with a cap appear). */
  readIoThrottle(): Promise<IoThrottle[]> {
    return io.readIoThrottle(this);
  }

  /** I/O this cgroup issued per block device ("major:minor"), cumulative. */
  ioStats(): Promise<Map<string, IoCounters>> {
    return io.ioStats(this);
  }

  /** Set a proportional I/O weight and return the file written. */
  setIoWeight(weight: number): Promise<string> {
    return io.setIoWeight(this, weight);
  }

  /** The default proportional I/O weight as read back (bfq's file first), or undefined. */
  readIoWeight(): Promise<number | undefined> {
    return io.readIoWeight(this);
  }

  /** Whether a weight file exists for this cgroup (it takes effect only with BFQ or io.cost: see chooseIoMechanism). */
  ioWeightFileExists(): Promise<boolean> {
    return io.ioWeightFileExists(this);
  }

  /** Pids of every process in the cgroup (any hierarchy; v1 ones agree). */
  async pids(): Promise<number[]> {
    const d = this.dir('memory') ?? this.dir('pids') ?? this.dirs()[0];
    return d ? procsOf(d) : [];
  }

  /** Kill what is left inside and remove the directories (children first). Idempotent. */
  async destroy(): Promise<void> {
    const deadline = Date.now() + 10_000;
    const errors: string[] = [];
    // A frozen task cannot die: a run killed outright (SIGKILL) leaves its idle instances
    // frozen (runner/placement.ts), and their SIGKILL would stay pending until a thaw.
    await this.thaw();
    for (const d of this.dirs()) {
      // Kill, then remove; a task that is still exiting keeps the directory busy,
      // so kill again and retry until the deadline (a loaded host can take seconds).
      for (;;) {
        await killAll(d);
        const err = await removeCgroupDir(d);
        if (!err) break;
        if (Date.now() > deadline) {
          errors.push(`${d}: ${err}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (errors.length) throw new Error(`could not remove cgroup ${this.relPath}: ${errors.join('; ')}`);
    // The last instance out removes the shared `isobench` parents (every hierarchy, the OCI
    // runtime's own included), whether a run, a test or a bench script used the backend.
    // rmdir refuses a parent with children or tasks, so a live run's parent is never touched.
    if (this.relPath.startsWith(`${CGROUP_PARENT}/`))
      await removeEmptyParents(this.hierarchyRoot()).catch(() => undefined);
  }

  /** Undo a freeze (v1 freezer.state, v2 cgroup.freeze); nothing when the cgroup has no freezer or is gone. */
  private async thaw(): Promise<void> {
    if (this.layout.version === 2) {
      await fs.writeFile(path.join(this.layout.root, this.relPath, 'cgroup.freeze'), '0').catch(() => undefined);
      return;
    }
    const dir = this.dir('freezer');
    if (dir) await fs.writeFile(path.join(dir, 'freezer.state'), 'THAWED').catch(() => undefined);
  }

  /** The folder the hierarchies are mounted under (/sys/fs/cgroup), or the v2 root. */
  private hierarchyRoot(): string {
    if (this.layout.version === 2) return this.layout.root;
    const mount = Object.values(this.layout.mounts).find((m): m is string => typeof m === 'string');
    return mount ? path.dirname(mount) : '/sys/fs/cgroup';
  }
}

export function weightToShares(weight: number): number {
  return Math.max(2, Math.round((weight * 1024) / 100));
}

export function sharesToWeight(shares: number): number {
  return Math.round((shares * 100) / 1024);
}
