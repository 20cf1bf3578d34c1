/**
 * Busy at the start is what runs now, not the load average: a load that just ended (an earlier run, a test
 * suite) leaves a high load average on an idle host, and must not read as "other load skews results".
 */
import { describe, expect, it } from 'vitest';
import { hostBusy, procsRunning, runnableBesidesUs } from '../../../src/host/busy.js';
import { hostWarnings } from '../../../src/runner/session.js';
import type { HostFacts } from '../../../src/host/facts.js';

const stat = (running: number): string =>
  `cpu  2255 34 2290 22625563 6290 127 456 0 0 0\nctxt 1990473\nbtime 1062191376\nprocesses 2915\n` +
  `procs_running ${running}\nprocs_blocked 0\n`;

describe('host busy at the start', () => {
  it('reads procs_running; the mean of the samples leaves the reader out', async () => {
    expect(procsRunning(stat(3))).toBe(3);
    expect(procsRunning('cpu 1 2 3\n')).toBeUndefined();
    const seq = [3, 1, 1, 2, 1];
    let i = 0;
    expect(await runnableBesidesUs(async () => stat(seq[i++]!), 5, 0)).toBeCloseTo((2 + 0 + 0 + 1 + 0) / 5);
    expect(i).toBe(5);
    expect(await runnableBesidesUs(async () => 'no count here', 5, 0)).toBeUndefined();
    // This machine's own /proc/stat: a count, at least zero.
    expect(await runnableBesidesUs()).toBeGreaterThanOrEqual(0);
  });

  it('busy when tasks run now; a high load average on a host idle now is a load that ended; idle otherwise', () => {
    expect(hostBusy({ loadAvg: [0.3, 0.2, 0.1], runnableAtStart: 1.4, cpus: 2 })).toMatchObject({
      state: 'busy',
      text: 'host busy at start: 1.4 tasks running besides isobench on 2 CPUs (load average 0.30): other load skews results',
    });
    const after = hostBusy({ loadAvg: [3.26, 2.1, 1.5], runnableAtStart: 0, cpus: 2 });
    expect(after.state).toBe('recently-busy');
    expect(after.text).toMatch(/^host load average 3\.26 on 2 CPUs from the minutes before the start, idle at start/);
    expect(hostBusy({ loadAvg: [0.4, 0.2, 0.1], runnableAtStart: 0.2, cpus: 2 }).state).toBe('idle');
    // No count (no /proc/stat): the load average decides, as it did.
    expect(hostBusy({ loadAvg: [3, 2, 1], runnableAtStart: null, cpus: 2 }).state).toBe('busy');
    expect(hostBusy({ loadAvg: [0.5, 2, 1], runnableAtStart: null, cpus: 2 }).state).toBe('idle');
  });

  it('a run warns HOST_BUSY only for load now, HOST_RECENTLY_BUSY for a load that ended', () => {
    const host = (loadAvg: [number, number, number], runnableAtStart: number | null) =>
      ({ loadAvg, runnableAtStart, cpus: 2, thp: {}, ksm: { run: 0 }, cpuGovernor: null }) as unknown as HostFacts;
    const codes = (h: HostFacts) => hostWarnings(h).map((w) => w.code);
    expect(codes(host([3.26, 2, 1], 0))).toEqual(['HOST_RECENTLY_BUSY']);
    expect(codes(host([0.2, 2, 1], 1.6))).toEqual(['HOST_BUSY']);
    expect(codes(host([0.2, 0.1, 0.1], 0))).toEqual([]);
  });
});
