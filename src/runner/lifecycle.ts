/**
 * Start-up timing lives here, once, for every backend (as PerfKitBenchmarker's
 * resource template records time-to-ready): from the call to Backend.start() to
 * the first successful exec of /bin/true inside the instance.
 */
import { IsobenchError, errorMessage } from '../errors.js';
import type { Backend, InstanceSpec } from '../backends/types.js';
import type { StartedInstance } from '../workloads/types.js';
import { sleep } from '../util/proc.js';

export async function startInstance(backend: Backend, spec: InstanceSpec, bootTimeoutMs: number): Promise<StartedInstance> {
  const t0 = performance.now();
  const deadline = t0 + bootTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new IsobenchError('INSTANCE_START', `${backend.label}: instance ${spec.name} not ready within ${Math.round(bootTimeoutMs / 1000)} s`)),
      bootTimeoutMs,
    );
  });
  try {
    const instance = await Promise.race([backend.start(spec), timeout]);
    let lastError = '';
    while (performance.now() < deadline) {
      const left = Math.max(1000, deadline - performance.now());
      try {
        const r = await instance.exec(['/bin/true'], { timeoutMs: Math.min(10_000, left) });
        if (r.code === 0) return { instance, readyMs: performance.now() - t0 };
        lastError = `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`;
      } catch (e) {
        lastError = errorMessage(e);
      }
      await sleep(20);
    }
    await instance.stop().catch(() => undefined);
    throw new IsobenchError('INSTANCE_START', `${backend.label}: instance ${spec.name} started but /bin/true never succeeded (${lastError})`);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
