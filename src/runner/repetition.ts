/**
 * One repetition of one workload on one backend: the instance it needs, the
 * context the workload sees (execs logged to raw/, peers, extra instances),
 * and its timeout. A timeout or the run's abort cancels the workload and
 * stops its instances, so nothing it left runs on.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ExecResult, Instance, InstanceSpec } from '../backends/types.js';
import type { BenchNet } from '../net/bench.js';
import type { Scenario } from '../scenario/schema.js';
import type { MetricValue, StartedInstance, Workload, WorkloadContext } from '../workloads/types.js';
import { dropHostCaches } from '../host/caches.js';
import type { HostCapabilities } from '../host/capabilities.js';
import { abortError, isAbortError, sleep, throwIfAborted } from '../util/proc.js';
import { startInstance } from './lifecycle.js';
import type { Progress } from './progress.js';
import type { LiveBackend } from './session.js';

function safeFile(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

export interface RepetitionEnv {
  ensureInstance: (lb: LiveBackend) => Promise<Instance>;
  baseSpec: (lb: LiveBackend, o?: Partial<InstanceSpec>) => InstanceSpec;
  net: BenchNet | undefined;
  runDir: string;
  scenario: Scenario;
  progress: Progress;
  runSignal: AbortSignal | undefined;
  /**
   * Told the wall-clock span (epoch ms) of every exec and peer exec, by the raw log it
   * wrote: a value's raw log names the tool invocation it came from, so its span is
   * the value's start and end (and the time spent inside the measuring tool).
   */
  onSpan?: (rawLog: string, startMs: number, endMs: number) => void;
  /** The host's capabilities (masked ones absent), decided once per run. */
  capabilities: HostCapabilities;
}

/** What one call runs: the workload's run() by default, or one probe (with the workload's setup before it). */
export type RepetitionBody = (ctx: WorkloadContext<unknown>) => Promise<MetricValue[]>;

