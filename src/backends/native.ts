/**
 * The baseline: workload binaries run directly on the host, pinned to the same
 * CPU set the other backends get and placed in a cgroup for accounting (and for
 * the same quota/weight when a scenario asks for one). When the scenario uses
 * the network, the processes enter a private network namespace joined to the
 * bench bridge by a veth, exactly as a container's are: it is the same kernel
 * network stack, so the baseline path is native. The scratch disk honours
 * `disk.mode` as a container's does: a host directory, or (image) an ext4 file
 * on a direct-I/O loop device.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CgroupHandle, CGROUP_PARENT } from '../host/cgroup.js';
import { abortError, run, throwIfAborted } from '../util/proc.js';
import { argvInCgroup } from './exec-in-cgroup.js';
import { instanceFootprint } from './proc-memory.js';
import { createScratchImage } from './scratch-image.js';
import type {
  Backend,
  BackendContext,
  BackendInfo,
  ExecOptions,
  ExecResult,
  Footprint,
  Instance,
  InstanceSpec,
  StartupStages,
  StartupTiming,
} from './types.js';
import { PAYLOAD_READY_MARKER, timePayloadToMarker } from './payload-signal.js';
import { IsobenchError, errorMessage } from '../errors.js';

export class NativeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly label = 'native';
  constructor(private readonly ctx: BackendContext) {}

  async prepare(): Promise<void> {}

  info(): BackendInfo {
    return {
      kind: 'native',
      variant: 'host',
      accelerator: 'native',
      acceleratorReason: 'baseline: workload binaries run on the host kernel',
      versions: {},
      warnings: [],
      details: {
        cgroupVersion: this.ctx.host.cgroup.version,
        network: 'private netns + veth to the bench bridge (same kernel stack)',
        disk:
          'disk.mode dir: a host directory; image: a raw ext4 file on a loop device with direct I/O ' +
          '(losetup --direct-io=on), mounted on the host',
      },
    };
  }

  async start(spec: InstanceSpec): Promise<Instance> {
    const t0 = performance.now();
    const dir = path.join(this.ctx.workDir, spec.name);
    await fs.mkdir(dir, { recursive: true });
    const releaseDir = this.ctx.cleanup.add(`dir ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    // The same scratch disk a container gets for this mode (see scratch-image.ts);
    // a workload may place it on a device it owns (DiskSpec.placeUnder).
    const placed = spec.disk.placeUnder ? path.join(spec.disk.placeUnder, `${spec.name}-scratch`) : undefined;
    const releasePlaced = placed
      ? this.ctx.cleanup.add(`dir ${placed}`, () => fs.rm(placed, { recursive: true, force: true }))
      : undefined;
    if (placed) await fs.mkdir(placed, { recursive: true });
    let scratchDir = placed ?? path.join(dir, 'scratch');
    let releaseImage: (() => Promise<void>) | undefined;
    if (spec.disk.mode === 'image') {
      const img = await createScratchImage(placed ?? dir, spec.disk.sizeMiB, this.ctx.cleanup).catch(
        async (e: unknown) => {
          await releasePlaced?.();
          await releaseDir();
          throw e;
        },
      );
      scratchDir = img.mountPoint;
      releaseImage = img.release;
    } else if (!placed) await fs.mkdir(scratchDir);
    const cgroup = new CgroupHandle(this.ctx.host.cgroup, `${CGROUP_PARENT}/${spec.name}`);
    await cgroup.create();
    const releaseCg = this.ctx.cleanup.add(`cgroup ${cgroup.relPath}`, () => cgroup.destroy());
    await cgroup.setLimits({
      cpus: spec.cpus,
      memoryBytes: spec.memoryMiB * 1024 * 1024,
      pidsMax: spec.pidsLimit,
      ...(spec.cpuQuotaPercent !== undefined ? { cpuQuotaPercent: spec.cpuQuotaPercent } : {}),
      ...(spec.cpuWeight !== undefined ? { cpuWeight: spec.cpuWeight } : {}),
    });
    const stages: StartupStages = { cgroupReady: performance.now() - t0 };
    let netns: string | undefined;
    let address: string | undefined;
    let releaseNet: (() => Promise<void>) | undefined;
    let benchIf: string | undefined;
    if (spec.network && this.ctx.net) {
      const v = await this.ctx.net.attachVeth(spec.name);
      netns = v.netns;
      address = v.address;
      releaseNet = v.release;
      benchIf = v.benchIf;
      stages.networkReady = performance.now() - t0;
    }
    const releaseAll = async (): Promise<void> => {
      if (releaseNet) await releaseNet();
      await releaseCg();
      if (releaseImage) await releaseImage();
      await releasePlaced?.();
      await releaseDir();
    };
    // Native's start-up by the one definition: exec to the payload's first instruction. The payload is a
    // process placed as every exec is (cgroup, netns) that prints the ready marker first.
    let signalled: { launchedAt: number; readyAt: number };
    try {
      signalled = await timePayloadToMarker(
        argvInCgroup(cgroup, ['/bin/sh', '-c', `echo ${PAYLOAD_READY_MARKER}`], netns),
        30_000,
      );
    } catch (e) {
      await releaseAll().catch(() => undefined);
      throw new IsobenchError('INSTANCE_START', `native ${spec.name}: ${errorMessage(e)}`, { cause: e });
    }
    stages.launched = signalled.launchedAt - t0;
    stages.payloadReady = signalled.readyAt - t0;
    const timing: StartupTiming = {
      launchedMs: stages.launched,
      payloadReadyMs: stages.payloadReady,
      ...(stages.networkReady !== undefined ? { networkAttachMs: stages.networkReady - stages.cgroupReady! } : {}),
      signal:
        `a process exec'd into the instance's cgroup${netns ? ' and netns' : ''} prints ` +
        `${PAYLOAD_READY_MARKER} first, read from its stdout pipe; launch = its spawn`,
    };
    return new NativeInstance(spec, scratchDir, cgroup, netns, address, benchIf, stages, timing, releaseAll);
  }
}

class NativeInstance implements Instance {
  readonly kind = 'native' as const;
  readonly variant = 'host';
  readonly name: string;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  constructor(
    spec: InstanceSpec,
    readonly scratchDir: string,
    readonly cgroup: CgroupHandle,
    private readonly netns: string | undefined,
    readonly address: string | undefined,
    readonly benchIf: string | undefined,
    private readonly stages: StartupStages,
    private readonly timing: StartupTiming,
    private readonly release: () => Promise<void>,
  ) {
    this.name = spec.name;
  }

  startupStages(): StartupStages {
    return { ...this.stages };
  }

  startupTiming(): StartupTiming {
    return { ...this.timing };
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.stopped) throw new Error(`instance ${this.name} is stopped`);
    const oomBefore = await this.cgroup.oomKills();
    throwIfAborted(opts.signal);
    const r = await run(argvInCgroup(this.cgroup, argv, this.netns), {
      timeoutMs: opts.timeoutMs ?? 120_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (r.timedOut || r.canceled) {
      // The tool may have forked helpers (fio jobs): kill everything left in the cgroup.
      for (const pid of await this.cgroup.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (r.canceled) throw abortError(opts.signal);
    const oomKilled = r.code !== 0 && (await this.cgroup.oomKills()) > oomBefore;
    return { ...r, oomKilled };
  }

  async footprint(): Promise<Footprint> {
    return instanceFootprint(await this.cgroup.pids(), this.cgroup);
  }

  hostCpuSeconds(): Promise<number> {
    return this.cgroup.cpuUsageSeconds();
  }

  /** Idempotent; a second caller waits for the first stop to finish (a signal handler and the runner both stop). */
  stop(): Promise<void> {
    this.stopped = true;
    this.stopping ??= this.release();
    return this.stopping;
  }
}
