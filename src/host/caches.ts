/**
 * Start a read test cold: write dirty pages back (sync), then drop the host's
 * page cache, dentries and inodes (vm.drop_caches = 3). Global to the host, so
 * only the harness calls it, between a workload's layout and its reads.
 */
import { promises as fs } from 'node:fs';
import { run } from '../util/proc.js';

export async function dropHostCaches(): Promise<string> {
  const t0 = performance.now();
  const s = await run(['sync'], { timeoutMs: 120_000 });
  if (s.code !== 0) return `host page cache NOT dropped: sync failed (exit ${s.code})`;
  try {
    await fs.writeFile('/proc/sys/vm/drop_caches', '3');
  } catch (e) {
    return `host page cache NOT dropped: ${(e as Error).message}`;
  }
  return `host page cache dropped (sync + vm.drop_caches=3, ${(performance.now() - t0).toFixed(0)} ms)`;
}
