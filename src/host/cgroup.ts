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

export type CgroupController = 'cpu' | 'cpuacct' | 'cpuset' | 'memory' | 'pids' | 'blkio' | 'freezer';
const V1_CONTROLLERS: CgroupController[] = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer'];

export type CgroupLayout =
  | { version: 1; hybrid: boolean; mounts: Partial<Record<CgroupController, string>> }
  | { version: 2; root: string; controllers: string[] };

/** Parse /proc/self/mountinfo. Hybrid hosts (v1 controllers + empty v2) count as v1. */
export function parseCgroupLayout(mountinfo: string, v2Controllers: (root: string) => string[] = () => []): CgroupLayout {
  const v1: Partial<Record<CgroupController, string>> = {};
  let v2Root: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const parts = line.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0) continue;
    const mountPoint = parts[4];
    const fstype = parts[sep + 1];
    const superOpts = (parts[sep + 3] ?? '').split(',');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') v2Root ??= mountPoint;
    if (fstype === 'cgroup') {
      for (const c of V1_CONTROLLERS) if (superOpts.includes(c)) v1[c] ??= mountPoint;
    }
  }
  if (Object.keys(v1).length > 0) return { version: 1, hybrid: v2Root !== undefined, mounts: v1 };
  if (v2Root) return { version: 2, root: v2Root, controllers: v2Controllers(v2Root) };
  throw new Error('no cgroup filesystem is mounted (looked in /proc/self/mountinfo)');
}

export async function detectCgroupLayout(): Promise<CgroupLayout> {
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const { readFileSync } = await import('node:fs');
  return parseCgroupLayout(mountinfo, (root) => {
    try {
      return readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return [];
    }
  });
}

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

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function writeText(file: string, value: string): Promise<void> {
  await fs.writeFile(file, value);
}

