/**
 * A real WorkloadContext for integration tests of workloads on a real backend
 * (the runner builds its own inside runOneRepetition and does not export it):
 * exec saves raw logs under ctx.rawDir and throws on failure unless allowFailure,
 * execPeer runs in the bench namespace, startInstance goes through the lifecycle
 * template and every extra instance is stopped by stopExtras() (as the runner does
 * after each repetition), recordExtra keeps what the workload recorded.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Backend, BackendContext, ExecResult, Instance, InstanceSpec } from '../../src/backends/types.js';
import { startInstance } from '../../src/runner/lifecycle.js';
import { dropHostCaches } from '../../src/host/caches.js';
import { abortError, throwIfAborted } from '../../src/util/proc.js';
import type { StartedInstance, WorkloadContext } from '../../src/workloads/types.js';

export interface LiveWorkloadContext<P> {
  ctx: WorkloadContext<P>;
  /** What the workload passed to recordExtra, by name (the last record of each name). */
  extras: Map<string, unknown>;
  /** Every record in order (a name recorded more than once, such as skippedParts, keeps each). */
  records: Array<{ name: string; data: unknown }>;
  /** Extra instances started through ctx.startInstance (stopped ones included). */
  started: Instance[];
  progress: string[];
  /** Stop every extra instance (idempotent). */
  stopExtras(): Promise<void>;
}

export function makeWorkloadContext<P>(o: {
  backend: Backend;
  bctx: BackendContext;
  params: P;
  instance: Instance;
  spec: InstanceSpec;
  repetition?: number;
  timeoutMs?: number;
  bootTimeoutMs?: number;
  /** Cancels the workload as the runner's timeout or Ctrl-C does. */
  signal?: AbortSignal;
}): LiveWorkloadContext<P> {
  const signal = o.signal ?? new AbortController().signal;
  const extras = new Map<string, unknown>();
  const records: Array<{ name: string; data: unknown }> = [];
  const started: Instance[] = [];
  const progress: string[] = [];
  let seq = 0;
  let nameCounter = 0;
  const saveRaw = async (tag: string, text: string): Promise<string> => {
    const rel = path.join('raw', `${String(++seq).padStart(3, '0')}-${tag.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`);
    await fs.mkdir(path.join(o.bctx.rawDir, 'raw'), { recursive: true });
    await fs.writeFile(path.join(o.bctx.rawDir, rel), text);
    return rel;
  };
  const logged = async (
    where: string,
    argv: string[],
    r: ExecResult,
    tag: string,
    allowFailure?: boolean,
  ): Promise<ExecResult & { rawLog: string }> => {
    const rawLog = await saveRaw(
      tag,
      `# ${where}: ${argv.join(' ')}\n# exit ${r.code}${r.timedOut ? ' (timed out)' : ''}${r.oomKilled ? ' (OOM-killed)' : ''}\n# --- stdout\n${r.stdout}\n# --- stderr\n${r.stderr}\n`,
    );
    if (!allowFailure && (r.timedOut || r.code !== 0))
      throw Object.assign(
        new Error(
          `${argv[0]} ${r.timedOut ? 'timed out' : `exited ${r.code}`}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')} (raw log ${rawLog})`,
        ),
        { rawLog },
      );
    return { ...r, rawLog };
  };
  const timeoutMs = o.timeoutMs ?? 60_000;
  const ctx: WorkloadContext<P> = {
    params: o.params,
    instance: o.instance,
    spec: o.spec,
    net: o.bctx.net,
    capabilities: o.bctx.host.capabilities,
    repetition: o.repetition ?? 1,
    timeoutMs,
    signal,
    async exec(inst, argv, e) {
      throwIfAborted(signal);
      return logged(
        inst.name,
        argv,
        await inst.exec(argv, { timeoutMs: e.timeoutMs ?? timeoutMs, signal }),
        e.tag,
        e.allowFailure,
      );
    },
    async execPeer(argv, e) {
      if (!o.bctx.net) throw new Error('no bench network');
      throwIfAborted(signal);
      const r = await o.bctx.net.exec(argv, { timeoutMs: e.timeoutMs ?? timeoutMs, signal });
      if (r.canceled) throw abortError(signal);
      return logged('peer', argv, r, e.tag, e.allowFailure);
    },
    async startInstance(overrides): Promise<StartedInstance> {
      throwIfAborted(signal);
      const spec: InstanceSpec = { ...o.spec, name: `${o.spec.name}-x${nameCounter++}`, ...(overrides ?? {}) };
      const s = await startInstance(o.backend, spec, o.bootTimeoutMs ?? 90_000, signal);
      started.push(s.instance);
      return s;
    },
    saveRaw,
    progress(t) {
      progress.push(t);
    },
    recordExtra(name, data) {
      extras.set(name, data);
      records.push({ name, data });
    },
    dropHostCaches,
  };
  return {
    ctx,
    extras,
    records,
    started,
    progress,
    async stopExtras() {
      for (const i of started) await i.stop().catch(() => undefined);
    },
  };
}
