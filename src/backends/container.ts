/**
 * Container backend: one OCI bundle per instance, run by a real OCI runtime
 * (runc by default; crun; gVisor's runsc as the sandboxed middle between a
 * container and a VM). Workloads run with `<runtime> exec` (container-instance.ts).
 *
 * Per instance (all under ctx.workDir/containers/<name>, all registered with
 * ctx.cleanup the moment they exist, released newest first):
 *   config.json  written by isobench (src/backends/oci.ts), rootfs = the shared
 *                content-hashed image, mounted read-only; private tmpfs /tmp
 *   scratch/     disk.mode 'dir': a host directory bind-mounted rw at /scratch
 *   scratch.img  disk.mode 'image': a raw ext4 file on a direct-I/O loop device
 *                (scratch-image.ts), mounted on the host at scratch-mnt/ and
 *                bind-mounted at /scratch (the same "a file on the host disk
 *                holds a filesystem" path a VM's disk takes)
 *   init.log     stderr of the idle init (and the runtime's own)
 *   payload.fifo during start(): the init's stdout, read by the harness; the
 *                init's first line is its ready signal (payload-signal.ts),
 *                the end point of the one start-up definition
 * The cgroup is /isobench/<spec.name> (absolute cgroupsPath, so it does not land
 * under whatever cgroup the harness itself is in); runtime state lives under
 * /run/isobench/<shortId>/<runtime> (short: runsc puts unix sockets there).
 *
 * runsc specifics (checked on this host, runsc 20221219, kernel 6.18):
 *  - `--platform=ptrace` (systrap/kvm are not available here).
 *  - cgroups: runsc applies the OCI resources itself and puts its sandbox and
 *    gofer processes into the cgroup, so limits and accounting work as for runc,
 *    and the cgroup's processes *are* the sandbox's host footprint.
 *  - network: `--network=sandbox` (gVisor's own netstack, the real isolation
 *    cost) in the instance's veth namespace. On host kernels >= 6.11 runsc
 *    refuses with "cannot run with network enabled in root network namespace"
 *    (gvisor#10704); starting it in a private mount namespace with an empty tmpfs
 *    over /proc/sys/net gets past the check. The wrapper is
 *    `unshare --mount --propagation private -- /bin/sh -c CONST sh runsc ...`
 *    where CONST is a fixed script and the runsc argv goes in as "$@" (nothing
 *    from input is spliced into shell text).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stateRoot } from '../core/state.js';
import { IsobenchError, errorMessage } from '../errors.js';
import { CgroupHandle, CGROUP_PARENT } from '../host/cgroup.js';
import { netnsPath, type VethAttachment } from '../net/bench.js';
import { run, toolVersion } from '../util/proc.js';
import { SIGNALLING_IDLE_INIT, ociConfig, type OciBind } from './oci.js';
import { PAYLOAD_READY_MARKER, PayloadSignal } from './payload-signal.js';
import { createScratchImage } from './scratch-image.js';
import { ContainerInstance } from './container-instance.js';
import type {
  Backend,
  BackendContext,
  BackendInfo,
  Instance,
  InstanceSpec,
  StartupStages,
  StartupTiming,
} from './types.js';

export type ContainerRuntime = 'runc' | 'crun' | 'runsc';

export interface ContainerBackendOptions {
  runtime: ContainerRuntime;
  /** runsc only: gVisor platform (default ptrace, the one that works without KVM/systrap support). */
  runscPlatform?: string;
  /** A CPU limit on every container of this backend (percent of one CPU), unless an instance asks for its own. */
  cpuQuotaPercent?: number;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const RUNSC_NETNS_SCRIPT = 'mount -t tmpfs -o size=64k,mode=0555 isobench-netsys /proc/sys/net && exec "$@"';

