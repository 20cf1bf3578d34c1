/**
 * One running VM (the backend's Instance): its host side (scratch image, tap,
 * cgroup, QEMU through the cgroup wrapper), the wait for the guest agent with
 * the start-up stages it times, exec through the agent, and teardown. The
 * design notes (placement, memory limit, stages) are in vm.ts.
 */
import { promises as fs, createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import type {
  BackendContext,
  ExecOptions,
  ExecResult,
  Footprint,
  Instance,
  InstanceSpec,
  StartupStages,
  StartupTiming,
} from './types.js';
import { CgroupHandle, CGROUP_PARENT } from '../host/cgroup.js';
import type { TapAttachment } from '../net/bench.js';
import { instanceFootprint } from './proc-memory.js';
import { cgroupWrappedArgv } from './exec-in-cgroup.js';
import { IsobenchError, errorMessage } from '../errors.js';
import { abortError, sleep, spawnLong, throwIfAborted } from '../util/proc.js';
import { QmpClient } from './qmp.js';
import { QgaClient } from './qga.js';
import {
  applyPlacement,
  holdsVhostNet,
  planPlacement,
  type AppliedPlacement,
  type PlacementPlan,
} from './vm-placement.js';
import { makeScratchImage } from '../images/guest.js';
import { instanceQemuArgv, variantOf, type VmInstanceConfig } from './vm-qemu-argv.js';
import {
  GUEST_READY_PROBE,
  INIT_START_RE,
  consoleQuote,
  parseGuestReadyProbe,
  parseInitMarks,
} from './vm-guest-output.js';

export interface GuestResources {
  nproc: number;
  memTotalBytes: number;
}

export class VmInstance implements Instance {
  readonly kind = 'vm' as const;
  readonly scratchDir = '/scratch';
  readonly variant: string;
  address: string | undefined;
  cgroup: CgroupHandle | undefined;
  /** The guest's view of its resources, read at ready. */
  resources: GuestResources | undefined;
  readonly consoleLog: string;

  private readonly t0 = performance.now();
  private stages: StartupStages = {};
  private proc: ResultPromise | undefined;
  private pid: number | undefined;
  private exited = false;
  private exitInfo = '';
  private qmp: QmpClient | undefined;
  private qga: QgaClient | undefined;
  private readonly releases: (() => Promise<void>)[] = [];
  private stopping: Promise<void> | undefined;
  /** The start's abort signal, while it boots. */
  private bootSignal: AbortSignal | undefined;
  private readonly dir: string;
  private socketDir: string;
  private tap: TapAttachment | undefined;
  private guestOomKills = 0;
  private readonly plan: PlacementPlan;
  private placed: AppliedPlacement | undefined;
  private placementError: string | undefined;
  private qemuArgv: string[] = [];
  private networkAttachMs: number | undefined;
  private consoleOut: WriteStream | undefined;

  constructor(
    private readonly ctx: BackendContext,
    private readonly spec: InstanceSpec,
    private readonly cfg: VmInstanceConfig,
  ) {
    if (!/^[a-z0-9-]{1,32}$/.test(spec.name))
      throw new IsobenchError('BAD_ARGS', `instance name ${JSON.stringify(spec.name)} must match [a-z0-9-]{1,32}`);
    this.variant = variantOf(cfg.machine, cfg.accel);
    this.dir = path.join(ctx.workDir, `vm-${spec.name}`);
    this.socketDir = this.dir;
    this.consoleLog = path.join(ctx.rawDir, `console-${spec.name}.log`);
    this.plan = planPlacement(spec.cpus, ctx.host.cpus);
  }

  get name(): string {
    return this.spec.name;
  }

  /** The tap in the bench namespace, where tc shapes this VM's traffic. */
  get benchIf(): string | undefined {
    return this.tap?.tap;
  }

  private since(): number {
    return performance.now() - this.t0;
  }

  private track(label: string, release: () => Promise<void> | void): void {
    this.releases.push(this.ctx.cleanup.add(label, release));
  }

  /** Everything up to ready; on failure everything created is released and INSTANCE_START thrown. */
  async boot(signal?: AbortSignal): Promise<void> {
    const deadline = this.t0 + this.cfg.bootTimeoutMs;
    this.bootSignal = signal;
    try {
      await this.launch();
      throwIfAborted(signal);
      await this.waitReady(deadline);
    } catch (e) {
      if (signal?.aborted) {
        // Cancelled (Ctrl-C, a workload timeout): release everything now, before the run's own cleanup ends.
        await this.stop().catch(() => undefined);
        throw abortError(signal);
      }
      const tail = await this.readConsoleTail();
      await this.stop().catch(() => undefined);
      const why = errorMessage(e);
      const lines = tail.length ? tail : ['(console log empty)'];
      throw new IsobenchError(
        'INSTANCE_START',
        `VM ${this.spec.name} did not become ready: ${why}\nlast console lines ` +
          `(${this.consoleLog}):\n${lines.map((l) => `  | ${l}`).join('\n')}`,
        {
          cause: e,
          details: [`console log: ${this.consoleLog}`],
        },
      );
    }
  }

  private async launch(): Promise<void> {
    const { ctx, spec, cfg } = this;
    await fs.mkdir(this.dir, { recursive: true });
    await fs.mkdir(ctx.rawDir, { recursive: true });
    this.track(`vm dir ${this.dir}`, () => fs.rm(this.dir, { recursive: true, force: true }));
    // unix socket paths are limited to 107 bytes
    if (path.join(this.dir, 'qmp.sock').length > 100) {
      // The run's short id in the name: `doctor --cleanup` tells a live run's sockets from a dead one's.
      this.socketDir = mkdtempSync(path.join(os.tmpdir(), `isobench-vm-${ctx.shortId}-`));
      const sd = this.socketDir;
      this.track(`vm sockets ${sd}`, () => fs.rm(sd, { recursive: true, force: true }));
    }
    // A workload may place the scratch on a device it owns (DiskSpec.placeUnder).
    const scratch = spec.disk.placeUnder
      ? path.join(spec.disk.placeUnder, `${spec.name}-scratch.img`)
      : path.join(this.dir, 'scratch.img');
    const cg = new CgroupHandle(ctx.host.cgroup, `${CGROUP_PARENT}/${spec.name}`);
    const overheadMiB = cfg.accel === 'tcg' ? 1536 : 512;
    // Scratch image, tap and cgroup are independent: make them concurrently (each registers its own release).
    const steps = await Promise.allSettled([
      makeScratchImage(scratch, spec.disk.sizeMiB),
      fs.rm(this.consoleLog, { force: true }),
      (async () => {
        if (!spec.network) return;
        if (!ctx.net)
          throw new IsobenchError(
            'INSTANCE_START',
            `instance ${spec.name} wants the network but the run has no bench network`,
          );
        const tn = performance.now();
        this.tap = await ctx.net.attachTap();
        this.networkAttachMs = performance.now() - tn;
        this.address = this.tap.address;
        this.releases.push(this.tap.release);
      })(),
      (async () => {
        this.track(`cgroup ${cg.relPath}`, () => cg.destroy());
        await cg.create();
        this.cgroup = cg;
        await cg.setLimits({
          // vCPU threads are narrowed to spec.cpus by their affinity; QEMU's other threads to the harness CPUs
          // (vm-placement.ts).
          cpus: this.plan.cgroupCpus,
          memoryBytes: (spec.memoryMiB + overheadMiB) * 1024 * 1024,
          ...(spec.cpuQuotaPercent !== undefined ? { cpuQuotaPercent: spec.cpuQuotaPercent } : {}),
          ...(spec.cpuWeight !== undefined ? { cpuWeight: spec.cpuWeight } : {}),
        });
      })(),
    ]);
    for (const st of steps) if (st.status === 'rejected') throw st.reason;

    const qemuArgv = instanceQemuArgv(cfg, {
      spec,
      hostThp: ctx.host.thp,
      rootImage: ctx.image.ext4Path,
      scratchPath: scratch,
      ...(this.tap ? { tap: this.tap } : {}),
      ...(ctx.net ? { gateway: ctx.net.gateway } : {}),
      socketDir: this.socketDir,
    });
    this.qemuArgv = qemuArgv;
    let argv = cgroupWrappedArgv(cg.procsFiles(), qemuArgv);
    if (this.tap && ctx.net) argv = ctx.net.wrap(argv);
    await fs.writeFile(path.join(ctx.rawDir, `qemu-argv-${spec.name}.json`), `${JSON.stringify(argv, null, 1)}\n`);

    const log = createWriteStream(this.consoleLog, { flags: 'a' });
    this.consoleOut = log;
    this.stages.launched = this.since();
    const proc = spawnLong(argv);
    // The guest /init's first line (INIT_START_RE) is the payload's ready signal: timestamp it on arrival.
    let seen = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      const at = this.since();
      log.write(chunk);
      if (this.stages.payloadReady !== undefined) return;
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (INIT_START_RE.test(seen)) this.stages.payloadReady = at;
    });
    this.proc = proc;
    this.pid = proc.pid;
    this.track(`qemu ${spec.name} (pid ${proc.pid ?? '?'})`, () => this.killQemu());
    proc.then(
      (r) => {
        this.exited = true;
        const how = r.exitCode !== undefined ? `code ${r.exitCode}` : `signal ${r.signal ?? '?'}`;
        const stderrTail = r.stderr ? `: ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}` : '';
        this.exitInfo = `QEMU exited (${how})${stderrTail}`;
      },
      () => {
        this.exited = true;
      },
    );
  }

  private async waitReady(deadline: number): Promise<void> {
    const signal = this.bootSignal;
    // An abort ends every wait of the boot as QEMU's exit would.
    const alive = (): boolean => !this.exited && !signal?.aborted;
    const left = (): number => Math.max(1, deadline - performance.now());
    const bail = (what: string): never => {
      throw new Error(
        this.exited
          ? `${this.exitInfo || 'QEMU exited'} while ${what}`
          : `timed out after ${this.cfg.bootTimeoutMs} ms while ${what}`,
      );
    };
    try {
      this.qmp = await QmpClient.connect(path.join(this.socketDir, 'qmp.sock'), { timeoutMs: left(), isAlive: alive });
    } catch (e) {
      bail(`connecting to QMP (${errorMessage(e)})`);
    }
    this.stages.qemuStarted = this.since();
    // Pin the vCPU threads apart from QEMU's other threads as soon as QMP answers, overlapping the guest's
    // boot (off the start-up path); again at ready for threads started since (vhost's worker, pool workers).
    const early = this.place().catch((e: unknown) => {
      this.placementError = errorMessage(e);
    });
    try {
      this.qga = await QgaClient.connect(path.join(this.socketDir, 'qga.sock'), { timeoutMs: left(), isAlive: alive });
    } catch (e) {
      bail(`connecting to the guest agent socket (${errorMessage(e)})`);
    }
    const qga = this.qga as QgaClient;
    // The agent is up once a sync round-trips; ready once it ran /bin/true.
    for (;;) {
      throwIfAborted(signal);
      if (this.exited) bail('waiting for the guest agent');
      // A panicked guest does not always end QEMU (microvm): fail at once rather than at the timeout.
      if (/Kernel panic - not syncing/.test(await fs.readFile(this.consoleLog, 'utf8').catch(() => '')))
        bail('the guest kernel panicked');
      if (performance.now() > deadline) bail('waiting for the guest agent');
      try {
        await qga.sync(Math.min(250, left()));
        const r = await qga.exec(['/bin/true'], { timeoutMs: Math.min(10_000, left()) });
        if (r.code === 0) break;
        throw new Error(`/bin/true in the guest: exit ${r.code} ${r.stderr.trim()}`);
      } catch (e) {
        // QEMU closing the agent socket means it is exiting: wait for the exit to report why.
        if (qga.closed) await this.waitExit(2_000);
        if (this.exited || performance.now() > deadline) bail(`waiting for the guest agent (${errorMessage(e)})`);
        if (!(e instanceof Error && /no answer/.test(e.message))) throw e;
      }
    }
    this.stages.agentReady = this.since();
    // The init printed its start line long before the agent answered; give a slow pipe a moment, then insist.
    for (let i = 0; i < 50 && this.stages.payloadReady === undefined; i++) await sleep(10);
    if (this.stages.payloadReady === undefined)
      throw new Error("the guest agent answered but the console never showed the init's start line");
    // Guest time at ready: one exec reads uptime and the resources the guest sees.
    const before = this.since();
    // /init writes /run/isobench-ready once the scratch disk and network are set up (they overlap the agent's start).
    const probe = await qga.exec(['sh', '-c', GUEST_READY_PROBE], {
      timeoutMs: Math.max(1_000, Math.min(15_000, left())),
    });
    const after = this.since();
    if (probe.code !== 0) throw new Error(`guest probe failed: exit ${probe.code}: ${probe.stderr.trim()}`);
    this.stages.guestReady = after;
    const { uptimeS, nproc, memKb, oomKills } = parseGuestReadyProbe(probe.stdout);
    this.guestOomKills = oomKills;
    this.resources = { nproc, memTotalBytes: memKb * 1024 };
    if (Number.isFinite(uptimeS)) {
      const kernelEntry = (before + after) / 2 - uptimeS * 1000;
      const atReady = uptimeS * 1000 - ((before + after) / 2 - this.stages.agentReady);
      this.stages.kernelEntry = kernelEntry;
      const marks = parseInitMarks(await fs.readFile(this.consoleLog, 'utf8').catch(() => ''));
      if (marks.start !== undefined) this.stages.initStarted = kernelEntry + marks.start * 1000;
      if (marks.agentStarting !== undefined) this.stages.agentStarting = kernelEntry + marks.agentStarting * 1000;
      this.stages.guestUptimeAtReady = atReady;
    }
    await early;
    await this.place();
    if (nproc !== this.spec.vcpus) throw new Error(`guest sees ${nproc} CPUs, expected ${this.spec.vcpus}`);
    const memMiB = (memKb * 1024) / 2 ** 20;
    if (!(memMiB <= this.spec.memoryMiB && memMiB >= this.spec.memoryMiB * 0.6))
      throw new Error(`guest MemTotal ${memMiB.toFixed(0)} MiB does not match -m ${this.spec.memoryMiB}M`);
  }

  startupStages(): StartupStages {
    return { ...this.stages };
  }

  startupTiming(): StartupTiming {
    const { launched, payloadReady } = this.stages;
    if (launched === undefined || payloadReady === undefined)
      throw new Error(`VM ${this.spec.name}: start-up end points missing (not booted?)`);
    return {
      launchedMs: launched,
      payloadReadyMs: payloadReady,
      ...(this.networkAttachMs !== undefined ? { networkAttachMs: this.networkAttachMs } : {}),
      signal:
        "the guest /init's first line (isobench-init: start) on the serial console, QEMU's stdout read live by the " +
        'harness; launch = QEMU spawned',
    };
  }

  /** Apply the thread placement (vm-placement.ts); vCPU thread ids come from QMP. */
  private async place(): Promise<void> {
    if (!this.qmp || this.pid === undefined) return;
    const vcpus = await this.qmp.vcpuThreads();
    const done = new Set([...(this.placed?.vcpuThreads ?? []), ...(this.placed?.otherThreads ?? [])].map((t) => t.tid));
    this.placed = await applyPlacement(
      this.pid,
      vcpus.map((v) => v.threadId),
      this.plan,
      done,
    );
    if (this.placementError) this.placed.failed.push(`first pass: ${this.placementError}`);
  }

  /** Where QEMU's threads run, as applied and read back at ready. */
  placement(): AppliedPlacement | undefined {
    return this.placed;
  }

  /**
   * What QEMU really runs, from QMP and /proc: vCPU and I/O thread ids, vhost-net in use, the argv. For the self-check.
   */
  async qemuFacts(): Promise<{
    vcpuThreads: Array<{ cpuIndex: number; threadId: number }>;
    iothreads: Array<{ id: string; threadId: number }>;
    vhostNetOpen: boolean;
    argv: string[];
    placement: AppliedPlacement | undefined;
  }> {
    if (!this.qmp || this.pid === undefined) throw new Error(`VM ${this.spec.name} has no QMP connection`);
    return {
      vcpuThreads: await this.qmp.vcpuThreads(),
      iothreads: await this.qmp.iothreads(),
      vhostNetOpen: await holdsVhostNet(this.pid),
      argv: [...this.qemuArgv],
      placement: this.placed,
    };
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const qga = this.qga;
    if (!qga || this.stopping || this.exited)
      return {
        code: -1,
        stdout: '',
        stderr: `VM ${this.spec.name} is not running${this.exitInfo ? ` (${this.exitInfo})` : ''}`,
        wallMs: 0,
        timedOut: false,
      };
    throwIfAborted(opts.signal);
    const r = await qga.exec(argv, {
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (r.canceled) throw abortError(opts.signal);
    const result: ExecResult = {
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      wallMs: r.wallMs,
      timedOut: r.timedOut,
    };
    if (r.code === 137 && !r.timedOut) {
      // SIGKILL: was it the guest's OOM killer? (its counter in /proc/vmstat moved)
      const v = await qga
        .exec(['sh', '-c', 'grep oom_kill /proc/vmstat || echo oom_kill 0'], { timeoutMs: 5_000 })
        .catch(() => undefined);
      const n = Number(/oom_kill (\d+)/.exec(v?.stdout ?? '')?.[1] ?? this.guestOomKills);
      if (n > this.guestOomKills) result.oomKilled = true;
      this.guestOomKills = n;
    }
    return result;
  }

  /** Guest's view of vCPUs and memory, read at ready (nproc, MemTotal). */
  guestResources(): GuestResources | undefined {
    return this.resources;
  }

  async footprint(): Promise<Footprint> {
    return instanceFootprint(this.pid !== undefined && !this.exited ? [this.pid] : [], this.cgroup);
  }

  async hostCpuSeconds(): Promise<number> {
    return (await this.cgroup?.cpuUsageSeconds()) ?? 0;
  }

  /** QMP query-status, for diagnostics. */
  async qmpStatus(): Promise<string | undefined> {
    return this.qmp ? (await this.qmp.status()).status : undefined;
  }

  /** The pid of the QEMU process (for tests and diagnostics). */
  get qemuPid(): number | undefined {
    return this.pid;
  }

  private async readConsoleTail(): Promise<string[]> {
    return consoleQuote(await fs.readFile(this.consoleLog, 'utf8').catch(() => ''), 15);
  }

  private async waitExit(ms: number): Promise<boolean> {
    const end = performance.now() + ms;
    while (!this.exited && performance.now() < end) await sleep(10);
    return this.exited;
  }

  private async killQemu(): Promise<void> {
    if (!this.proc || this.exited) return;
    if (this.qmp) {
      await this.qmp.quit(2_000).catch(() => undefined);
      if (await this.waitExit(3_000)) return;
    }
    this.proc.kill('SIGTERM');
    if (await this.waitExit(3_000)) return;
    this.proc.kill('SIGKILL');
    await this.waitExit(5_000);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.qga?.close();
      await this.killQemu();
      this.qmp?.close();
      const out = this.consoleOut;
      if (out) await new Promise<void>((resolve) => out.end(() => resolve()));
      const errors: string[] = [];
      while (this.releases.length > 0) {
        const release = this.releases.pop() as () => Promise<void>;
        try {
          await release();
        } catch (e) {
          errors.push(errorMessage(e));
        }
      }
      if (errors.length) throw new IsobenchError('RUN_FAILED', `stopping VM ${this.spec.name}: ${errors.join('; ')}`);
    })();
    return this.stopping;
  }
}
