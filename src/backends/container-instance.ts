/**
 * One running container (the container backend's Instance): exec through the
 * OCI runtime with a timeout that kills the exec'd process tree, footprint and
 * CPU from its cgroup, and an idempotent stop that releases, newest first,
 * what start() created. ContainerBackend.start() builds it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { instanceFootprint } from './proc-memory.js';
import type { CgroupHandle } from '../host/cgroup.js';
import type { VethAttachment } from '../net/bench.js';
import { run, type RunResult } from '../util/proc.js';
import { CgroupContainer } from './cgroup-container.js';
import type { Footprint, InstanceSpec, StartupStages, StartupTiming } from './types.js';

/** What an instance needs of its backend: the runtime's name and the argv every runtime subcommand starts with. */
export interface RuntimeCommand {
  readonly runtime: string;
  runtimeArgv(): string[];
}

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

export class ContainerInstance extends CgroupContainer {
  private execSeq = 0;

  constructor(
    private readonly backend: RuntimeCommand,
    spec: InstanceSpec,
    cgroup: CgroupHandle,
    veth: VethAttachment | undefined,
    initPid: number,
    readonly bundle: string,
    stages: StartupStages,
    timing: StartupTiming,
    /** Newest first. */
    releases: Array<() => Promise<void>>,
  ) {
    super(backend.runtime, spec, cgroup, veth, initPid, stages, timing, releases);
  }

  protected async execIn(argv: string[], timeoutMs: number, signal: AbortSignal | undefined): Promise<RunResult> {
    // The runtime writes the exec'd process's pid here (runc: host pid; runsc: pid inside the
    // sandbox), so a timeout can kill what the killed `exec` client leaves running.
    const runsc = this.backend.runtime === 'runsc';
    const pidFile = path.join(this.bundle, `exec${this.execSeq++}.pid`);
    const args = [
      ...this.backend.runtimeArgv(),
      'exec',
      runsc ? '--internal-pid-file' : '--pid-file',
      pidFile,
      this.name,
      ...argv,
    ];
    try {
      const r = await run(args, { timeoutMs, ...(signal ? { signal } : {}) });
      if (r.timedOut || r.canceled) await this.killExec(pidFile);
      return r;
    } finally {
      await fs.rm(pidFile, { force: true });
    }
  }

  private async killExec(pidFile: string): Promise<void> {
    const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid < 1) return;
    if (this.backend.runtime === 'runsc') {
      if (pid > 1)
        await run([...this.backend.runtimeArgv(), 'kill', '--pid', String(pid), this.name, 'KILL'], {
          timeoutMs: 10_000,
        });
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
}