/** Where a runtime keeps its state for one run (short path: unix sockets live there). */
export function runtimeRoot(shortId: string, runtime: ContainerRuntime): string {
  return path.join(stateRoot(), shortId, runtime);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Hard RLIMIT_NOFILE of this process: a container may not be given more. */
async function nofileHardLimit(): Promise<number> {
  try {
    const text = await fs.readFile('/proc/self/limits', 'utf8');
    const m = /Max open files\s+\S+\s+(\S+)/.exec(text);
    if (m?.[1] === 'unlimited') return 1 << 20;
    if (m?.[1]) return Number(m[1]);
  } catch {
    /* fall through */
  }
  return 1024;
}

export class ContainerBackend implements Backend {
  readonly kind = 'container' as const;
  readonly label: string;
  readonly runtime: ContainerRuntime;
  private readonly platform: string;
  private readonly cpuQuotaPercent: number | undefined;
  private versions: Record<string, string> = {};
  private prepared = false;
  private swapAccounting = false;
  private nofile = 1024;

  constructor(
    private readonly ctx: BackendContext,
    opts: ContainerBackendOptions,
  ) {
    this.runtime = opts.runtime;
    this.platform = opts.runscPlatform ?? 'ptrace';
    this.label = `container:${opts.runtime}`;
    this.cpuQuotaPercent = opts.cpuQuotaPercent;
  }

  get root(): string {
    return runtimeRoot(this.ctx.shortId, this.runtime);
  }

  /** Global flags that go before every runtime subcommand. */
  runtimeArgv(): string[] {
    if (this.runtime === 'runsc')
      return ['runsc', `--root=${this.root}`, `--platform=${this.platform}`, '--network=sandbox'];
    return [this.runtime, '--root', this.root];
  }

  async prepare(): Promise<void> {
    const rt = this.runtime;
    const layout = this.ctx.host.cgroup;
    if (rt === 'crun' && layout.version === 1) {
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        `crun cannot run on this host's cgroup v1/hybrid layout ` +
          `(${layout.hybrid ? 'v1 controllers plus an empty v2 at /sys/fs/cgroup/unified' : 'cgroup v1'}; ` +
          `crun needs a unified cgroup v2 hierarchy here); use runtime: runc`,
      );
    }
    if (!this.ctx.host.isRoot)
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        `the ${rt} container backend needs root (cgroups, namespaces, mounts)`,
      );
    const version = await toolVersion([rt, '--version'], /version\s+(\S+)/);
    if (version === null)
      throw new IsobenchError('BACKEND_UNAVAILABLE', `${rt} is not installed or does not run (apt-get install ${rt})`);
    this.versions = { [rt]: version };
    if (rt === 'runsc') {
      const util = await toolVersion(['unshare', '--version']);
      if (util === null)
        throw new IsobenchError(
          'BACKEND_UNAVAILABLE',
          'runsc needs unshare(1) (util-linux) for its network-namespace workaround',
        );
    }
    if (layout.version === 1) {
      const memMount = layout.mounts.memory;
      this.swapAccounting =
        memMount !== undefined && (await exists(path.join(memMount, 'memory.memsw.limit_in_bytes')));
    } else this.swapAccounting = true;
    this.nofile = Math.min(65536, await nofileHardLimit());
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    this.ctx.cleanup.add(`${rt} root ${this.root}`, async () => {
      await fs.rmdir(this.root).catch(() => undefined);
      await fs.rmdir(path.dirname(this.root)).catch(() => undefined);
    });
    if (rt === 'runsc') {
      // runsc (unlike runc) makes a missing v1 `isobench` cpuset parent without cpus and mems, and then
      // cannot write its own cpuset.cpus (EACCES); and it leaves a cgroup it did not create unconfigured,
      // so the instances' own cgroups must stay the runtime's to make. The backend therefore keeps the
      // shared parent, made whole by CgroupHandle, alive while it is prepared: a child of its own holds it
      // (the last instance out of any run removes an empty parent).
      const hold = new CgroupHandle(layout, `${CGROUP_PARENT}/${this.ctx.shortId}-runsc-parent`);
      this.ctx.cleanup.add(`cgroup ${hold.relPath}`, () => hold.destroy());
      await hold.create();
    }
    // Prove the runtime works here: run /bin/true once in a throwaway bundle.
    const probe = path.join(this.ctx.workDir, 'containers', `.probe-${rt}`);
    await fs.mkdir(probe, { recursive: true });
    try {
      const cfg = ociConfig({
        args: ['/bin/true'],
        rootfs: this.ctx.image.rootfsDir,
        readonlyRoot: true,
        hostname: 'probe',
        cgroupVersion: layout.version,
        cgroupsPath: `/${CGROUP_PARENT}/probe-${this.ctx.shortId}-${rt}`,
        nofile: this.nofile,
      });
      await fs.writeFile(path.join(probe, 'config.json'), JSON.stringify(cfg));
      const id = `probe-${this.ctx.shortId}`;
      const r = await run(this.wrapRuntime([...this.runtimeArgv(), 'run', '--bundle', probe, id]), {
        timeoutMs: 60_000,
      });
      if (r.code !== 0) {
        await run([...this.runtimeArgv(), 'delete', '--force', id], { timeoutMs: 30_000 });
        throw new IsobenchError(
          'BACKEND_UNAVAILABLE',
          `${rt} cannot run a container on this host: ` +
            `${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`,
        );
      }
    } finally {
      await fs.rm(probe, { recursive: true, force: true });
      await new CgroupHandle(layout, `${CGROUP_PARENT}/probe-${this.ctx.shortId}-${rt}`)
        .destroy()
        .catch(() => undefined);
    }
    this.prepared = true;
  }

  /** runsc needs the private-mount-namespace wrapper when its netstack is on (see header). */
  wrapRuntime(argv: string[]): string[] {
    if (this.runtime !== 'runsc') return argv;
    return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', RUNSC_NETNS_SCRIPT, 'sh', ...argv];
  }

  info(): BackendInfo {
    const rt = this.runtime;
    const warnings: string[] = [];
    if (rt === 'runsc') {
      warnings.push(
        'gVisor (runsc) does not pass O_DIRECT to the host (gvisor#3626): ' +
          'its direct-I/O disk figures include the host page cache',
      );
      if (this.platform === 'ptrace')
        warnings.push(
          'gVisor runs with --platform=ptrace here (the slowest platform; systrap/kvm would cut syscall overhead)',
        );
    }
    if (this.cpuQuotaPercent !== undefined)
      warnings.push(
        `every ${this.label} container runs under a CPU limit of ${this.cpuQuotaPercent}% of one CPU ` +
          "(the scenario's cpuQuotaPercent): its figures include what the limit costs",
      );
    const v1 = this.ctx.host.cgroup.version === 1;
    return {
      kind: 'container',
      variant: rt,
      accelerator: rt,
      acceleratorReason:
        rt === 'runsc'
          ? `OCI runtime runsc (gVisor, platform ${this.platform}, netstack in the instance namespace)`
          : `OCI runtime ${rt} selected by the scenario`,
      versions: { ...this.versions },
      warnings,
      details: {
        runtimeRoot: this.root,
        cgroupVersion: this.ctx.host.cgroup.version,
        cpu: 'cpuset = spec.cpus always; CFS quota only when cpuQuotaPercent is set',
        ...(this.cpuQuotaPercent !== undefined ? { cpuLimitPercent: this.cpuQuotaPercent } : {}),
        cpuWeight: v1 ? 'cpu.shares = weight*1024/100' : 'cpu.weight',
        memory: v1
          ? `memory.limit_in_bytes${this.swapAccounting ? ' (+ memory.memsw.limit_in_bytes = same: no swap)' : ''}`
          : 'memory.max (+ memory.swap.max = 0)',
        memoryFigure: v1
          ? 'working set = memory.usage_in_bytes - total_inactive_file'
          : 'working set = memory.current - inactive_file',
        rootfs: 'shared content-hashed image, read-only bind',
        disk:
          'disk.mode dir: a bind-mounted host directory; image: a raw ext4 file on a loop device with direct ' +
          'I/O (losetup --direct-io=on), bind-mounted',
        seccomp: 'none',
        ...(rt === 'runsc' ? { platform: this.platform, network: 'sandbox (gVisor netstack)' } : {}),
      },
    };
  }

  async start(spec: InstanceSpec): Promise<Instance> {
    if (!this.prepared) throw new IsobenchError('INSTANCE_START', `${this.label}: prepare() was not called`);
    if (!NAME_RE.test(spec.name))
      throw new IsobenchError('INSTANCE_START', `instance name ${JSON.stringify(spec.name)} must match ${NAME_RE}`);
    if (spec.network && !this.ctx.net)
      throw new IsobenchError('INSTANCE_START', `${spec.name}: network requested but the run has no bench network`);
    const t0 = performance.now();
    const stages: StartupStages = {};
    const mark = (s: string): void => {
      stages[s] = performance.now() - t0;
    };
    const ctx = this.ctx;
    const bundle = path.join(ctx.workDir, 'containers', spec.name);
    const cgroup = new CgroupHandle(ctx.host.cgroup, `${CGROUP_PARENT}/${spec.name}`);
    const releases: Array<() => Promise<void>> = [];
    const id = spec.name;

    await fs.mkdir(bundle, { recursive: true });
    releases.push(ctx.cleanup.add(`bundle ${bundle}`, () => fs.rm(bundle, { recursive: true, force: true })));
    releases.push(ctx.cleanup.add(`cgroup ${cgroup.relPath}`, () => cgroup.destroy()));
    try {
      // Scratch disk.
      const binds: OciBind[] = [];
      // A workload may place the scratch on a device it owns (DiskSpec.placeUnder).
      const scratchBase = spec.disk.placeUnder ? path.join(spec.disk.placeUnder, `${spec.name}-scratch`) : undefined;
      if (scratchBase) {
        await fs.mkdir(scratchBase, { recursive: true });
        const sb = scratchBase;
        releases.push(ctx.cleanup.add(`dir ${sb}`, () => fs.rm(sb, { recursive: true, force: true })));
      }
      if (spec.disk.mode === 'image') {
        const img = await createScratchImage(scratchBase ?? bundle, spec.disk.sizeMiB, ctx.cleanup);
        releases.push(img.release);
        binds.push({ source: img.mountPoint, destination: '/scratch' });
      } else {
        const dir = path.join(scratchBase ?? bundle, 'scratch');
        await fs.mkdir(dir);
        binds.push({ source: dir, destination: '/scratch' });
      }
      mark('scratchReady');

      let veth: VethAttachment | undefined;
      let networkAttachMs: number | undefined;
      if (spec.network && ctx.net) {
        const tn = performance.now();
        veth = await ctx.net.attachVeth(spec.name);
        networkAttachMs = performance.now() - tn;
        releases.push(veth.release);
        mark('networkAttached');
      }

      const cfg = ociConfig({
        args: SIGNALLING_IDLE_INIT,
        rootfs: ctx.image.rootfsDir,
        readonlyRoot: true,
        hostname: spec.name,
        cgroupVersion: ctx.host.cgroup.version,
        cgroupsPath: `/${cgroup.relPath}`,
        limits: {
          cpus: spec.cpus,
          cpuQuotaPercent: spec.cpuQuotaPercent ?? this.cpuQuotaPercent,
          cpuWeight: spec.cpuWeight,
          memoryBytes: spec.memoryMiB * 2 ** 20,
          limitSwap: this.swapAccounting,
          pidsLimit: spec.pidsLimit,
        },
        netnsPath: veth ? netnsPath(veth.netns) : undefined,
        binds,
        nofile: this.nofile,
      });
      await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify(cfg));
      mark('bundleWritten');

      // Registered before it runs, so a failure half-way still deletes the runtime state.
      releases.push(ctx.cleanup.add(`${this.runtime} container ${id}`, () => this.deleteContainer(id)));
      const pidFile = path.join(bundle, 'init.pid');
      // The init's stdout is a FIFO the harness reads: its first line is the ready signal (payload-signal.ts).
      const signal = await PayloadSignal.create(bundle);
      releases.push(() => signal.close());
      mark('launched');
      const r = await run(
        this.wrapRuntime([...this.runtimeArgv(), 'run', '--detach', '--pid-file', pidFile, '--bundle', bundle, id]),
        {
          timeoutMs: 60_000,
          outputFile: path.join(bundle, 'init.log'),
          stdoutFd: signal.fd,
        },
      );
      mark('runtimeStarted');
      // The container holds its own copy now: EOF without the marker means the init died.
      await signal.closeWriter();
      if (r.code !== 0 || r.timedOut) {
        const log = await fs.readFile(path.join(bundle, 'init.log'), 'utf8').catch(() => '');
        throw new IsobenchError(
          'INSTANCE_START',
          `${this.runtime} run ${id} failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ` +
            `${log.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }
      const readyAt = await signal.at(30_000).catch(async (e: unknown) => {
        const log = await fs.readFile(path.join(bundle, 'init.log'), 'utf8').catch(() => '');
        throw new IsobenchError(
          'INSTANCE_START',
          `${this.runtime} ${id}: ` +
            `${errorMessage(e)}${log.trim() ? `; init.log: ${log.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
        );
      });
      stages.payloadReady = readyAt - t0;
      await signal.close();
      const initPid = Number((await fs.readFile(pidFile, 'utf8')).trim());
      const timing: StartupTiming = {
        launchedMs: stages.launched ?? 0,
        payloadReadyMs: stages.payloadReady,
        ...(networkAttachMs !== undefined ? { networkAttachMs } : {}),
        signal:
          `the container init's first line (${PAYLOAD_READY_MARKER}) on its stdout, a FIFO the harness reads; ` +
          `launch = \`${this.runtime} run --detach\` spawned`,
      };
      return new ContainerInstance(this, spec, cgroup, veth, initPid, bundle, stages, timing, releases.reverse());
    } catch (e) {
      for (const rel of releases.reverse()) await rel().catch(() => undefined);
      if (e instanceof IsobenchError) throw e;
      throw new IsobenchError('INSTANCE_START', `${this.label} ${spec.name}: ${errorMessage(e)}`, { cause: e });
    }
  }

  async deleteContainer(id: string): Promise<void> {
    const r = await run([...this.runtimeArgv(), 'delete', '--force', id], { timeoutMs: 30_000 });
    if (r.code !== 0 && !/does not exist|not exist|no such/i.test(r.stderr))
      throw new Error(`${this.runtime} delete ${id}: ${r.stderr.trim()}`);
  }

  /** Ids in this backend's runtime root (empty when the root does not exist). */
  async list(): Promise<string[]> {
    if (!(await exists(this.root))) return [];
    const r = await run([...this.runtimeArgv(), 'list', '--quiet'], { timeoutMs: 30_000 });
    return r.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }
}
