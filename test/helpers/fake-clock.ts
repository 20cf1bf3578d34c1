import { vi } from 'vitest';

/**
 * Settle `work` with setTimeout faked, so a workload's retry waits (200 ms apart, tens of them before it gives up)
 * pass at once: the waits are still taken in their order and number, only not in real time. The fake contexts'
 * exec answers are promises, never timers, so nothing else the workload does is moved.
 */
export async function settleWithFakeClock<T>(work: () => Promise<T>): Promise<PromiseSettledResult<T>> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  try {
    const settled = work().then(
      (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
      (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
    );
    await vi.runAllTimersAsync();
    return await settled;
  } finally {
    vi.useRealTimers();
  }
}
