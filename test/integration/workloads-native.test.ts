/**
 * The cpu, memory and disk workloads' real argv, run on this host with no backend:
 * a tiny local Instance executes argv directly (scratchDir = a temp directory),
 * each tool for about 1 s. Checks that the real tools accept the argv and that
 * every metric comes back finite and positive. Also checks the background-server
 * and kill scripts of the network workload against the host's busybox.
 */
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ExecOptions,
  ExecResult,
  Footprint,
  Instance,
  StartupStages,
  StartupTiming,
} from '../../src/backends/types.js';
import { run, sleep } from '../../src/util/proc.js';
import { cpuParams, cpuWorkload } from '../../src/workloads/cpu.js';
import { DEVICE_CHECK_METRIC, diskParams, diskWorkload, FIO_FILE } from '../../src/workloads/disk.js';
import { memoryParams, memoryWorkload } from '../../src/workloads/memory.js';
import { backgroundArgv, killArgv } from '../../src/workloads/network.js';
import type { MetricValue, Workload } from '../../src/workloads/types.js';
import { makeFakeContext } from '../helpers/fake-instance.js';

/** CPU seconds of this process and its waited-for children (utime+stime+cutime+cstime). */
function selfAndChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "(comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17 -> indices 11..14 here.
  const ticks = [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i]), 0);
  return ticks / 100;
}

class LocalInstance implements Instance {
  readonly name = 'local';
  readonly kind = 'native' as const;
  readonly variant = 'host-test';
  readonly address = undefined;
  readonly cgroup = undefined;
  constructor(readonly scratchDir: string) {}
  startupStages(): StartupStages {
    return {};
  }
  startupTiming(): StartupTiming {
    return { launchedMs: 0, payloadReadyMs: 0, signal: 'none: a test instance nobody started' };
  }
  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run(argv, { timeoutMs: opts.timeoutMs ?? 60_000 });
  }
  async footprint(): Promise<Footprint> {
    return { hostRssBytes: 0, processes: 0 };
  }
  async hostCpuSeconds(): Promise<number> {
    return selfAndChildrenCpuSeconds();
  }
  async stop(): Promise<void> {}
}

let scratch = '';
beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'isobench-wl-native-'));
});
afterAll(async () => {
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

async function runNative<P>(
  w: Workload<P>,
  params: P,
  vcpus = Math.min(2, os.availableParallelism()),
): Promise<MetricValue[]> {
  const f = makeFakeContext<P>({
    params,
    instance: new LocalInstance(scratch),
    spec: { vcpus, memoryMiB: 1024, disk: { sizeMiB: 1024, mode: 'dir' } },
  });
  const values = await w.run(f.ctx);
  const declared = new Set(w.metrics.map((m) => m.name));
  for (const v of values) {
    expect(declared.has(v.metric), v.metric).toBe(true);
    expect(Number.isFinite(v.value), `${v.metric} = ${v.value}`).toBe(true);
    expect(v.value, v.metric).toBeGreaterThan(0);
  }
  return values;
}

describe('workloads on the host (no backend)', () => {
  it('cpu: sysbench and stress-ng figures', async () => {
    const values = await runNative(cpuWorkload, cpuParams.parse({ seconds: 1 }));
    const names = values.map((v) => v.metric);
    expect(names).toEqual(expect.arrayContaining(['sysbench-events-1t', 'matrixprod-bogo-ops-1t', 'syscall-ops']));
    if (Math.min(2, os.availableParallelism()) > 1) expect(names).toContain('sysbench-events-nt');
  });

  it('memory: bandwidth and the random access rate', async () => {
    const values = await runNative(memoryWorkload, memoryParams.parse({ seconds: 1 }));
    const by = Object.fromEntries(values.map((v) => [v.metric, v.value]));
    expect(Object.keys(by).sort()).toEqual(['rnd-access-mops', 'seq-read-mibps', 'seq-write-mibps']);
    // A random access beyond the caches costs more than a nanosecond and less than a few microseconds on any host.
    expect(by['rnd-access-mops']).toBeLessThan(1000);
    expect(by['rnd-access-mops']).toBeGreaterThan(0.2);
  });

  it('disk: fio O_DIRECT jobs, CPU per GB, file removed', async () => {
    const values = await runNative(diskWorkload, diskParams.parse({ sizeMiB: 32, runtimeSeconds: 1 }));
    // This local instance has no cgroup: the device check is missing (never a made-up 0); the native
    // backend's check is in like-with-like.test.ts.
    expect(values.map((v) => v.metric).sort()).toEqual(
      diskWorkload.metrics
        .map((m) => m.name)
        .filter((n) => n !== DEVICE_CHECK_METRIC)
        .sort(),
    );
    await expect(fs.access(path.join(scratch, FIO_FILE))).rejects.toThrow();
  });

  it('network helpers: a backgrounded server is bounded, returns its own pid, and is killed only by its name', async () => {
    const r = await run(backgroundArgv(20, ['sleep', '60']), { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    const pid = Number(r.stdout.trim());
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    try {
      // busybox timeout forks its watchdog, then execs the program in place (same pid).
      for (let i = 0; i < 50 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await sleep(20);
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('sleep');
      // Wrong name: left alone.
      expect((await run(killArgv(pid, 'iperf3'), { timeoutMs: 10_000 })).code).toBe(0);
      expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('sleep');
      expect((await run(killArgv(pid, 'sleep'), { timeoutMs: 10_000 })).code).toBe(0);
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        let state = '';
        try {
          const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
          state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
        } catch {
          gone = true;
        }
        if (state === 'Z') gone = true;
        if (!gone) await sleep(100);
      }
      expect(gone).toBe(true);
      // Killing a pid that is gone is not an error.
      expect((await run(killArgv(pid, 'sleep'), { timeoutMs: 10_000 })).code).toBe(0);
    } finally {
      try {
        if (['sleep', 'busybox'].includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()))
          process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
});
