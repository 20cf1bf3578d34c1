/**
 * One running container (the container backend's Instance): exec through the
 * OCI runtime with a timeout that kills the exec'd process tree, footprint and
 * CPU from its cgroup, and an idempotent stop that releases, newest first,
 * what start() created. ContainerBackend.start() builds it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { instanceFootprint } from './proc-memory.js';
import { IsobenchError, errorMessage } from '../errors.js';
import type { CgroupHandle } from '../host/cgroup.js';
import type { VethAttachment } from '../net/bench.js';
import { abortError, run, throwIfAborted, type RunResult } from '../util/proc.js';
import type { ExecOptions, ExecResult, Footprint, Instance, InstanceSpec, StartupStages, StartupTiming } from './types.js';

/** What an instance needs of its backend: the runtime's name and the argv every runtime subcommand starts with. */
export interface RuntimeCommand {
  readonly runtime: string;
  runtimeArgv(): string[];
}

/** A workload exec without its own timeout ends after this. */
const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;

/** Pid plus all its descendants (from /proc/<pid>/task/<tid>/children). */
async function processTree(pid: number): Promise<number[]> {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = await fs.readdir(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const kids = (await fs.readFile(`/proc/${p}/task/${t}/children`, 'utf8')).trim();
        for (const k of kids.split(/\s+/).filter(Boolean)) queue.push(Number(k));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

export class ContainerInstance implements Instance {
  readonly kind = 'container' as const;
  readonly variant: string;
  readonly scratchDir = '/scratch';
  readonly address: string | undefined;
  /** The veth's bench end (inside the bench namespace), where tc shapes this instance's traffic. */
  readonly benchIf: string | undefined;
  private stopping: Promise<void> | undefined;
  private execSeq = 0;

  constructor(
    private readonly backend: RuntimeCommand,
    private readonly spec: InstanceSpec,
    readonly cgroup: CgroupHandle,
    readonly veth: VethAttachment | undefined,
    readonly initPid: number,
    readonly bundle: string,
    private readonly stages: StartupStages,
    private readonly timing: StartupTiming,
    /** Newest first. */
    private readonly releases: Array<() => Promise<void>>,
  ) {
    this.variant = backend.runtime;
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

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.stopping) throw new IsobenchError('RUN_FAILED', `${this.name} is stopped`);
    if (argv.length === 0) throw new Error('exec(): empty argv');
    throwIfAborted(opts.signal);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const oomBefore = await this.cgroup.oomKills();
    // The runtime writes the exec'd process's pid here (runc: host pid; runsc: pid inside the
    // sandbox), so a timeout can kill what the killed `exec` client leaves running.
    const runsc = this.backend.runtime === 'runsc';
    const pidFile = path.join(this.bundle, `exec${this.execSeq++}.pid`);
    const args = [...this.backend.runtimeArgv(), 'exec', runsc ? '--internal-pid-file' : '--pid-file', pidFile, this.name, ...argv];
    let r: RunResult;
    try {
      r = await run(args, { timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      // Killing the runtime's exec client leaves the process in the container running: kill it by its pid.
      if (r.timedOut || r.canceled) await this.killExec(pidFile);
    } finally {
      await fs.rm(pidFile, { force: true });
    }
    if (r.canceled) throw abortError(opts.signal);
    const oomAfter = await this.cgroup.oomKills();
    const oomKilled = oomAfter > oomBefore && r.code !== 0;
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, wallMs: r.wallMs, timedOut: r.timedOut, ...(oomKilled ? { oomKilled } : {}) };
  }

  private async killExec(pidFile: string): Promise<void> {
    const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid < 1) return;
    if (this.backend.runtime === 'runsc') {
      if (pid > 1) await run([...this.backend.runtimeArgv(), 'kill', '--pid', String(pid), this.name, 'KILL'], { timeoutMs: 10_000 });
      return;
    }
    if (pid === this.initPid) return;
    for (const p of (await processTree(pid)).reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  async footprint(): Promise<Footprint> {
    return instanceFootprint(await this.cgroup.pids(), this.cgroup);
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
