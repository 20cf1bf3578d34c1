/**
 * Host memory of a set of processes from /proc/<pid>/smaps_rollup: RSS and PSS.
 * PSS splits shared pages between their users, so it is the figure that can be
 * summed across instances and compared across backends.
 */
import { promises as fs } from 'node:fs';

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
