/**
 * Is the host busy at the moment a run starts? The load average alone cannot say: it decays over minutes, so
 * right after a test suite, a build or an earlier run ends it still reads high on a host that is idle (back-to-back
 * quick runs all warned "busy"). The kernel's count of tasks running now (procs_running in /proc/stat), sampled a
 * few times, says what competes for the CPUs at the start.
 */
import { promises as fs } from 'node:fs';
import { sleep } from '../util/proc.js';

/** procs_running of a /proc/stat text: the tasks on a CPU or waiting for one, this reader included. */
export function procsRunning(stat: string): number | undefined {
  const m = /^procs_running\s+(\d+)$/m.exec(stat);
  return m ? Number(m[1]) : undefined;
}

/**
 * The mean number of runnable tasks besides the sampling one over `samples` reads `gapMs` apart (about 100 ms in
 * all); undefined where /proc/stat has no count.
 */
export async function runnableBesidesUs(
  read: () => Promise<string> = () => fs.readFile('/proc/stat', 'utf8'),
  samples = 5,
  gapMs = 20,
): Promise<number | undefined> {
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(gapMs);
    const n = procsRunning(await read().catch(() => ''));
    if (n === undefined) return undefined;
    sum += Math.max(0, n - 1);
  }
  return sum / samples;
}

export interface HostBusy {
  state: 'busy' | 'recently-busy' | 'idle';
  /** One line for a warning or the doctor: the count running now and the load average. */
  text: string;
}

/**
 * Busy is what runs now, with the load average beside it; a high load average on a host idle now is a load that
 * just ended, said as such. Without a runnable count (no /proc/stat) the load average decides, as before.
 */
export function hostBusy(host: { loadAvg: readonly number[]; runnableAtStart: number | null; cpus: number }): HostBusy {
  const load = host.loadAvg[0] ?? 0;
  const now = host.runnableAtStart;
  const limit = 0.5 * host.cpus;
  const loadText = `load average ${load.toFixed(2)}`;
  if (now === null)
    return load > limit
      ? { state: 'busy', text: `host ${loadText} at start on ${host.cpus} CPUs: other load skews results` }
      : { state: 'idle', text: `${loadText} on ${host.cpus} CPUs` };
  const running = `${now.toFixed(1)} tasks running besides isobench`;
  if (now > limit)
    return {
      state: 'busy',
      text: `host busy at start: ${running} on ${host.cpus} CPUs (${loadText}): other load skews results`,
    };
  if (load > limit)
    return {
      state: 'recently-busy',
      text:
        `host ${loadText} on ${host.cpus} CPUs from the minutes before the start, idle at start (${running}): ` +
        'a load that ended; if it comes back it skews results',
    };
  return { state: 'idle', text: `${running}, ${loadText} on ${host.cpus} CPUs` };
}
