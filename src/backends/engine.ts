/**
 * Container engines (podman, Docker): the runtime a user actually drives, with its
 * per-container helper process (conmon, containerd-shim-runc-v2) and its request
 * round trip. One generic backend; each engine supplies an EngineDriver (the CLI,
 * how the image and the network reach the container, what its daemon costs).
 *
 * Same rootfs, limits and network as the runc backend:
 *  - rootfs: the shared content-hashed workload image, read-only (podman --rootfs;
 *    Docker: an image imported from it, tagged with the hash);
 *  - limits: --cpuset-cpus, --memory = --memory-swap (no swap), --pids-limit, CFS
 *    quota and weight when the spec sets them, nofile as the runc backend's;
 *  - cgroup: --cgroup-parent /isobench/<spec.name>, so the engine's container
 *    cgroup (and podman's conmon cgroup) land under isobench's parent, where a
 *    crashed run's sweep finds them;
 *  - network: the bench veth (podman joins its namespace; Docker starts with
 *    --network none and the veth's instance end is moved into its namespace).
 * Per-container cost: the engine's helper (the parent of the container's init)
 * is part of the footprint and reported apart (Footprint.parts); the engine
 * request is its own start-up stage (engineRequest → engineReturned).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IsobenchError, errorMessage } from '../errors.js';
import { CgroupHandle, CGROUP_PARENT, removeEmptyParents } from '../host/cgroup.js';
import type { VethAttachment } from '../net/bench.js';
import { run, type RunResult } from '../util/proc.js';
import { IDLE_INIT, CFS_PERIOD_US } from './oci.js';
import { PAYLOAD_READY_MARKER, PayloadSignal } from './payload-signal.js';
import { processMemory, instanceFootprint } from './proc-memory.js';
import { createScratchImage } from './scratch-image.js';
import { CgroupContainer } from './cgroup-container.js';
import type {
  Backend,
  BackendContext,
  BackendInfo,
  Footprint,
  Instance,
  InstanceSpec,
  StartupStages,
  StartupTiming,
} from './types.js';

/** Where the ready FIFO is bound in an engine's container: under its private /tmp tmpfs, never in the shared rootfs. */
const ENGINE_SIGNAL_PATH = '/tmp/.isobench-ready';

/** The idle init that first writes the ready marker into the bound FIFO, then idles as IDLE_INIT. */
const ENGINE_SIGNALLING_INIT = [
  '/bin/sh',
  '-c',
  `echo ${PAYLOAD_READY_MARKER} > ${ENGINE_SIGNAL_PATH}; ${IDLE_INIT[2]}`,
];

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;

export interface EngineDriver {
  /** `podman` | `docker`: the variant and the label suffix. */
  readonly engine: string;
  /** Client argv prefix (binary and global flags). */
  cli(): string[];
  /** Environment for client calls (private config files). */
  env(): Record<string, string>;
  /** Check the engine, start what it needs (a daemon, an image); throws BACKEND_UNAVAILABLE with the reason. */
  prepare(ctx: BackendContext): Promise<void>;
  versions(): Record<string, string>;
  /** Arguments after the run flags that name the root filesystem (podman: --rootfs DIR; docker: IMAGE). */
  imageArgs(): string[];
  /** How the container gets the bench network: join the veth namespace, or none (moved in after start). */
  networkArgs(veth: VethAttachment | undefined): string[];
  readonly moveVeth: boolean;
  /** Flags that give the container RLIMIT_NOFILE = nofile (soft and hard), as the runc backend does. */
  ulimitArgs(nofile: number): string[];
  /** Engine processes that serve all containers (a daemon): the per-host fixed cost. Empty for daemonless engines. */
  daemonPids(): Promise<number[]>;
  details(): Record<string, unknown>;
  warnings(): string[];
}

export class EngineBackend implements Backend {
  readonly kind = 'container' as const;
  readonly label: string;
  private prepared = false;
  /** Engine daemon memory measured after prepare (per host, not per container). */
  private daemon: { pssBytes: number; rssBytes: number; processes: number } | undefined;
  private nofile = 1024;

  constructor(
    readonly ctx: BackendContext,
    readonly driver: EngineDriver,
  ) {
    this.label = `container:${driver.engine}`;
  }

  client(
    args: string[],
    timeoutMs = 60_000,
    extra: { outputFile?: string; signal?: AbortSignal } = {},
  ): Promise<RunResult> {
    return run([...this.driver.cli(), ...args], { timeoutMs, env: this.driver.env(), ...extra });
  }