export async function runOneRepetition(
  lb: LiveBackend,
  workload: Workload,
  params: unknown,
  rep: number,
  env: RepetitionEnv,
  onExtra?: (name: string, data: unknown) => void,
  body: RepetitionBody = (ctx) => workload.run(ctx),
): Promise<MetricValue[]> {
  const { ensureInstance, baseSpec, net, runDir, scenario, progress, runSignal, onSpan } = env;
  let instance: Instance;
  try {
    instance = await ensureInstance(lb);
  } catch (e) {
    if (isAbortError(e)) throw e;
    throw Object.assign(e instanceof Error ? e : new Error(String(e)), { stage: 'start' });
  }
  // One signal per repetition: fired by the workload timeout or by the run's own abort (Ctrl-C).
  const rep$ = new AbortController();
  const onRunAbort = (): void => rep$.abort(runSignal?.reason);
  if (runSignal?.aborted) onRunAbort();
  runSignal?.addEventListener('abort', onRunAbort, { once: true });
  const signal = rep$.signal;
  const execTimeoutMs = scenario.timeouts.execSeconds * 1000;
  // Warm-ups count down to the first measured repetition: warmup2, warmup1, r1, r2 ...
  const repTag = rep <= 0 ? `warmup${1 - rep}` : `r${rep}`;
  const rawRel = (tag: string): string =>
    path.join('raw', safeFile(lb.label), workload.name, `${safeFile(tag)}-${repTag}.log`);
  const saveRaw = async (tag: string, text: string): Promise<string> => {
    const rel = rawRel(tag);
    await fs.mkdir(path.dirname(path.join(runDir, rel)), { recursive: true });
    await fs.writeFile(path.join(runDir, rel), text);
    return rel;
  };
  const logged = async (where: string, argv: string[], r: ExecResult, tag: string): Promise<string> =>
    saveRaw(
      tag,
      `# ${where}: ${argv.join(' ')}\n` +
        `# exit ${r.code}${r.timedOut ? ' (timed out)' : ''}${r.oomKilled ? ' (OOM-killed)' : ''} ` +
        `wall ${r.wallMs.toFixed(1)} ms\n` +
        `# --- stdout\n${r.stdout}\n# --- stderr\n${r.stderr}\n`,
    );
  const check = (r: ExecResult, rawLog: string, argv: string[], allowFailure?: boolean): void => {
    if (allowFailure) return;
    if (r.timedOut || r.code !== 0) {
      const why = r.timedOut ? 'timed out' : r.oomKilled ? `was OOM-killed (exit ${r.code})` : `exited ${r.code}`;
      const tail = (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ');
      throw Object.assign(new Error(`${argv[0]} ${why}: ${tail} (raw log: ${rawLog})`), {
        rawLog,
        stage: r.timedOut ? 'timeout' : 'exec',
      });
    }
  };
  const ctx: WorkloadContext<unknown> = {
    params,
    instance,
    spec: lb.spec ?? baseSpec(lb),
    net,
    capabilities: env.capabilities,
    repetition: rep <= 0 ? 0 : rep,
    timeoutMs: execTimeoutMs,
    signal,
    exec: async (inst, argv, o) => {
      throwIfAborted(signal);
      const t0 = Date.now();
      const r = await inst.exec(argv, { timeoutMs: o.timeoutMs ?? execTimeoutMs, signal });
      const t1 = Date.now();
      const rawLog = await logged(`${lb.label} ${inst.name}`, argv, r, o.tag);
      onSpan?.(rawLog, t0, t1);
      check(r, rawLog, argv, o.allowFailure);
      return { ...r, rawLog };
    },
    execPeer: async (argv, o) => {
      if (!net) throw new Error('this workload needs the bench network, which the run did not create');
      throwIfAborted(signal);
      const t = o.timeoutMs ?? execTimeoutMs;
      const t0 = Date.now();
      const r0 = await net.exec(argv, { timeoutMs: t, signal });
      const t1 = Date.now();
      if (r0.canceled) throw abortError(signal);
      const r: ExecResult = { ...r0 };
      const rawLog = await logged('bench-netns peer', argv, r, o.tag);
      onSpan?.(rawLog, t0, t1);
      check(r, rawLog, argv, o.allowFailure);
      return { ...r, rawLog };
    },
    startInstance: async (overrides): Promise<StartedInstance> => {
      throwIfAborted(signal);
      const spec = baseSpec(lb, overrides ?? {});
      try {
        const s = await startInstance(lb.backend, spec, scenario.timeouts.bootSeconds * 1000, signal);
        lb.extras.push(s.instance);
        return s;
      } catch (e) {
        if (isAbortError(e)) throw e;
        throw Object.assign(e instanceof Error ? e : new Error(String(e)), { stage: 'start' });
      }
    },
    saveRaw,
    dropHostCaches,
    progress: (t) => progress.note(`${lb.label} ${workload.name}: ${t}`),
    ...(onExtra ? { recordExtra: onExtra } : {}),
  };
  const timeoutMs = scenario.timeouts.workloadSeconds * 1000;
  const timeoutError = Object.assign(
    new Error(
      `${workload.name} did not finish within ${scenario.timeouts.workloadSeconds} s ` +
        '(timeouts.workloadSeconds); killed',
    ),
    { stage: 'timeout' },
  );
  const timer = setTimeout(() => {
    // Cancel the workload (its execs are killed, its sleeps end, it starts nothing more),
    // and stop its instances so nothing it left in them runs on; the runner starts a fresh one.
    rep$.abort(timeoutError);
    for (const i of [instance, ...lb.extras]) void i.stop().catch(() => undefined);
  }, timeoutMs);
  const work = body(ctx);
  work.catch(() => undefined);
  const cancelled = new Promise<never>((_, reject) => {
    const fail = (): void => reject(signal.reason === timeoutError ? timeoutError : abortError(signal));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  cancelled.catch(() => undefined);
  try {
    return await Promise.race([work, cancelled]);
  } finally {
    clearTimeout(timer);
    runSignal?.removeEventListener('abort', onRunAbort);
    // A cancelled workload unwinds (its execs were killed): wait for that, briefly, so it
    // cannot start anything after the runner has stopped this repetition's instances.
    if (signal.aborted) await Promise.race([work.catch(() => undefined), sleep(5000)]);
  }
}
