/**
 * The abort plumbing behind workload timeouts and Ctrl-C: sleeps and execs end
 * as soon as their signal fires (the process killed, not waited out), an
 * abandoned instance start stops the instance it brings up late, and density
 * starts no instance once its context is aborted.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { abortable, isAbortError, run, runOk, sleep } from '../../../src/util/proc.js';
import { startInstance } from '../../../src/runner/lifecycle.js';
import type { Backend, InstanceSpec } from '../../../src/backends/types.js';
import { densityParams, densityWorkload } from '../../../src/workloads/density.js';
import { FakeInstance, FAKE_SPEC, fakeStarted, makeFakeContext } from '../../helpers/fake-instance.js';

const alive = async (pid: number): Promise<boolean> => {
  try {
    process.kill(pid, 0);
    // A zombie is gone for our purposes; execa reaps it.
    return !/^State:\s+Z/m.test(String((await execa('cat', [`/proc/${pid}/status`], { reject: false })).stdout));
  } catch {
    return false;
  }
};

describe('sleep', () => {
  it('rejects with an AbortError right after the abort, and at once on an aborted signal', async () => {
    const c = new AbortController();
    const t0 = performance.now();
    setTimeout(() => c.abort('test'), 30);
    const e = await sleep(10_000, c.signal).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(isAbortError(await sleep(10_000, c.signal).catch((x: unknown) => x))).toBe(true);
    // Without an abort it waits its time.
    const t1 = performance.now();
    await sleep(50, new AbortController().signal);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(45);
  });
});

describe('run', () => {
  it('kills the process when the signal fires and says canceled', async () => {
    const c = new AbortController();
    const p = run(['sleep', '30'], { signal: c.signal, timeoutMs: 60_000 });
    await sleep(100);
    const pids = String((await execa('pgrep', ['-x', '-P', String(process.pid), 'sleep'], { reject: false })).stdout)
      .split('\n')
      .filter(Boolean)
      .map(Number);
    expect(pids.length).toBeGreaterThan(0);
    const t0 = performance.now();
    c.abort('test');
    const r = await p;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r.canceled).toBe(true);
    expect(r.code).not.toBe(0);
    for (const pid of pids) expect(await alive(pid)).toBe(false);
  });

  it('runOk throws an AbortError, not a command failure', async () => {
    const c = new AbortController();
    setTimeout(() => c.abort('test'), 50);
    const e = await runOk(['sleep', '30'], { signal: c.signal }).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
  });

  it('abortable stops waiting at the abort and passes results through otherwise', async () => {
    const c = new AbortController();
    setTimeout(() => c.abort('test'), 30);
    expect(isAbortError(await abortable(sleep(10_000), c.signal).catch((x: unknown) => x))).toBe(true);
    expect(await abortable(Promise.resolve(7), new AbortController().signal)).toBe(7);
  });
});

describe('startInstance', () => {
  const slowBackend = (start: Backend['start']): Backend =>
    ({
      kind: 'native',
      label: 'native',
      prepare: async () => undefined,
      info: () => ({}) as never,
      start,
    }) as unknown as Backend;

  it('an abort ends a start the backend cancels: the backend gets the signal and has released before the reject', async () => {
    let released = false;
    const backend = slowBackend(
      (_spec, o) =>
        new Promise((_, reject) =>
          o?.signal?.addEventListener('abort', () => {
            setTimeout(() => {
              released = true;
              reject(Object.assign(new Error('cancelled'), { name: 'AbortError' }));
            }, 50);
          }),
        ),
    );
    const c = new AbortController();
    const t0 = performance.now();
    setTimeout(() => c.abort('test'), 30);
    const e = await startInstance(backend, FAKE_SPEC as InstanceSpec, 60_000, c.signal).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
    expect(released).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('an instance that comes up after the abort is stopped before the start rejects', async () => {
    const late = new FakeInstance();
    const c = new AbortController();
    // This backend ignores the signal and finishes its start 50 ms after the abort.
    const backend = slowBackend(
      () => new Promise((r) => c.signal.addEventListener('abort', () => setTimeout(() => r(late), 50))),
    );
    const t0 = performance.now();
    setTimeout(() => c.abort('test'), 30);
    const e = await startInstance(backend, FAKE_SPEC as InstanceSpec, 60_000, c.signal).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
    expect(late.stopCalls).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a start after the abort is refused without calling the backend', async () => {
    let called = false;
    const c = new AbortController();
    c.abort('test');
    const e = await startInstance(
      slowBackend(async () => ((called = true), new FakeInstance())),
      FAKE_SPEC as InstanceSpec,
      60_000,
      c.signal,
    ).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
    expect(called).toBe(false);
  });
});

describe('density', () => {
  it('starts no instance once its context is aborted, and stops the ones it started', async () => {
    const c = new AbortController();
    const started: FakeInstance[] = [];
    const { ctx } = makeFakeContext({
      params: densityParams.parse({ maxInstances: 8, settleSeconds: 0, memorySafetyMiB: 256 }),
      instance: new FakeInstance(),
      net: false,
      signal: c.signal,
      startInstance: async () => {
        const i = new FakeInstance({ footprint: { hostRssBytes: 1 << 20, hostPssBytes: 1 << 20, processes: 1 } });
        started.push(i);
        // The workload timeout fires while the third instance starts.
        if (started.length === 3) c.abort('workload timeout');
        return fakeStarted(i, 10);
      },
    });
    const e = await densityWorkload.run(ctx).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
    expect(started).toHaveLength(3);
    for (const i of started) expect(i.stopCalls).toBeGreaterThan(0);
  });
});
