/**
 * podman as a container engine (Debian's podman 4.3 here): daemonless, one conmon
 * per container. Everything it keeps lives under the run's private directories:
 * storage (--root) in the work dir, runtime state (--runroot) under
 * /run/isobench/<short-id>/podman, and a private containers.conf (CONTAINERS_CONF),
 * so neither the user's podman state nor their configuration shape the figures.
 * The rootfs is the shared content-hashed directory itself (`--rootfs DIR`): no
 * image copy, the hash stays the run's. Here: `--cgroup-manager=cgroupfs
 * --runtime=runc` (no systemd; crun refuses this host's cgroup v1 layout).
 *
 * Why a containers.conf: podman gives every container RLIMIT_NOFILE and
 * RLIMIT_NPROC defaults (1048576 / 32768) that runc fails to set under a harness
 * with a lower hard limit ("error setting rlimit type 7/6"); `default_ulimits`
 * there sets nofile to the runc backend's and nproc to podman's default 32768
 * (at most the harness's hard limit); the pids cgroup limit is what binds.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IsobenchError } from '../errors.js';
import { netnsPath } from '../net/bench.js';
import { stateRoot } from '../core/state.js';
import { toolVersion } from '../util/proc.js';
import type { EngineDriver } from './engine.js';
import type { BackendContext } from './types.js';

export function podmanRunRoot(shortId: string): string {
  return path.join(stateRoot(), shortId, 'podman');
}

/** Global flags of every podman call of one run (also used by the leftover sweep). */
export function podmanGlobalArgs(storageRoot: string, runRoot: string): string[] {
  return [
    'podman',
    '--root',
    storageRoot,
    '--runroot',
    runRoot,
    '--tmpdir',
    path.join(runRoot, 'tmp'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager=cgroupfs',
    '--runtime=runc',
    '--events-backend=none',
  ];
}

async function hardLimit(name: RegExp, fallback: number): Promise<number> {
  const text = await fs.readFile('/proc/self/limits', 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => name.test(l));
  const v = line ? line.trim().split(/\s{2,}/)[2] : undefined;
  return v === 'unlimited' ? 1 << 20 : Number(v) || fallback;
}

export class PodmanDriver implements EngineDriver {
  readonly engine = 'podman';
  readonly moveVeth = false;
  private storageRoot = '';
  private runRoot = '';
  private conf = '';
  private version: Record<string, string> = {};
  private rootfs = '';

  cli(): string[] {
    return podmanGlobalArgs(this.storageRoot, this.runRoot);
  }

  env(): Record<string, string> {
    return { CONTAINERS_CONF: this.conf };
  }

  async prepare(ctx: BackendContext): Promise<void> {
    const v = await toolVersion(['podman', '--version'], /podman version (\S+)/);
    if (v === null)
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        'podman is not installed or does not run (apt-get install podman, or run scripts/setup.sh)',
      );
    const conmon = await toolVersion(['conmon', '--version'], /conmon version (\S+)/);
    const runc = await toolVersion(['runc', '--version'], /runc version (\S+)/);
    if (runc === null)
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        'podman runs containers with runc here, and runc is not installed (apt-get install runc)',
      );
    this.version = { podman: v, runc, ...(conmon ? { conmon } : {}) };
    this.rootfs = ctx.image.rootfsDir;
    this.storageRoot = path.join(ctx.workDir, 'podman-storage');
    this.runRoot = podmanRunRoot(ctx.shortId);
    await fs.mkdir(path.join(this.runRoot, 'tmp'), { recursive: true, mode: 0o700 });
    await fs.mkdir(this.storageRoot, { recursive: true });
    const nofile = Math.min(65536, await hardLimit(/^Max open files/, 1024));
    // 32768 is podman's own default; higher values fail here even under the harness's hard limit (checked: 65536
    // fails).
    const nproc = Math.min(32768, await hardLimit(/^Max processes/, 4096));
    this.conf = path.join(ctx.workDir, 'podman-containers.conf');
    await fs.writeFile(
      this.conf,
      `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n`,
    );
    const root = this.runRoot;
    ctx.cleanup.add(`podman state ${root}`, async () => {
      // podman's runroot holds its own mounts (shm) only while containers exist; they are removed before this.
      await fs.rm(root, { recursive: true, force: true });
      await fs.rmdir(path.dirname(root)).catch(() => undefined);
    });
  }

  versions(): Record<string, string> {
    return { ...this.version };
  }

  ulimitArgs(): string[] {
    // podman drops its default nproc when --ulimit is given, and then fails to set the host's (see header):
    // nofile comes from the private containers.conf instead.
    return [];
  }

  imageArgs(): string[] {
    return ['--rootfs', this.rootfs];
  }

  networkArgs(veth: { netns: string } | undefined): string[] {
    return veth ? ['--network', `ns:${netnsPath(veth.netns)}`] : ['--network', 'none'];
  }

  async daemonPids(): Promise<number[]> {
    return []; // daemonless: conmon per container is counted in each footprint
  }

  details(): Record<string, unknown> {
    return {
      flags: '--cgroup-manager=cgroupfs --runtime=runc --storage-driver vfs, private --root/--runroot/containers.conf',
      rootfs: '--rootfs <shared content-hashed dir>',
      helper: 'conmon',
    };
  }

  warnings(): string[] {
    return [];
  }
}
