/**
 * Host memory of a set of processes from /proc/<pid>/smaps_rollup: RSS and PSS.
 * PSS splits shared pages between their users, so it is the figure that can be
 * summed across instances and compared across backends.
 */
import { promises as fs } from 'node:fs';
import type { CgroupHandle } from '../host/cgroup.js';
import type { Footprint } from './types.js';

export interface ProcMemory {
  rssBytes: number;
  pssBytes: number;
  processes: number;
}

export function parseSmapsRollup(text: string): { rssBytes: number; pssBytes: number } {
  const get = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  };
  return { rssBytes: get('Rss'), pssBytes: get('Pss') };
}

export async function processMemory(pids: readonly number[]): Promise<ProcMemory> {
  let rss = 0;
  let pss = 0;
  let n = 0;
  for (const pid of pids) {
    try {
      const m = parseSmapsRollup(await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
      rss += m.rssBytes;
      pss += m.pssBytes;
      n++;
    } catch {
      /* exited meanwhile */
    }
  }
  return { rssBytes: rss, pssBytes: pss, processes: n };
}

/**
 * What the host pays for an instance: RSS and PSS of its host processes plus its
 * cgroup's working set. The same figure for every backend (native: the processes
 * in its cgroup; container: the runtime's processes in the container cgroup;
 * VM: the QEMU process).
 */
export async function instanceFootprint(pids: readonly number[], cgroup: CgroupHandle | undefined): Promise<Footprint> {
  const mem = await processMemory(pids);
  const cg = await cgroup?.memoryStats();
  return {
    hostRssBytes: mem.rssBytes,
    ...(mem.processes > 0 ? { hostPssBytes: mem.pssBytes } : {}),
    processes: mem.processes,
    ...(cg ? { cgroupMemoryBytes: cg.workingSetBytes } : {}),
  };
}
