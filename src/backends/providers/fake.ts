/**
 * A scripted backend for tests of the orchestration (hyperfine's mock executor): its instances start in a
 * scripted time, answer the cpu workload's tools (sysbench cpu, stress-ng) with scripted rates, report a
 * scripted footprint and start-up, and can be told to fail, hang, die or interrupt the run at a given stage.
 * Nothing is started on the host. The runner, the plan, resume, adaptive stopping, skipping and the abort
 * path run for real around it, so they are tested in seconds instead of through QEMU or runc.
 *
 * Always registered, never offered: it has no shorthand (only the object form `kind: fake`), no doctor check
 * and no tools, and scenario errors do not list it. A run that uses it says so loudly: its accelerator is
 * `fake` and every figure carries a BACKEND warning that the values are scripted, not measured.
 *
 *   backends:
 *     - {kind: fake, name: base, as: native, rate: [1000, 1010]}
 *     - {kind: fake, name: c, rate: 950, faults: [{at: exec, nth: 2, do: hang}]}
 *
 * Stages: `prepare` (Backend.prepare), `start` (Backend.start, every instance of the backend counted in
 * order, extra instances included), `exec` (a workload's exec; the readiness `/bin/true` is not counted),
 * `stop` (Instance.stop). Actions: `fail` (an error: prepare makes the backend unavailable, exec exits 1),
 * `hang` (never returns; only the caller's abort signal, a stop or the exec timeout ends it), `kill` (the
 * instance dies: this exec and every later one exit 137; at start, the instance dies while booting),
 * `signal` (send `signal` to this process, as a Ctrl-C at that moment would, then go on).
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { IsobenchError } from '../../errors.js';
import { abortError, sleep, throwIfAborted } from '../../util/proc.js';
import { registerProvider, type ResolvedBackend } from '../registry.js';
import type {
  Backend,
  BackendContext,
  BackendInfo,
  BackendKind,
  ExecOptions,
  ExecResult,
  Footprint,
  Instance,
  InstanceSpec,
  StartOptions,
  StartupStages,
  StartupTiming,
} from '../types.js';

const STAGES = ['prepare', 'start', 'exec', 'stop'] as const;
export type FakeStage = (typeof STAGES)[number];

const faultSchema = z
  .object({
    at: z.enum(STAGES),
    /** The nth time this backend reaches the stage (1 = the first). */
    nth: z.number().int().min(1).default(1),
    do: z.enum(['fail', 'hang', 'kill', 'signal']),
    signal: z.enum(['SIGINT', 'SIGTERM', 'SIGHUP']).default('SIGTERM'),
  })
  .strict();
export type FakeFault = z.output<typeof faultSchema>;

const ms = z.number().int().min(0).max(600_000);
const objectSchema = z
  .object({
    kind: z.literal('fake'),
    /** The backend's key and column label: `fake:<name>`. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,15}$/),
    /** The result category it stands for (a `native` one is the baseline). Not `vm`: a VM backend's run boots
     *  a self-check guest through the real VM code. */
    as: z.enum(['native', 'container']).default('container'),
    prepareMs: ms.default(0),
    startMs: ms.default(1),
    execMs: ms.default(1),
    stopMs: ms.default(0),
    /** Rate every tool call reports (events or bogo ops per second); a list is used in turn, call by call. */
    rate: z.union([z.number().positive(), z.array(z.number().positive()).min(1)]).default(1000),
    /** What stress-ng reports instead, when it differs from `rate` (a list in turn, counted on its own). */
    stressNgRate: z.union([z.number().positive(), z.array(z.number().positive()).min(1)]).optional(),
    footprintMiB: z.number().positive().default(16),
    faults: z.array(faultSchema).default([]),
  })
  .strict();
export type FakeOptions = z.output<typeof objectSchema>;

/** Every fake instance started in this process, for tests to check that a run stopped what it started. */
export interface FakeInstanceRecord {
  runId: string;
  backend: string;
  name: string;
  stopped: boolean;
}
const ledger: FakeInstanceRecord[] = [];

/** A fake backend reaching a stage (before its scripted fault acts): `stage` events, for tests in this process. */
export interface FakeStageEvent {
  runId: string;
  backend: string;
  stage: FakeStage;
  /** The nth arrival of this backend at the stage. */
  nth: number;
  fault: FakeFault['do'] | undefined;
}
export const fakeStages = new EventEmitter<{ stage: [FakeStageEvent] }>();

/** Fake instances of a run (or of every run) that were started and never stopped. */
export function liveFakeInstances(runId?: string): FakeInstanceRecord[] {
  return ledger.filter((r) => !r.stopped && (runId === undefined || r.runId === runId));
}

/** Every fake instance a run started, in order. */
export function fakeInstancesOf(runId: string): FakeInstanceRecord[] {
  return ledger.filter((r) => r.runId === runId);
}

const MIB = 1024 * 1024;

