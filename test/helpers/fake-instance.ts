/**
 * A deterministic fake Instance and WorkloadContext for workload unit tests: exec
 * answers by replaying recorded tool outputs (test/fixtures/<tool>/...) chosen by
 * argv rules, every call is recorded, and host CPU seconds, footprint and
 * start-up stages are fixed values. Nothing is started on the host.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  ExecOptions,
  ExecResult,
  Footprint,
  Instance,
  InstanceSpec,
  StartupStages,
  StartupTiming,
} from '../../src/backends/types.js';
import type { BenchNet } from '../../src/net/bench.js';
import { throwIfAborted } from '../../src/util/proc.js';
import { startupMeasure } from '../../src/runner/lifecycle.js';
import type { StartedInstance, WorkloadContext } from '../../src/workloads/types.js';
import type { HostCapabilities } from '../../src/host/capabilities.js';
import { fakeCapabilities } from './capabilities.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export function fixtureText(rel: string): string {
  return readFileSync(path.join(FIXTURES, rel), 'utf8');
}

export interface FakeReply {
  code?: number;
  stdout?: string;
  stderr?: string;
  wallMs?: number;
  timedOut?: boolean;
}

export interface FakeRule {
  /** Human-readable label, for failure messages. */
  label: string;
  match: (argv: readonly string[]) => boolean;
  /** A fixed reply, or one computed from argv and how many times this rule answered before (0-based). */
  reply: FakeReply | ((argv: readonly string[], nth: number) => FakeReply);
}

/** argv[0..n] equal to prefix, and every `has` element present somewhere. */
export function argvMatch(
  prefix: readonly string[],
  has: readonly string[] = [],
  hasNot: readonly string[] = [],
): (argv: readonly string[]) => boolean {
  return (argv) =>
    prefix.every((p, i) => argv[i] === p) &&
    has.every((h) => argv.includes(h)) &&
    hasNot.every((h) => !argv.includes(h));
}

export function rule(label: string, match: FakeRule['match'], reply: FakeRule['reply']): FakeRule {
  return { label, match, reply };
}

/** Reply with a fixture on stdout (or stderr: stress-ng writes --metrics-brief there). */
export function fromFixture(rel: string, stream: 'stdout' | 'stderr' = 'stdout', code = 0): FakeReply {
  return { code, [stream]: fixtureText(rel) };
}

function answer(rules: FakeRule[], counts: Map<FakeRule, number>, argv: readonly string[]): ExecResult {
  const r = rules.find((x) => x.match(argv));
  if (!r)
    return { code: 127, stdout: '', stderr: `fake: no rule for ${JSON.stringify(argv)}`, wallMs: 0, timedOut: false };
  const nth = counts.get(r) ?? 0;
  counts.set(r, nth + 1);
  const rep = typeof r.reply === 'function' ? r.reply(argv, nth) : r.reply;
  return {
    code: rep.code ?? 0,
    stdout: rep.stdout ?? '',
    stderr: rep.stderr ?? '',
    wallMs: rep.wallMs ?? 1,
    timedOut: rep.timedOut ?? false,
  };
}

export interface FakeInstanceOptions {
  name?: string;
  scratchDir?: string;
  address?: string;
  rules?: FakeRule[];
  /** Successive values of hostCpuSeconds(); the last one repeats. */
  cpuSeconds?: number[];
  footprint?: Footprint;
  stages?: StartupStages;
  /** The start-up definition's end points (default: launched 1 ms, payload ready 5 ms after start()). */
  timing?: StartupTiming;
}

export class FakeInstance implements Instance {
  readonly name: string;
  readonly kind = 'native' as const;
  readonly variant = 'fake';
  readonly scratchDir: string;
  readonly address: string | undefined;
  readonly cgroup = undefined;
  readonly calls: string[][] = [];
  stopCalls = 0;
  private readonly rules: FakeRule[];
  private readonly counts = new Map<FakeRule, number>();
  private cpuIndex = 0;

  constructor(private readonly opts: FakeInstanceOptions = {}) {
    this.name = opts.name ?? 'fake-1';
    this.scratchDir = opts.scratchDir ?? '/scratch';
    this.address = opts.address;
    this.rules = opts.rules ?? [];
  }

  startupTiming(): StartupTiming {
    return { ...(this.opts.timing ?? { launchedMs: 1, payloadReadyMs: 5, signal: 'fake' }) };
  }

  startupStages(): StartupStages {
    return { ...(this.opts.stages ?? {}) };
  }

  async exec(argv: string[], _opts?: ExecOptions): Promise<ExecResult> {
    if (this.stopCalls > 0) throw new Error(`fake instance ${this.name} is stopped`);
    this.calls.push([...argv]);
    return answer(this.rules, this.counts, argv);
  }

