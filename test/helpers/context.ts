/**
 * A real BackendContext for integration tests (any backend): host facts, the
 * workload image (built once, then cached), a fresh cleanup registry, a private
 * work directory and, when asked, a bench network namespace.
 *
 *   const t = await makeTestContext({ network: true });
 *   try { ... t.ctx ... } finally { await t.dispose(); }
 *
 * dispose() releases everything registered (newest first), removes the work
 * directory and returns the cleanup failures (also thrown when `strict`).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BackendContext } from '../../src/backends/types.js';
import { hostFacts } from '../../src/host/facts.js';
import { ensureWorkloadImage } from '../../src/images/rootfs.js';
// The image carries the binaries the workloads declare: load their declarations.
import '../../src/workloads/index.js';
import { BenchNet } from '../../src/net/bench.js';
import { CleanupRegistry, type CleanupFailure } from '../../src/core/cleanup.js';

export interface TestContext {
  ctx: BackendContext;
  /** Release everything; throws when something could not be released (strict, default). */
  dispose(opts?: { strict?: boolean }): Promise<CleanupFailure[]>;
}

export async function makeTestContext(
  opts: { network?: boolean; log?: (s: string) => void } = {},
): Promise<TestContext> {
  const shortId = `t${randomBytes(3).toString('hex')}`;
  const cleanup = new CleanupRegistry();
  // Not under /tmp: other tools here sweep /tmp/isob* while tests run.
  const base = process.env.ISOBENCH_TEST_WORKDIR ?? '/var/tmp/isobench-tests';
  await fs.mkdir(base, { recursive: true });
  const workDir = await fs.mkdtemp(path.join(base, `${shortId}-`));
  cleanup.add(`workdir ${workDir}`, () => fs.rm(workDir, { recursive: true, force: true }));
  const rawDir = path.join(workDir, 'raw');
  await fs.mkdir(rawDir, { recursive: true });
  try {
    const [host, image] = await Promise.all([hostFacts(), ensureWorkloadImage({ log: opts.log })]);
    const net = opts.network ? await BenchNet.create(shortId, cleanup) : undefined;
    const ctx: BackendContext = { runId: `test-${shortId}`, shortId, workDir, rawDir, host, cleanup, image, net };
    let disposed: Promise<CleanupFailure[]> | undefined;
    return {
      ctx,
      async dispose({ strict = true } = {}) {
        disposed ??= cleanup.releaseAll();
        const failures = await disposed;
        if (strict && failures.length > 0)
          throw new Error(`cleanup failures: ${failures.map((f) => `${f.label}: ${f.error}`).join('; ')}`);
        return failures;
      },
    };
  } catch (e) {
    await cleanup.releaseAll();
    throw e;
  }
}
