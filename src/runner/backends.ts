/**
 * Backend construction from a scenario entry: the entry's provider builds it (providers load their module on
 * demand).
 */
import type { Backend, BackendContext } from '../backends/types.js';
import { getProvider, type ResolvedBackend } from '../backends/providers/index.js';

export async function createBackend(
  entry: ResolvedBackend,
  ctx: BackendContext,
  opts: { bootTimeoutMs: number },
): Promise<Backend> {
  return getProvider(entry.provider).create(entry, ctx, opts);
}
