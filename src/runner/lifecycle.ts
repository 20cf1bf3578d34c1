/**
 * Start-up timing lives here, once, for every backend (as PerfKitBenchmarker's
 * resource template records time-to-ready): from the call to Backend.start() to
 * the first successful exec of /bin/true inside the instance.
 */
import { IsobenchError, errorMessage } from '../errors.js';
import type { Backend, InstanceSpec } from '../backends/types.js';
import type { StartedInstance } from '../workloads/types.js';
import { abortError, isAbortError, sleep, throwIfAborted } from '../util/proc.js';

/**
 * Start an instance and wait until it runs /bin/true. With a signal, an abort
 * (Ctrl-C, a workload timeout) ends the wait at once with an AbortError, and
 * the instance, when the backend brings it up anyway, is stopped: nothing is
 * started after a run or a workload has been cancelled. A boot timeout does
 * the same.
 */
export async function startInstance(backend: Backend, spec: InstanceSpec, bootTimeoutMs: number, signal?: AbortSignal): Promise<StartedInstance> {
  throwIfAborted(signal);
  const t0 = performance.now();
  const deadline = t0 + bootTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IsobenchError('INSTANCE_START', `${backend.label}: instance ${spec.name} not ready within ${Math.round(bootTimeoutMs / 1000)} s`)),
      bootTimeoutMs,
    );
    onAbort = () => reject(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const starting = backend.start(spec, signal ? { signal } : {});
  let instance;
  try {
    instance = await Promise.race([starting, giveUp]);
  } catch (e) {
    // Abandoned (timeout or abort): whatever the backend still brings up is stopped when it arrives.
    const stopLate = starting.then((i) => i.stop()).catch(() => undefined);
    // An aborted start releases what it created itself (Backend.start honours the signal):
    // wait for that, briefly, so the run's own cleanup never races a half-made instance.
    if (signal?.aborted) await Promise.race([stopLate, sleep(5000)]);
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  try {
    let lastError = '';
    while (performance.now() < deadline) {
      throwIfAborted(signal);
      const left = Math.max(1000, deadline - performance.now());
      try {
        const r = await instance.exec(['/bin/true'], { timeoutMs: Math.min(10_000, left), ...(signal ? { signal } : {}) });
        if (r.code === 0) return { instance, readyMs: performance.now() - t0 };
        lastError = `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`;
      } catch (e) {
        if (isAbortError(e)) throw e;
        lastError = errorMessage(e);
      }
      await sleep(20, signal);
    }
    throw new IsobenchError('INSTANCE_START', `${backend.label}: instance ${spec.name} started but /bin/true never succeeded (${lastError})`);
  } catch (e) {
    await instance.stop().catch(() => undefined);
    throw e;
  }
}
