/**
 * npm run bench:sanity — checks that the suite measures what it claims, with
 * checks that can fail:
 *
 *  1. harness overhead: native sysbench cpu through the harness (Instance.exec:
 *     cgroup wrapper, execa) vs the same sysbench invoked directly (taskset on
 *     the same CPU) is `no practical difference` at the CPU threshold (3%): its
 *     whole 95% CI lies inside ±3%;
 *  2. container (runc) vs native on pure compute: `no practical difference` too;
 *  3. resolution: a container capped at 90% of a CPU (cfs quota) is reported
 *     about 10% slower (7-13%) with the verdict `overhead`.
 * The verdicts are the run's own (src/stats: ratio of means, equivalence at
 * the CPU category's threshold).
 *
 * All four variants run interleaved (ABCD, BCDA, ...) on the same pinned CPU so
 * host drift hits them alike. Exit 0 when all checks pass, 1 otherwise.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostFacts } from '../src/host/facts.js';
import { ensureWorkloadImage } from '../src/images/rootfs.js';
import { CleanupRegistry } from '../src/core/cleanup.js';
import { startInstance } from '../src/runner/lifecycle.js';
import { NativeBackend } from '../src/backends/native.js';
import { ContainerBackend } from '../src/backends/container.js';
import type { BackendContext, Instance, InstanceSpec } from '../src/backends/types.js';
import { parseSysbenchCpu } from '../src/workloads/parsers/sysbench.js';
import { declaredThresholdPct, overhead, summarize } from '../src/stats/index.js';
import '../src/workloads/index.js';
import { run } from '../src/util/proc.js';

// 10 rounds: with 7 the harness row's CI (about ±1.8% at CV 1.5%) can reach past the 3% threshold and stay inconclusive.
const REPS = Number(process.env.SANITY_REPS ?? 10);
const SECONDS = Number(process.env.SANITY_SECONDS ?? 3);
/** The CPU workload's declared practical threshold, as in a run. */
const THRESHOLD = declaredThresholdPct('cpu');

async function main(): Promise<number> {
  const host = await hostFacts();
  const cpu = host.cpus - 1;
  const shortId = `s${randomBytes(3).toString('hex')}`;
  const cleanup = new CleanupRegistry();
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), `isobench-${shortId}-`));
  cleanup.add(`dir ${workDir}`, () => fs.rm(workDir, { recursive: true, force: true }));
  const onSignal = (): void => void cleanup.releaseAll().then(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const image = await ensureWorkloadImage();
    const ctx: BackendContext = {
      runId: `sanity-${shortId}`,
      shortId,
      workDir,
      rawDir: workDir,
      host,
      cleanup,
      image,
      net: undefined,
    };
    const spec = (name: string, extra: Partial<InstanceSpec> = {}): InstanceSpec => ({
      name: `${shortId}-${name}`,
      vcpus: 1,
      cpus: [cpu],
      memoryMiB: 256,
      pidsLimit: 256,
      disk: { sizeMiB: 16, mode: 'dir' },
      network: false,
      ...extra,
    });
    const native = new NativeBackend(ctx);
    const runc = new ContainerBackend(ctx, { runtime: 'runc' });
    await runc.prepare();
    const instances: Record<string, Instance> = {
      native: (await startInstance(native, spec('native'), 60_000)).instance,
      container: (await startInstance(runc, spec('runc'), 60_000)).instance,
      'container-90pct': (await startInstance(runc, spec('capped', { cpuQuotaPercent: 90 }), 60_000)).instance,
    };
    const argv = ['sysbench', 'cpu', '--threads=1', `--time=${SECONDS}`, '--cpu-max-prime=10000', 'run'];
    const variants = ['direct', ...Object.keys(instances)];
    const values: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]));
    // One discarded warm-up round, then REPS interleaved rounds with a rotating start.
    for (let rep = 0; rep <= REPS; rep++) {
      const order = variants.map((_, i) => variants[(i + rep) % variants.length]!);
      for (const v of order) {
        const r =
          v === 'direct'
            ? await run(['taskset', '-c', String(cpu), ...argv], { timeoutMs: 60_000 })
            : await instances[v]!.exec(argv, { timeoutMs: 60_000 });
        if (r.code !== 0) throw new Error(`${v}: sysbench exited ${r.code}: ${r.stderr}`);
        if (rep > 0) values[v]!.push(parseSysbenchCpu(r.stdout).eventsPerSecond);
      }
      process.stderr.write(rep === 0 ? 'warm-up done\n' : `round ${rep}/${REPS}\n`);
    }
    const rows: string[] = [];
    // Every variant ran once per round, in round order: value i is round i + 1, so the estimate pairs by round.
    const rounds = (v: string) => ({ values: values[v]!, repetitions: values[v]!.map((_, i) => i + 1) });
    const line = (name: string, vs: string, check: string, ok: boolean): void => {
      const s = summarize(values[name]!)!;
      const o = overhead(rounds(vs), rounds(name), true, THRESHOLD)!;
      rows.push(
        `${name.padEnd(16)} ${s.mean.toFixed(1).padStart(9)} ev/s  CV ${(s.cv * 100).toFixed(1).padStart(4)}%  vs ${vs.padEnd(7)} ${o.overheadPct >= 0 ? '+' : ''}${o.overheadPct.toFixed(1)}% [${o.overheadPctCi95[0].toFixed(1)}, ${o.overheadPctCi95[1].toFixed(1)}] ${o.verdict.padEnd(23)} ${ok ? 'PASS' : 'FAIL'}  ${check}`,
      );
    };
    const oh = (a: string, b: string) => overhead(rounds(b), rounds(a), true, THRESHOLD)!;
    const harness = oh('native', 'direct');
    const ctr = oh('container', 'native');
    const cap = oh('container-90pct', 'native');
    // A check passed by noise proves nothing: every variant must be steady first.
    const noisy = variants.filter((v) => summarize(values[v]!)!.cv > 0.08);
    const checks = {
      steady: noisy.length === 0,
      harness: harness.verdict === 'no-practical-difference',
      container: ctr.verdict === 'no-practical-difference',
      cap: cap.overheadPct >= 7 && cap.overheadPct <= 13 && cap.verdict === 'overhead',
    };
    rows.push(
      `${'direct'.padEnd(16)} ${summarize(values.direct!)!.mean.toFixed(1).padStart(9)} ev/s  CV ${(summarize(values.direct!)!.cv * 100).toFixed(1).padStart(4)}%  (sysbench invoked directly, taskset -c ${cpu})`,
    );
    line('native', 'direct', `harness: whole CI inside ±${THRESHOLD}%`, checks.harness);
    line('container', 'native', `runc: whole CI inside ±${THRESHOLD}% of native`, checks.container);
    line('container-90pct', 'native', 'cfs quota 90%: ~10% slower, verdict overhead', checks.cap);
    if (noisy.length) rows.push(`FAIL  too noisy to judge (CV > 8%): ${noisy.join(', ')}; run on a quiet host`);
    process.stdout.write(
      `isobench sanity: sysbench cpu, 1 thread, ${SECONDS} s x ${REPS} interleaved rounds on CPU ${cpu}; means, verdicts at the CPU threshold ±${THRESHOLD}%\n${rows.join('\n')}\n`,
    );
    const ok = Object.values(checks).every(Boolean);
    process.stdout.write(ok ? 'all sanity checks passed\n' : 'SANITY CHECK FAILED\n');
    return ok ? 0 : 1;
  } finally {
    await cleanup.releaseAll();
  }
}

process.exitCode = await main();