/** Sysbench cpu's report with a scripted rate (what parsers/sysbench.ts reads). */
function sysbenchCpuText(threads: number, rate: number, seconds: number): string {
  const events = Math.round(rate * seconds);
  return [
    'sysbench 1.0.20 (the fake provider)',
    '',
    `Number of threads: ${threads}`,
    '',
    'CPU speed:',
    `    events per second: ${rate.toFixed(2)}`,
    '',
    'General statistics:',
    `    total time:                          ${seconds.toFixed(4)}s`,
    `    total number of events:              ${events}`,
    '',
    'Threads fairness:',
    `    events (avg/stddev):           ${(events / threads).toFixed(4)}/0.00`,
    `    execution time (avg/stddev):   ${seconds.toFixed(4)}/0.00`,
    '',
  ].join('\n');
}

/** stress-ng's --metrics-brief lines for one stressor with a scripted rate (what parsers/stress-ng.ts reads). */
function stressNgText(stressor: string, rate: number, seconds: number): string {
  const ops = Math.round(rate * seconds);
  const p = 'stress-ng: metrc: [1]';
  return [
    `${p} stressor       bogo ops real time  usr time  sys time   bogo ops/s     bogo ops/s`,
    `${p}                           (secs)    (secs)    (secs)   (real time) (usr+sys time)`,
    `${p} ${stressor.padEnd(12)} ${String(ops).padStart(9)} ${seconds.toFixed(2).padStart(9)} ` +
      `${seconds.toFixed(2).padStart(9)}` +
      `      0.00 ${rate.toFixed(2).padStart(12)} ${rate.toFixed(2).padStart(14)}`,
    `stress-ng: info:  [1] successful run completed in ${seconds.toFixed(2)}s`,
    '',
  ].join('\n');
}

