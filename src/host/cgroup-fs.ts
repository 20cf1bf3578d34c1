/**
 * Files and folders of cgroups: reading and writing their files, killing what
 * is inside one, removing a cgroup tree, and removing the shared `isobench`
 * parent where it has no child left.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function readText(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export async function writeText(file: string, value: string): Promise<void> {
  await fs.writeFile(file, value);
}

export function parseKeyValues(text: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) m.set(k, Number(v));
  }
  return m;
}

export async function procsOf(dir: string): Promise<number[]> {
  const text = await readText(path.join(dir, 'cgroup.procs'));
  return (text ?? '').split('\n').filter(Boolean).map(Number);
}

export async function killAll(dir: string): Promise<void> {
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
export async function removeCgroupDir(dir: string): Promise<string | undefined> {
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
  for (const h of await fs.readdir(cgroupRoot).catch(() => [] as string[]))
    candidates.push(path.join(cgroupRoot, h, CGROUP_PARENT));
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
