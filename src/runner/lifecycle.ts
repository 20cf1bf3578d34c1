/**
 * Start-up timing lives here, once, for every backend (as PerfKitBenchmarker's
 * resource template records time-to-ready). The figure follows the one
 * definition (STARTUP_DEFINITION): launch to the payload's own ready signal,
 * whose end points the backend timestamps (Instance.startupTiming()). The first
 * exec of /bin/true through the harness is still done here, to prove the
 * instance usable, and is recorded as its own stage (and as readyMs), never as
 * the start-up figure.
 */
import { IsobenchError, errorMessage } from '../errors.js';
import { STARTUP_DEFINITION, type Backend, type InstanceSpec, type StartupTiming } from '../backends/types.js';
import type { StartedInstance, StartupMeasure } from '../workloads/types.js';
import { abortError, isAbortError, sleep, throwIfAborted } from '../util/proc.js';

/** The start-up figure and its stages from the backend's end points and the first exec (pure). */
export function startupMeasure(t: StartupTiming, readyMs: number): StartupMeasure {
  const ok = (x: number): boolean => Number.isFinite(x) && x >= 0;
  if (
    !ok(t.launchedMs) ||
    !ok(t.payloadReadyMs) ||
    !ok(readyMs) ||
    t.payloadReadyMs < t.launchedMs ||
    readyMs < t.payloadReadyMs
  ) {
    throw new Error(
      `start-up end points out of order: launched ${t.launchedMs} ms, payload ready ${t.payloadReadyMs} ms, ` +
        `first exec ${readyMs} ms after start()`,
    );
  }
  if (t.networkAttachMs !== undefined && !(ok(t.networkAttachMs) && t.networkAttachMs <= t.launchedMs)) {
    throw new Error(`network attachment (${t.networkAttachMs} ms) must come before launch (${t.launchedMs} ms)`);
  }
  const startupMs = t.payloadReadyMs - t.launchedMs;
  return {
    definition: STARTUP_DEFINITION,
    startupMs,
    stages: {
      prepareMs: t.launchedMs,
      ...(t.networkAttachMs !== undefined ? { networkAttachMs: t.networkAttachMs } : {}),
      launchToPayloadMs: startupMs,
      payloadToFirstExecMs: readyMs - t.payloadReadyMs,
      readyMs,
    },
    signal: t.signal,
  };
}

/**
 * Start an instance and wait until it runs /bin/true. With a signal, an abort
 * (Ctrl-C, a workload timeout) ends the wait at once with an AbortError, and
 * the instance, when the backend brings it up anyway, is stopped: nothing is
 * started after a run or a workload has been cancelled. A boot timeout does
 * the same.
 */
export async function startInstance(
  backend: Backend,
  spec: InstanceSpec,
  bootTimeoutMs: number,
  signal?: AbortSignal,
): Promise<StartedInstance> {
  throwIfAborted(signal);
  const t0 = performance.now();
  const deadline = t0 + bootTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new IsobenchError(
            'INSTANCE_START',
            `${backend.label}: instance ${spec.name} not ready within ${Math.round(bootTimeoutMs / 1000)} s`,
          ),
        ),
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
        const r = await instance.exec(['/bin/true'], {
          timeoutMs: Math.min(10_000, left),
          ...(signal ? { signal } : {}),
        });
        if (r.code === 0) {
          const readyMs = performance.now() - t0;
          // start() began a moment after t0 (the backend's own clock starts inside it): its end points are a
          // lower bound on those since t0, so clamp the first exec to at least the payload's signal.
          try {
            const timing = instance.startupTiming();
            return { instance, readyMs, startup: startupMeasure(timing, Math.max(readyMs, timing.payloadReadyMs)) };
          } catch (e) {
            throw new IsobenchError('INSTANCE_START', `${backend.label}: instance ${spec.name}: ${errorMessage(e)}`);
          }
        }
        lastError = `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`;
      } catch (e) {
        if (isAbortError(e)) throw e;
        lastError = errorMessage(e);
      }
      await sleep(20, signal);
    }
    throw new IsobenchError(
      'INSTANCE_START',
      `${backend.label}: instance ${spec.name} started but /bin/true never succeeded (${lastError})`,
    );
  } catch (e) {
    await instance.stop().catch(() => undefined);
    throw e;
  }
}
