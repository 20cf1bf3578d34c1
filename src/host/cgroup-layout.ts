/**
 * Which cgroup hierarchy the host has (v1, hybrid or v2) and where it is
 * mounted, detected once from /proc/self/mountinfo and passed in, as cadvisor
 * does; the parser takes the text so tests run it on fixtures.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type CgroupController = 'cpu' | 'cpuacct' | 'cpuset' | 'memory' | 'pids' | 'blkio' | 'freezer';
export const V1_CONTROLLERS: CgroupController[] = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'freezer'];

export type CgroupLayout =
  | { version: 1; hybrid: boolean; mounts: Partial<Record<CgroupController, string>> }
  | { version: 2; root: string; controllers: string[] };

/** Parse /proc/self/mountinfo. Hybrid hosts (v1 controllers + empty v2) count as v1. */
export function parseCgroupLayout(
  mountinfo: string,
  v2Controllers: (root: string) => string[] = () => [],
): CgroupLayout {
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