  async footprint(): Promise<Footprint> {
    return this.opts.footprint ?? { hostRssBytes: 0, processes: 0 };
  }

  async hostCpuSeconds(): Promise<number> {
    const seq = this.opts.cpuSeconds ?? [0];
    const v = seq[Math.min(this.cpuIndex, seq.length - 1)] ?? 0;
    this.cpuIndex++;
    return v;
  }

  async stop(): Promise<void> {
    this.stopCalls++;
  }
}

export const FAKE_SPEC: InstanceSpec = {
  name: 'fake-1',
  vcpus: 2,
  cpus: [0, 1],
  memoryMiB: 512,
  pidsLimit: 1024,
  disk: { sizeMiB: 1024, mode: 'dir' },
  network: true,
};

export interface ExecRecord {
  side: 'instance' | 'peer';
  instance: string;
  argv: string[];
  tag: string;
  timeoutMs: number | undefined;
  allowFailure: boolean;
}

export interface FakeContext<P> {
  ctx: WorkloadContext<P>;
  /** Every exec and execPeer, in order. */
  log: ExecRecord[];
  /** Saved raw logs by relative path. */
  raw: Map<string, string>;
  progress: string[];
}

/**
 * A WorkloadContext over a fake instance. exec mirrors the real contract: the raw
 * output is saved under raw/<tag>.log and a non-zero exit throws unless allowFailure.
 */
export function makeFakeContext<P>(opts: {
  params: P;
  instance: Instance;
  spec?: Partial<InstanceSpec>;
  peerRules?: FakeRule[];
  net?: boolean;
  startInstance?: () => Promise<StartedInstance>;
  timeoutMs?: number;
  /** Cancels the workload (as the runner's timeout or Ctrl-C): exec and startInstance then refuse. */
  signal?: AbortSignal;
  /** The host's capabilities (default: every one present). */
  capabilities?: HostCapabilities;
}): FakeContext<P> {
  const signal = opts.signal ?? new AbortController().signal;
  const log: ExecRecord[] = [];
  const raw = new Map<string, string>();
  const progress: string[] = [];
  const peerCounts = new Map<FakeRule, number>();
  let seq = 0;
  const save = (tag: string, text: string): string => {
    const rel = `raw/${String(++seq).padStart(3, '0')}-${tag}.log`;
    raw.set(rel, text);
    return rel;
  };
  const finish = (
    side: 'instance' | 'peer',
    argv: string[],
    r: ExecResult,
    o: { tag: string; allowFailure?: boolean },
  ) => {
    const rawLog = save(o.tag, `$ ${argv.join(' ')}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    if ((r.code !== 0 || r.timedOut) && !o.allowFailure)
      throw new Error(`${side} exec ${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
    return { ...r, rawLog };
  };
  const ctx: WorkloadContext<P> = {
    params: opts.params,
    instance: opts.instance,
    spec: { ...FAKE_SPEC, ...(opts.spec ?? {}) },
    capabilities: opts.capabilities ?? fakeCapabilities(),
    net: opts.net === false ? undefined : ({ ns: 'isobench-fake-bench' } as unknown as BenchNet),
    repetition: 1,
    signal,
    async exec(instance, argv, o) {
      throwIfAborted(signal);
      log.push({
        side: 'instance',
        instance: instance.name,
        argv: [...argv],
        tag: o.tag,
        timeoutMs: o.timeoutMs,
        allowFailure: Boolean(o.allowFailure),
      });
      return finish(
        'instance',
        argv,
        await instance.exec(argv, o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
        o,
      );
    },
    async execPeer(argv, o) {
      throwIfAborted(signal);
      log.push({
        side: 'peer',
        instance: 'peer',
        argv: [...argv],
        tag: o.tag,
        timeoutMs: o.timeoutMs,
        allowFailure: Boolean(o.allowFailure),
      });
      return finish('peer', argv, answer(opts.peerRules ?? [], peerCounts, argv), o);
    },
    async startInstance() {
      if (!opts.startInstance) throw new Error('fake context: startInstance not configured');
      throwIfAborted(signal);
      return opts.startInstance();
    },
    async saveRaw(tag, text) {
      return save(tag, text);
    },
    progress(text) {
      progress.push(text);
    },
    timeoutMs: opts.timeoutMs ?? 60_000,
  };
  return { ctx, log, raw, progress };
}

/** A StartedInstance for a fake, its start-up figure computed as the lifecycle does (startupMeasure). */
export function fakeStarted(instance: FakeInstance, readyMs: number): StartedInstance {
  return { instance, readyMs, startup: startupMeasure(instance.startupTiming(), readyMs) };
}