  async prepare(): Promise<void> {
    if (!this.ctx.host.isRoot)
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        `the ${this.driver.engine} backend needs root (cgroups, namespaces, mounts)`,
      );
    this.nofile = Math.min(65536, await nofileHardLimit());
    await this.driver.prepare(this.ctx);
    // Prove the engine runs a container here with the options start() uses.
    const id = `${this.ctx.shortId}-probe-${this.driver.engine}`;
    const r = await this.client(
      [
        'run',
        '--rm',
        '--name',
        id,
        ...this.commonRunArgs(),
        '--network',
        'none',
        ...this.driver.imageArgs(),
        '/bin/true',
      ],
      120_000,
    );
    if (r.code !== 0) {
      await this.client(['rm', '-f', id], 30_000);
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        `${this.driver.engine} cannot run a container on this host: ` +
          `${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`,
      );
    }
    const pids = await this.driver.daemonPids();
    if (pids.length > 0) {
      const m = await processMemory(pids);
      this.daemon = { pssBytes: m.pssBytes, rssBytes: m.rssBytes, processes: m.processes };
    }
    this.prepared = true;
  }

  /** Flags every container gets (the probe too): read-only root, private /tmp, nofile like the runc backend. */
  private commonRunArgs(): string[] {
    return ['--read-only', '--tmpfs', '/tmp', ...this.driver.ulimitArgs(this.nofile)];
  }

  info(): BackendInfo {
    return {
      kind: 'container',
      variant: this.driver.engine,
      accelerator: 'runc',
      acceleratorReason: `container engine ${this.driver.engine} driving the OCI runtime runc`,
      versions: this.driver.versions(),
      warnings: this.driver.warnings(),
      details: {
        engine: this.driver.engine,
        ...this.driver.details(),
        // The engine's own processes serve every container: a per-host fixed cost (capacity reserves it once).
        ...(this.daemon
          ? { engineDaemon: { ...this.daemon, measuredAt: 'after prepare, no containers running' } }
          : {}),
        perContainer:
          'the engine helper process (parent of the container init: conmon / containerd-shim-runc-v2) ' +
          'is in the footprint, also reported apart in footprint parts',
        startup:
          'stages engineRequest (before the client call) and engineReturned (client returned, container running): ' +
          'their difference is the engine round trip',
        cpu: 'cpuset = spec.cpus always; CFS quota only when cpuQuotaPercent is set',
        memory: 'memory limit = memory+swap limit (no swap)',
        rootfs: 'shared content-hashed image, read-only',
        // What the engine's users run; container:runc runs without a profile.
        seccomp: "the engine's default profile",
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
    const dir = path.join(ctx.workDir, 'engine', spec.name);
    const parent = new CgroupHandle(ctx.host.cgroup, `${CGROUP_PARENT}/${spec.name}`);
    const releases: Array<() => Promise<void>> = [];
    const id = spec.name;
    await fs.mkdir(dir, { recursive: true });
    releases.push(ctx.cleanup.add(`dir ${dir}`, () => fs.rm(dir, { recursive: true, force: true })));
    releases.push(
      ctx.cleanup.add(`cgroup ${parent.relPath}`, async () => {
        await parent.destroy();
        // The engine makes the parent in every hierarchy it finds (devices, name=systemd, the empty v2 of a hybrid
        // host), which CgroupHandle does not manage: remove those too, children first, once they are empty.
        await removeEverywhere(parent.relPath);
        // parent.destroy() tried the shared `isobench` parents while those hierarchies still held this
        // instance's folder: try again now that they are gone (rmdir spares a parent another run uses).
        await removeEmptyParents().catch(() => undefined);
      }),
    );
    try {
      const scratchBase = spec.disk.placeUnder ? path.join(spec.disk.placeUnder, `${spec.name}-scratch`) : undefined;
      if (scratchBase) {
        await fs.mkdir(scratchBase, { recursive: true });
        releases.push(
          ctx.cleanup.add(`dir ${scratchBase}`, () => fs.rm(scratchBase, { recursive: true, force: true })),
        );
      }
      let scratch: string;
      if (spec.disk.mode === 'image') {
        const img = await createScratchImage(scratchBase ?? dir, spec.disk.sizeMiB, ctx.cleanup);
        releases.push(img.release);
        scratch = img.mountPoint;
      } else {
        scratch = path.join(scratchBase ?? dir, 'scratch');
        await fs.mkdir(scratch);
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
      // The one start-up definition's end point (payload-signal.ts): the init's first act is to write the marker
      // into a FIFO bound into the container (under its private /tmp tmpfs), which the harness reads. An engine
      // keeps the container's stdout for its own logs, so the FIFO cannot be the stdout as for bare runc.
      const signal = await PayloadSignal.create(dir);
      releases.push(() => signal.close());
      const limits = [
        '--cpuset-cpus',
        spec.cpus.join(','),
        '--memory',
        `${spec.memoryMiB * 2 ** 20}b`,
        '--memory-swap',
        `${spec.memoryMiB * 2 ** 20}b`,
        '--pids-limit',
        String(spec.pidsLimit),
        ...(spec.cpuQuotaPercent !== undefined
          ? [
              '--cpu-period',
              String(CFS_PERIOD_US),
              '--cpu-quota',
              String(Math.round((spec.cpuQuotaPercent / 100) * CFS_PERIOD_US)),
            ]
          : []),
        ...(spec.cpuWeight !== undefined
          ? ['--cpu-shares', String(Math.max(2, Math.round((spec.cpuWeight * 1024) / 100)))]
          : []),
      ];
      const argv = [
        'run',
        '--detach',
        '--name',
        id,
        '--hostname',
        spec.name,
        '--cgroup-parent',
        `/${parent.relPath}`,
        ...this.commonRunArgs(),
        ...limits,
        '--volume',
        `${scratch}:/scratch`,
        '--volume',
        `${signal.fifo}:${ENGINE_SIGNAL_PATH}`,
        ...this.driver.networkArgs(veth),
        ...this.driver.imageArgs(),
        ...ENGINE_SIGNALLING_INIT,
      ];
      // Registered before the request, so a failure half-way still removes the container.
      releases.push(ctx.cleanup.add(`${this.driver.engine} container ${id}`, () => this.remove(id)));
      mark('engineRequest');
      const r = await this.client(argv, 120_000);
      if (r.code !== 0 || r.timedOut)
        throw new IsobenchError(
          'INSTANCE_START',
          `${this.driver.engine} run ${id} failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ` +
            `${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
        );
      mark('engineReturned');
      // The harness's write end stays open until the marker (the init opens the FIFO by path, later than
      // the engine returns perhaps): a timeout, not an EOF, tells that the init never signalled.
      const readyAt = await signal.at(30_000).catch((e: unknown) => {
        throw new IsobenchError('INSTANCE_START', `${this.driver.engine} ${id}: ${errorMessage(e)}`);
      });
      stages.payloadReady = readyAt - t0;
      await signal.close();
      const timing: StartupTiming = {
        launchedMs: stages.engineRequest ?? 0,
        payloadReadyMs: stages.payloadReady,
        ...(networkAttachMs !== undefined ? { networkAttachMs } : {}),
        signal:
          `the container init's first act: ${PAYLOAD_READY_MARKER} written into a FIFO bound at ` +
          `${ENGINE_SIGNAL_PATH}, which the harness reads; launch = \`${this.driver.engine} run --detach\` sent ` +
          `(the engine round trip is inside the figure, as a user of the engine sees it)`,
      };
      const pidText = (await this.client(['inspect', '--format', '{{.State.Pid}}', id], 30_000)).stdout.trim();
      const initPid = Number(pidText);
      if (!Number.isInteger(initPid) || initPid < 1)
        throw new IsobenchError('INSTANCE_START', `${this.driver.engine} inspect ${id}: no init pid (${pidText})`);
      if (veth && this.driver.moveVeth) {
        await moveVethInto(veth, initPid);
        mark('networkMoved');
      }
      const cgroup = new CgroupHandle(ctx.host.cgroup, await cgroupOf(initPid, ctx.host.cgroup.version));
      const helperPid = await parentPid(initPid);
      return new EngineInstance(this, spec, cgroup, veth, initPid, helperPid, stages, timing, releases.reverse());
    } catch (e) {
      for (const rel of releases.reverse()) await rel().catch(() => undefined);
      if (e instanceof IsobenchError) throw e;
      throw new IsobenchError('INSTANCE_START', `${this.label} ${spec.name}: ${errorMessage(e)}`, { cause: e });
    }
  }

  async remove(id: string): Promise<void> {
    const r = await this.client(['rm', '--force', id], 60_000);
    if (r.code !== 0 && !/no such container|no container with name/i.test(r.stderr))
      throw new Error(`${this.driver.engine} rm ${id}: ${r.stderr.trim()}`);
  }
}

class EngineInstance extends CgroupContainer {
  constructor(
    private readonly backend: EngineBackend,
    spec: InstanceSpec,
    cgroup: CgroupHandle,
    veth: VethAttachment | undefined,
    initPid: number,
    /** conmon / containerd-shim-runc-v2: the engine's per-container process. */
    readonly helperPid: number | undefined,
    stages: StartupStages,
    timing: StartupTiming,
    releases: Array<() => Promise<void>>,
  ) {
    super(backend.driver.engine, spec, cgroup, veth, initPid, stages, timing, releases);
  }

  protected async execIn(argv: string[], timeoutMs: number, signal: AbortSignal | undefined): Promise<RunResult> {
    const r = await this.backend.client(['exec', this.name, ...argv], timeoutMs, signal ? { signal } : {});
    // The engine gives no exec pid: kill everything in the container but its init.
    if (r.timedOut || r.canceled) for (const p of await this.cgroup.pids()) if (p !== this.initPid) tryKill(p);
    return r;
  }

  async footprint(): Promise<Footprint> {
    const inside = await this.cgroup.pids();
    const helper = this.helperPid !== undefined && !inside.includes(this.helperPid) ? [this.helperPid] : [];
    const fp = await instanceFootprint([...inside, ...helper], this.cgroup);
    if (helper.length === 0) return fp;
    const m = await processMemory(helper);
    const comm = (await fs.readFile(`/proc/${helper[0]}/comm`, 'utf8').catch(() => '?')).trim();
    return {
      ...fp,
      parts: [
        {
          name: comm,
          role: 'engine helper (per container)',
          pssBytes: m.pssBytes,
          rssBytes: m.rssBytes,
          processes: m.processes,
        },
      ],
    };
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/**
 * The cgroup (relative to the hierarchy root) a process is in: the memory controller's on v1, the unified one on v2.
 */
async function cgroupOf(pid: number, version: 1 | 2): Promise<string> {
  const text = await fs.readFile(`/proc/${pid}/cgroup`, 'utf8');
  for (const line of text.split('\n')) {
    const [, ctrls, p] = line.split(':');
    if (p === undefined) continue;
    if (version === 2 ? ctrls === '' : (ctrls ?? '').split(',').includes('memory')) return p.replace(/^\/+/, '');
  }
  throw new Error(`no ${version === 2 ? 'unified' : 'memory'} cgroup for pid ${pid}`);
}

async function parentPid(pid: number): Promise<number | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces, inside parentheses): state ppid ...
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) && ppid > 1 ? ppid : undefined;
}

/** Move the veth's instance end from its namespace into the container's, and configure it there as attachVeth did. */
async function moveVethInto(veth: VethAttachment, pid: number): Promise<void> {
  const ok = async (argv: string[]): Promise<void> => {
    const r = await run(argv, { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
  };
  await ok(['ip', '-n', veth.netns, 'link', 'set', veth.instanceIf, 'netns', String(pid)]);
  const inNs = ['nsenter', `--net=/proc/${pid}/ns/net`, '--'];
  await ok([...inNs, 'ip', 'link', 'set', 'lo', 'up']);
  await ok([...inNs, 'ip', 'addr', 'add', `${veth.address}/15`, 'dev', veth.instanceIf]);
  await ok([...inNs, 'ip', 'link', 'set', veth.instanceIf, 'up']);
}

async function removeEverywhere(relPath: string): Promise<void> {
  const mounts = await fs.readFile('/proc/self/mounts', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const [, mp, type] = line.split(' ');
    if (!mp || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    await rmdirTree(path.join(mp, relPath));
  }
}

async function rmdirTree(dir: string): Promise<void> {
  const kids = await fs.readdir(dir, { withFileTypes: true }).catch(() => null);
  if (kids === null) return;
  for (const k of kids) if (k.isDirectory()) await rmdirTree(path.join(dir, k.name));
  await fs.rmdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw new Error(`could not remove cgroup ${dir}: ${e.message}`);
  });
}

/** Hard RLIMIT_NOFILE of this process: a container may not be given more (as the runc backend). */
async function nofileHardLimit(): Promise<number> {
  const text = await fs.readFile('/proc/self/limits', 'utf8').catch(() => '');
  const m = /Max open files\s+\S+\s+(\S+)/.exec(text);
  if (m?.[1] === 'unlimited') return 1 << 20;
  return m?.[1] ? Number(m[1]) : 1024;
}