function parseKeyValues(text: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) m.set(k, Number(v));
  }
  return m;
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
      const wanted = ['cpu', 'cpuset', 'memory', 'pids'].filter((c) => (this.layout as { controllers: string[] }).controllers.includes(c));
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
      const wanted = ['cpu', 'cpuset', 'memory', 'pids', 'io'].filter((c) => (this.layout as { controllers: string[] }).controllers.includes(c));
      for (const seg of segments) {
        // Controllers must be enabled in the parent's subtree_control before a child can use them.
        // The root's is a host setting: the run's guard saves and restores it.
        const guard = cur === root ? hostSettingGuard() : undefined;
        if (guard) await guard.enableControllers(path.join(cur, 'cgroup.subtree_control'), wanted).catch(() => undefined);
        else await writeText(path.join(cur, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' ')).catch(() => undefined);
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
    const cpusText = cpusetDir ? await readText(path.join(cpusetDir, v2 ? 'cpuset.cpus.effective' : 'cpuset.cpus')) : undefined;
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

  /**
   * Hard I/O caps on one block device ("major:minor"): v1 `blkio.throttle.*_device`,
   * v2 `io.max`. A value of 0 (or undefined) removes that cap, so clearIoThrottle()
   * restores the default. Throttling sees the I/O a cgroup issues to the device
   * (O_DIRECT I/O; on v1 not buffered writeback).
   */
  async setIoThrottle(t: IoThrottle): Promise<void> {
    if (!/^\d+:\d+$/.test(t.device)) throw new Error(`bad block device ${JSON.stringify(t.device)}: expected major:minor`);
    const n = (v: number | undefined): number => (v === undefined || !Number.isFinite(v) || v <= 0 ? 0 : Math.round(v));
    if (this.layout.version === 2) {
      const dir = path.join(this.layout.root, this.relPath);
      const v = (x: number | undefined): string => (n(x) === 0 ? 'max' : String(n(x)));
      await writeText(path.join(dir, 'io.max'), `${t.device} riops=${v(t.readIops)} wiops=${v(t.writeIops)} rbps=${v(t.readBps)} wbps=${v(t.writeBps)}`);
      return;
    }
    const dir = this.dir('blkio');
    if (!dir) throw new Error('the blkio controller is not mounted: no I/O throttling on this host');
    const files: Array<[string, number | undefined]> = [
      ['blkio.throttle.read_iops_device', t.readIops],
      ['blkio.throttle.write_iops_device', t.writeIops],
      ['blkio.throttle.read_bps_device', t.readBps],
      ['blkio.throttle.write_bps_device', t.writeBps],
    ];
    for (const [f, v] of files) await writeText(path.join(dir, f), `${t.device} ${n(v)}`);
  }

  /** Remove every cap setIoThrottle() put on the device. */
  clearIoThrottle(device: string): Promise<void> {
    return this.setIoThrottle({ device });
  }

  /** Caps currently set on each device (only devices with a cap appear). */
  async readIoThrottle(): Promise<IoThrottle[]> {
    const by = new Map<string, IoThrottle>();
    const get = (d: string): IoThrottle => by.get(d) ?? (by.set(d, { device: d }).get(d) as IoThrottle);
    if (this.layout.version === 2) {
      const text = await readText(path.join(this.layout.root, this.relPath, 'io.max'));
      for (const line of (text ?? '').split('\n')) {
        const [dev, ...kv] = line.trim().split(/\s+/);
        if (!dev || !/^\d+:\d+$/.test(dev)) continue;
        for (const item of kv) {
          const [k, v] = item.split('=');
          if (!v || v === 'max') continue;
          const key = ({ riops: 'readIops', wiops: 'writeIops', rbps: 'readBps', wbps: 'writeBps' } as const)[k as 'riops'];
          if (key) get(dev)[key] = Number(v);
        }
      }
      return [...by.values()];
    }
    const dir = this.dir('blkio');
    if (!dir) return [];
    const files = [
      ['blkio.throttle.read_iops_device', 'readIops'],
      ['blkio.throttle.write_iops_device', 'writeIops'],
      ['blkio.throttle.read_bps_device', 'readBps'],
      ['blkio.throttle.write_bps_device', 'writeBps'],
    ] as const;
    for (const [f, key] of files) {
      for (const line of ((await readText(path.join(dir, f))) ?? '').split('\n')) {
        const [dev, v] = line.trim().split(/\s+/);
        if (dev && v && /^\d+:\d+$/.test(dev) && Number(v) > 0) get(dev)[key] = Number(v);
      }
    }
    return [...by.values()];
  }

  /**
   * I/O this cgroup issued per block device ("major:minor"), cumulative: v1
   * `blkio.throttle.io_serviced` + `io_service_bytes`, v2 `io.stat`.
   */
  async ioStats(): Promise<Map<string, IoCounters>> {
    if (this.layout.version === 2) return parseIoStatV2((await readText(path.join(this.layout.root, this.relPath, 'io.stat'))) ?? '');
    const dir = this.dir('blkio');
    if (!dir) return new Map();
    return parseBlkioV1((await readText(path.join(dir, 'blkio.throttle.io_serviced'))) ?? '', (await readText(path.join(dir, 'blkio.throttle.io_service_bytes'))) ?? '');
  }

  /**
   * Set a proportional I/O weight and return the file written: v1 `blkio.bfq.weight`
   * (1..1000, bfq); v2 `io.bfq.weight` (1..1000) when bfq's file exists, else
   * `io.weight` (1..10000, io.cost).
   */
  async setIoWeight(weight: number): Promise<string> {
    const bfq = String(Math.max(1, Math.min(1000, Math.round(weight))));
    if (this.layout.version === 2) {
      const dir = path.join(this.layout.root, this.relPath);
      if ((await readText(path.join(dir, 'io.bfq.weight'))) !== undefined) {
        await writeText(path.join(dir, 'io.bfq.weight'), bfq);
        return 'io.bfq.weight';
      }
      await writeText(path.join(dir, 'io.weight'), `default ${Math.max(1, Math.min(10_000, Math.round(weight)))}`);
      return 'io.weight';
    }
    const dir = this.dir('blkio');
    if (!dir) throw new Error('the blkio controller is not mounted');
    await writeText(path.join(dir, 'blkio.bfq.weight'), bfq);
    return 'blkio.bfq.weight';
  }

  /** The default proportional I/O weight as read back (bfq's file first), or undefined. */
  async readIoWeight(): Promise<number | undefined> {
    const files = this.layout.version === 2 ? [path.join(this.layout.root, this.relPath, 'io.bfq.weight'), path.join(this.layout.root, this.relPath, 'io.weight')] : [path.join(this.dir('blkio') ?? '/nonexistent', 'blkio.bfq.weight')];
    for (const f of files) {
      const t = await readText(f);
      if (t !== undefined) return parseIoWeight(t);
    }
    return undefined;
  }

  /** Whether a weight file exists for this cgroup (it takes effect only with BFQ or io.cost: see chooseIoMechanism). */
  async ioWeightFileExists(): Promise<boolean> {
    const files = this.layout.version === 2 ? [path.join(this.layout.root, this.relPath, 'io.bfq.weight'), path.join(this.layout.root, this.relPath, 'io.weight')] : [path.join(this.dir('blkio') ?? '/nonexistent', 'blkio.bfq.weight')];
    for (const f of files) if ((await readText(f)) !== undefined) return true;
    return false;
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
    if (this.relPath.startsWith(`${CGROUP_PARENT}/`)) await removeEmptyParents(this.hierarchyRoot()).catch(() => undefined);
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

async function procsOf(dir: string): Promise<number[]> {
  const text = await readText(path.join(dir, 'cgroup.procs'));
  return (text ?? '').split('\n').filter(Boolean).map(Number);
}

async function killAll(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[] = [];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await killAll(path.join(dir, e.name));
  for (const pid of await procsOf(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Remove a cgroup directory tree; returns an error text instead of throwing. */
async function removeCgroupDir(dir: string): Promise<string | undefined> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return undefined; // gone
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const err = await removeCgroupDir(path.join(dir, e.name));
    if (err) return err;
  }
  try {
    await fs.rmdir(dir);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `${code ?? String(e)} (${(await procsOf(dir)).length} task(s) left)`;
  }
}

export function weightToShares(weight: number): number {
  return Math.max(2, Math.round((weight * 1024) / 100));
}

export function sharesToWeight(shares: number): number {
  return Math.round((shares * 100) / 1024);
}

/** The parent cgroup all isobench cgroups live under. */
export const CGROUP_PARENT = 'isobench';

/**
 * Remove the `isobench` parent from every hierarchy where it has no child
 * left (OCI runtimes also create it in hierarchies isobench itself does not
 * use: devices, name=systemd, unified). Never kills anything: the kernel
 * refuses rmdir of a cgroup that still has children or tasks, so a live run's
 * parent survives. Returns the directories removed.
 */
export async function removeEmptyParents(cgroupRoot = '/sys/fs/cgroup'): Promise<string[]> {
  const removed: string[] = [];
  const candidates = [path.join(cgroupRoot, CGROUP_PARENT)];
  for (const h of await fs.readdir(cgroupRoot).catch(() => [] as string[])) candidates.push(path.join(cgroupRoot, h, CGROUP_PARENT));
  for (const dir of candidates) {
    const kids = await fs.readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (!kids || kids.some((k) => k.isDirectory())) continue;
    try {
      await fs.rmdir(dir);
      removed.push(dir);
    } catch {
      /* busy: a run created a child meanwhile, or tasks remain; not ours to force */
    }
  }
  return removed;
}

export interface IoThrottle {
  /** Block device as "major:minor" (the whole disk, not a partition). */
  device: string;
  readIops?: number;
  writeIops?: number;
  readBps?: number;
  writeBps?: number;
}

export interface IoCounters {
  readIos: number;
  writeIos: number;
  readBytes: number;
  writeBytes: number;
}

function counters(m: Map<string, IoCounters>, dev: string): IoCounters {
  let c = m.get(dev);
  if (!c) {
    c = { readIos: 0, writeIos: 0, readBytes: 0, writeBytes: 0 };
    m.set(dev, c);
  }
  return c;
}

/** A weight file's default weight: "100", "default 100" (v2, with per-device lines after) -> 100. */
export function parseIoWeight(text: string): number | undefined {
  const m = /^(?:default\s+)?(\d+)\s*$/m.exec(text.trim().split('\n')[0] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** v1 blkio.throttle.io_serviced / io_service_bytes ("254:0 Read 12" lines). */
export function parseBlkioV1(serviced: string, bytes: string): Map<string, IoCounters> {
  const m = new Map<string, IoCounters>();
  for (const [text, unit] of [
    [serviced, 'ios'],
    [bytes, 'bytes'],
  ] as const) {
    for (const line of text.split('\n')) {
      const [dev, op, v] = line.trim().split(/\s+/);
      if (!dev || !/^\d+:\d+$/.test(dev) || !v || !/^\d+$/.test(v)) continue;
      const c = counters(m, dev);
      if (op === 'Read') c[unit === 'ios' ? 'readIos' : 'readBytes'] = Number(v);
      if (op === 'Write') c[unit === 'ios' ? 'writeIos' : 'writeBytes'] = Number(v);
    }
  }
  return m;
}

/** v2 io.stat ("254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" lines). */
export function parseIoStatV2(text: string): Map<string, IoCounters> {
  const m = new Map<string, IoCounters>();
  for (const line of text.split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev || !/^\d+:\d+$/.test(dev)) continue;
    const c = counters(m, dev);
    for (const item of kv) {
      const [k, v] = item.split('=');
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      if (k === 'rios') c.readIos = n;
      if (k === 'wios') c.writeIos = n;
      if (k === 'rbytes') c.readBytes = n;
      if (k === 'wbytes') c.writeBytes = n;
    }
  }
  return m;
}

/**
 * Which I/O partitioning mechanism works here. Proportional weights need a weight
 * file *and* a scheduler (or controller) that honours it: BFQ selected on the disk,
 * or io.cost enabled on cgroup v2. Otherwise only hard caps (throttle) work.
 */
export function chooseIoMechanism(o: { version: 1 | 2; weightFileExists: boolean; scheduler: string | null; ioCostEnabled: boolean }): { mechanism: 'weight' | 'throttle'; reason: string } {
  if (!o.weightFileExists) return { mechanism: 'throttle', reason: `no ${o.version === 2 ? 'io.weight' : 'blkio weight'} file in the cgroup: only hard caps (throttle) are available` };
  if (o.scheduler === 'bfq') return { mechanism: 'weight', reason: 'BFQ is the disk scheduler: proportional weights take effect' };
  if (o.version === 2 && o.ioCostEnabled) return { mechanism: 'weight', reason: 'io.cost is enabled: io.weight takes effect' };
  return { mechanism: 'throttle', reason: `the disk scheduler is ${o.scheduler ?? 'unknown'}${o.version === 2 ? ' and io.cost is off' : ''}: weight files exist but would be ignored; using hard caps (throttle)` };
}