function flagValue(argv: readonly string[], prefix: string): string | undefined {
  return argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** Which of `events` settles first; rejects with an AbortError when the signal fires first. */
function first<K extends string>(signal: AbortSignal | undefined, events: Record<K, Promise<unknown>>): Promise<K> {
  return new Promise<K>((resolve, reject) => {
    const fail = (): void => reject(abortError(signal));
    if (signal?.aborted) return fail();
    signal?.addEventListener('abort', fail, { once: true });
    for (const [k, p] of Object.entries(events) as Array<[K, Promise<unknown>]>)
      void p.then(() => {
        signal?.removeEventListener('abort', fail);
        resolve(k);
      });
  });
}

const NEVER = new Promise<never>(() => undefined);

class FakeBackend implements Backend {
  readonly label: string;
  private readonly counts = new Map<FakeStage, number>();
  private readonly calls = new Map<string, number>();

  constructor(
    readonly entry: ResolvedBackend,
    readonly o: FakeOptions,
    readonly ctx: BackendContext,
  ) {
    this.label = entry.key;
  }

  get kind(): BackendKind {
    return this.o.as;
  }

  /** The fault scripted for this backend's next arrival at `stage`, if any. */
  fault(stage: FakeStage): FakeFault | undefined {
    const n = (this.counts.get(stage) ?? 0) + 1;
    this.counts.set(stage, n);
    const f = this.o.faults.find((x) => x.at === stage && x.nth === n);
    fakeStages.emit('stage', { runId: this.ctx.runId, backend: this.label, stage, nth: n, fault: f?.do });
    if (f?.do === 'signal') process.kill(process.pid, f.signal);
    return f?.do === 'signal' ? undefined : f;
  }

  nextRate(tool: 'sysbench' | 'stress-ng' = 'sysbench'): number {
    const own = tool === 'stress-ng' ? this.o.stressNgRate : undefined;
    const r = own ?? this.o.rate;
    if (!Array.isArray(r)) return r;
    const key = own ? tool : 'any';
    const n = this.calls.get(key) ?? 0;
    this.calls.set(key, n + 1);
    return r[n % r.length] as number;
  }

  async prepare(): Promise<void> {
    await sleep(this.o.prepareMs);
    const f = this.fault('prepare');
    if (f?.do === 'hang') await NEVER;
    if (f) throw new IsobenchError('BACKEND_UNAVAILABLE', `${this.label}: scripted ${f.do} at prepare`);
  }

  info(): BackendInfo {
    return {
      kind: this.o.as,
      variant: 'fake',
      accelerator: 'fake',
      acceleratorReason: 'the fake provider: scripted instances, nothing runs on the host',
      versions: {},
      warnings: [`${this.label} is the fake test backend: its figures are scripted, not measured`],
      details: { script: { ...this.o, kind: undefined } },
    };
  }

  async start(spec: InstanceSpec, opts: StartOptions = {}): Promise<Instance> {
    throwIfAborted(opts.signal);
    const t0 = performance.now();
    const f = this.fault('start');
    const launchedMs = performance.now() - t0;
    await first(opts.signal, { booted: f?.do === 'hang' ? NEVER : sleep(this.o.startMs) });
    if (f?.do === 'fail')
      throw new IsobenchError('INSTANCE_START', `${this.label}: scripted failure starting ${spec.name}`);
    if (f?.do === 'kill') throw new IsobenchError('INSTANCE_START', `${this.label}: ${spec.name} died while starting`);
    const record: FakeInstanceRecord = { runId: this.ctx.runId, backend: this.label, name: spec.name, stopped: false };
    ledger.push(record);
    return new FakeInstance(this, spec, record, { launchedMs, payloadReadyMs: performance.now() - t0, signal: 'fake' });
  }
}

class FakeInstance implements Instance {
  readonly name: string;
  readonly kind: BackendKind;
  readonly variant = 'fake';
  readonly scratchDir = '/scratch';
  readonly address = undefined;
  readonly cgroup = undefined;
  private dead = false;
  private stopping: Promise<void> | undefined;
  private stoppedResolve!: () => void;
  private readonly stopped = new Promise<void>((r) => {
    this.stoppedResolve = r;
  });

  constructor(
    private readonly b: FakeBackend,
    private readonly spec: InstanceSpec,
    private readonly record: FakeInstanceRecord,
    private readonly timing: StartupTiming,
  ) {
    this.name = spec.name;
    this.kind = b.kind;
  }

  startupStages(): StartupStages {
    return { fakeBoot: this.timing.payloadReadyMs };
  }

  startupTiming(): StartupTiming {
    return { ...this.timing };
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.record.stopped) throw new IsobenchError('RUN_FAILED', `${this.name} is stopped`);
    throwIfAborted(opts.signal);
    const t0 = performance.now();
    const done = (r: Partial<ExecResult>): ExecResult => ({
      code: 0,
      stdout: '',
      stderr: '',
      timedOut: false,
      ...r,
      wallMs: performance.now() - t0,
    });
    if (argv[0] === '/bin/true') return done({ code: this.dead ? 137 : 0 });
    const f = this.b.fault('exec');
    if (f?.do === 'kill') this.dead = true;
    if (this.dead) return done({ code: 137, stderr: 'Killed (the fake instance died)' });
    const timeout = new Promise<void>((r) => setTimeout(r, opts.timeoutMs ?? 180_000).unref());
    const work = f?.do === 'hang' ? NEVER : sleep(this.b.o.execMs);
    const ended = await first(opts.signal, { work, stopped: this.stopped, timeout });
    if (ended === 'stopped') return done({ code: 137, stderr: 'Killed (the fake instance was stopped)' });
    if (ended === 'timeout') return done({ code: 124, timedOut: true, stderr: 'timed out' });
    if (f?.do === 'fail') return done({ code: 1, stderr: `scripted failure of ${argv.join(' ')}` });
    return done(this.reply(argv));
  }

  private reply(argv: readonly string[]): Partial<ExecResult> {
    const seconds = Number(flagValue(argv, '--time=') ?? argv[argv.indexOf('-t') + 1] ?? 1) || 1;
    if (argv[0] === 'sysbench' && argv[1] === 'cpu') {
      const threads = Number(flagValue(argv, '--threads=') ?? 1);
      return { stdout: sysbenchCpuText(threads, this.b.nextRate(), seconds) };
    }
    if (argv[0] === 'stress-ng') {
      const stressor = argv.find((a) => a.startsWith('--') && !a.startsWith('--temp') && !a.startsWith('--metrics'));
      if (stressor)
        return { stderr: stressNgText(stressor.slice(2).split('-')[0] ?? '', this.b.nextRate('stress-ng'), seconds) };
    }
    return { code: 127, stderr: `fake: no scripted reply for ${argv.slice(0, 3).join(' ')}` };
  }

  async footprint(): Promise<Footprint> {
    const bytes = this.b.o.footprintMiB * MIB;
    return { hostRssBytes: bytes, hostPssBytes: bytes, cgroupMemoryBytes: bytes, processes: 1 };
  }

  async hostCpuSeconds(): Promise<number> {
    return 0;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.record.stopped = true;
      this.stoppedResolve();
      const f = this.b.fault('stop');
      if (f?.do === 'hang') await NEVER;
      await sleep(this.b.o.stopMs);
      if (f) throw new IsobenchError('RUN_FAILED', `${this.name}: scripted ${f.do} at stop`);
    })();
    return this.stopping;
  }

  toString(): string {
    return `${this.name} (${this.spec.vcpus} vCPU, fake)`;
  }
}

registerProvider({
  id: 'fake',
  kind: 'container',
  shorthands: [],
  shorthandHelp: '',
  objectSchema,
  resolve(entry) {
    const o = objectSchema.parse(entry);
    return { provider: 'fake', kind: o.as, key: `fake:${o.name}`, variant: 'fake', options: o };
  },
  needsImage: false,
  hostOverheadMiB: 0,
  async create(entry, ctx) {
    return new FakeBackend(entry, entry.options as FakeOptions, ctx);
  },
});
