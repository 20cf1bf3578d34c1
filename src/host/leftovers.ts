/**
 * Finding and removing what crashed runs left behind. Only things carrying an
 * isobench-owned name are touched: network namespaces named isobench-*,
 * cgroups under isobench/, OCI containers whose id starts with isobench-,
 * QEMU processes started with `-name isobench-*`, mounts and temp dirs named
 * isobench-*.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/proc.js';
import { listNetns, deleteNetns, NETNS_PREFIX } from '../net/bench.js';
import { CgroupHandle, CGROUP_PARENT, type CgroupLayout } from './cgroup.js';

export interface Leftover {
  kind: 'netns' | 'cgroup' | 'container' | 'process' | 'mount' | 'tempdir';
  name: string;
  remove: () => Promise<void>;
}

/** OCI runtimes keep per-run state under /run/isobench/<short-id>/<runtime>/ (an isobench-owned root). */
export const RUNTIME_STATE_ROOT = '/run/isobench';

/** A live run writes its pid here; its resources are not leftovers. */
export const OWNER_FILE = 'owner.pid';

/** Short ids of runs whose owning process is still alive. */
export async function liveRunIds(): Promise<Set<string>> {
  const live = new Set<string>();
  for (const id of await fs.readdir(RUNTIME_STATE_ROOT).catch(() => [] as string[])) {
    const pid = Number(await fs.readFile(path.join(RUNTIME_STATE_ROOT, id, OWNER_FILE), 'utf8').catch(() => 'NaN'));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      live.add(id);
    } catch {
      /* owner gone: its resources are leftovers */
    }
  }
  return live;
}

async function runtimeRoots(): Promise<Array<{ runtime: string; root: string }>> {
  const out: Array<{ runtime: string; root: string }> = [];
  for (const run of await fs.readdir(RUNTIME_STATE_ROOT).catch(() => [] as string[])) {
    for (const runtime of await fs.readdir(path.join(RUNTIME_STATE_ROOT, run)).catch(() => [] as string[])) {
      if (['runc', 'crun', 'runsc'].includes(runtime)) out.push({ runtime, root: path.join(RUNTIME_STATE_ROOT, run, runtime) });
    }
  }
  return out;
}

export async function findLeftovers(layout: CgroupLayout): Promise<Leftover[]> {
  const out: Leftover[] = [];
  // OCI containers first (their processes hold cgroups and namespaces).
  // OCI containers first (their processes hold cgroups and namespaces); the runtime lists its own state.
  for (const { runtime, root } of await runtimeRoots()) {
    const global = runtime === 'runsc' ? ['runsc', `--root=${root}`] : [runtime, '--root', root];
    const list = await run([...global, 'list', '--quiet'], { timeoutMs: 30_000 });
    const ids = list.stdout.split('\n').map((x) => x.trim()).filter(Boolean);
    for (const id of ids)
      out.push({
        kind: 'container',
        name: `${runtime} ${id} (root ${root})`,
        remove: async () => {
          await run([...global, 'kill', id, 'KILL'], { timeoutMs: 10_000 });
          const r = await run([...global, 'delete', '--force', id], { timeoutMs: 30_000 });
          if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) throw new Error(r.stderr.trim());
        },
      });
  }
  // QEMU processes named isobench-*.
  for (const pid of (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    let cmd: string[];
    try {
      cmd = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue;
    }
    const i = cmd.indexOf('-name');
    if (cmd[0]?.includes('qemu-system') && i >= 0 && cmd[i + 1]?.startsWith('isobench-'))
      out.push({ kind: 'process', name: `qemu pid ${pid} (${cmd[i + 1]})`, remove: async () => void process.kill(Number(pid), 'SIGKILL') });
  }
  for (const ns of await listNetns())
    if (ns.startsWith(NETNS_PREFIX)) out.push({ kind: 'netns', name: ns, remove: () => deleteNetns(ns) });
  const parent = new CgroupHandle(layout, CGROUP_PARENT);
  for (const dir of parent.dirs()) {
    let kids: string[] = [];
    try {
      kids = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const k of kids) {
      const name = `${CGROUP_PARENT}/${k}`;
      if (!out.some((o) => o.kind === 'cgroup' && o.name === name)) out.push({ kind: 'cgroup', name, remove: () => new CgroupHandle(layout, name).destroy() });
    }
  }
  const mounts = await fs.readFile('/proc/self/mounts', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const mp = line.split(' ')[1];
    if (mp && /\/isobench-[^/]*/.test(mp) && mp.startsWith(os.tmpdir()))
      out.push({ kind: 'mount', name: mp, remove: async () => void (await run(['umount', '-l', mp])) });
  }
  for (const run of await fs.readdir(RUNTIME_STATE_ROOT).catch(() => [] as string[]))
    out.push({ kind: 'tempdir', name: path.join(RUNTIME_STATE_ROOT, run), remove: () => fs.rm(path.join(RUNTIME_STATE_ROOT, run), { recursive: true, force: true }) });
  for (const d of await fs.readdir(os.tmpdir()).catch(() => [] as string[]))
    if (d.startsWith('isobench-')) out.push({ kind: 'tempdir', name: path.join(os.tmpdir(), d), remove: () => fs.rm(path.join(os.tmpdir(), d), { recursive: true, force: true }) });
  // Mounts before directories, processes before cgroups.
  const order = ['container', 'process', 'mount', 'netns', 'cgroup', 'tempdir'];
  const live = await liveRunIds();
  const isLive = (o: Leftover): boolean => [...live].some((id) => o.name.includes(id));
  return out.filter((o) => !isLive(o)).sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
}

export async function removeLeftovers(items: Leftover[]): Promise<{ removed: string[]; failed: string[] }> {
  const removed: string[] = [];
  const failed: string[] = [];
  for (const item of items) {
    try {
      await item.remove();
      removed.push(`${item.kind} ${item.name}`);
    } catch (e) {
      failed.push(`${item.kind} ${item.name}: ${(e as Error).message}`);
    }
  }
  // The empty parent cgroup goes last.
  return { removed, failed };
}
