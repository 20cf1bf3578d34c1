/**
 * What every container instance shares, whoever started it (an OCI runtime
 * directly, or an engine such as podman or Docker): it lives in one cgroup,
 * reports start-up from what start() recorded, counts OOM kills around each
 * exec, and stops by running, newest first, the releases start() registered.
 * A subclass says only how to exec into it (`execIn`) and what its footprint
 * holds.
 */
import { IsobenchError, errorMessage } from '../errors.js';
import type { CgroupHandle } from '../host/cgroup.js';
import type { VethAttachment } from '../net/bench.js';
import { abortError, throwIfAborted, type RunResult } from '../util/proc.js';
import type {
  ExecOptions,
  ExecResult,
  Footprint,
  Instance,
  InstanceSpec,
  StartupStages,
  StartupTiming,
} from './types.js';

/** A workload exec without its own timeout ends after this. */
const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;

export abstract class CgroupContainer implements Instance {
  readonly kind = 'container' as const;
  readonly scratchDir = '/scratch';
  readonly address: string | undefined;
  /** The veth's bench end (inside the bench namespace), where tc shapes this instance's traffic. */
  readonly benchIf: string | undefined;
  private stopping: Promise<void> | undefined;

  protected constructor(
    readonly variant: string,
    protected readonly spec: InstanceSpec,
    readonly cgroup: CgroupHandle,
    readonly veth: VethAttachment | undefined,
    readonly initPid: number,
    private readonly stages: StartupStages,
    private readonly timing: StartupTiming,
    /** Newest first. */
    private readonly releases: Array<() => Promise<void>>,
  ) {
    this.address = veth?.address;
    this.benchIf = veth?.benchIf;
  }

  get name(): string {
    return this.spec.name;
  }

  startupStages(): StartupStages {
    return { ...this.stages };
  }

  startupTiming(): StartupTiming {
    return { ...this.timing };
  }

  /**
   * Run argv in the container and, when the client was killed (timeout or
   * cancel), kill what it left running inside: a killed exec client does not
   * take its process with it.
   */
  protected abstract execIn(argv: string[], timeoutMs: number, signal: AbortSignal | undefined): Promise<RunResult>;

  abstract footprint(): Promise<Footprint>;

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.stopping !== undefined) throw new IsobenchError('RUN_FAILED', `${this.name} is stopped`);
    if (argv.length === 0) throw new Error('exec(): empty argv');
    throwIfAborted(opts.signal);
    const oomBefore = await this.cgroup.oomKills();
    const r = await this.execIn(argv, opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, opts.signal);
    if (r.canceled) throw abortError(opts.signal);
    const oomKilled = (await this.cgroup.oomKills()) > oomBefore && r.code !== 0;
    return {
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      wallMs: r.wallMs,
      timedOut: r.timedOut,
      ...(oomKilled ? { oomKilled } : {}),
    };
  }

  hostCpuSeconds(): Promise<number> {
    return this.cgroup.cpuUsageSeconds();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const errors: string[] = [];
      for (const rel of this.releases) {
        try {
          await rel();
        } catch (e) {
          errors.push(errorMessage(e));
        }
      }
      if (errors.length > 0) throw new IsobenchError('RUN_FAILED', `stopping ${this.name}: ${errors.join('; ')}`);
    })();
    return this.stopping;
  }
}
