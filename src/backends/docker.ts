/**
 * Docker as a container engine (Debian's docker.io 20.10): dockerd + containerd,
 * one containerd-shim-runc-v2 per container, runc underneath.
 *
 * The daemon: a running one at /var/run/docker.sock is used as it is (its
 * configuration is the user's, recorded); otherwise isobench starts its own for
 * the run and stops it afterwards, with everything private: --data-root in the
 * run's work dir, --exec-root, pidfile and socket under /run/isobench/<short-id>/docker
 * (short: containerd's sockets live there), an empty --config-file, cgroupfs, and
 * no network plumbing at all (--bridge=none --iptables=false --ip6tables=false
 * --ip-masq=false): no docker0, no iptables rules. Containers start with
 * --network none; the engine backend moves the bench veth into them.
 *
 * The image: `docker import` of a tar of the shared content-hashed rootfs, tagged
 * isobench-rootfs:<hash>, so the image is the same bytes and carries the hash.
 * The daemon's own memory (dockerd + containerd, measured with no container
 * running) is the per-host fixed cost; each container's shim is in its footprint.
 */
import { promises as fs, createWriteStream, existsSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { execa } from 'execa';
import { IsobenchError } from '../errors.js';
import { stateRoot } from '../core/state.js';
import { run, sleep, toolVersion } from '../util/proc.js';
import type { EngineDriver } from './engine.js';
import type { BackendContext } from './types.js';

/**
 * The client from Debian's docker.io (setup.sh), by path: another client earlier on PATH (a static
 * /usr/local/bin/docker here) is not what setup.sh installed and may not match the daemon.
 */
export const DOCKER_CLIENT = '/usr/bin/docker';
const SYSTEM_SOCKET = '/var/run/docker.sock';

export function dockerExecRoot(shortId: string): string {
  return path.join(stateRoot(), shortId, 'docker');
}

async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift() as number;
    out.push(p);
    for (const t of await fs.readdir(`/proc/${p}/task`).catch(() => [] as string[])) {
      const kids = (await fs.readFile(`/proc/${p}/task/${t}/children`, 'utf8').catch(() => '')).trim();
      for (const k of kids.split(/\s+/).filter(Boolean)) queue.push(Number(k));
    }
  }
  return out;
}

async function comm(pid: number): Promise<string> {
  return (await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
}

export class DockerDriver implements EngineDriver {
  readonly engine = 'docker';
  readonly moveVeth = true;
  private host = '';
  private configDir = '';
  private imageRef = '';
  private version: Record<string, string> = {};
  private ownDaemonPid: number | undefined;
  private daemonMode: 'own' | 'existing' = 'own';

  cli(): string[] {
    return [DOCKER_CLIENT, '--host', this.host];
  }

  env(): Record<string, string> {
    // A private client config: the user's (credential helpers, contexts) plays no part.
    return { DOCKER_CONFIG: this.configDir };
  }

  async prepare(ctx: BackendContext): Promise<void> {
    const client = await toolVersion([DOCKER_CLIENT, '--version'], /version (\S+?),/);
    if (client === null)
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        'the docker client is not installed (apt-get install docker.io, or run scripts/setup.sh)',
      );
    this.configDir = path.join(ctx.workDir, 'docker-config');
    await fs.mkdir(this.configDir, { recursive: true });
    if (existsSync(SYSTEM_SOCKET) && (await this.serverVersion(`unix://${SYSTEM_SOCKET}`)) !== null) {
      this.host = `unix://${SYSTEM_SOCKET}`;
      this.daemonMode = 'existing';
    } else await this.startDaemon(ctx);
    const server = await this.serverVersion(this.host);
    if (server === null)
      throw new IsobenchError('BACKEND_UNAVAILABLE', `the Docker daemon at ${this.host} does not answer`);
    this.version = { docker: server, 'docker-client': client };
    const runc = await toolVersion(['runc', '--version'], /runc version (\S+)/);
    if (runc) this.version.runc = runc;
    await this.importImage(ctx);
  }

  private async serverVersion(host: string): Promise<string | null> {
    const r = await run([DOCKER_CLIENT, '--host', host, 'version', '--format', '{{.Server.Version}}'], {
      timeoutMs: 10_000,
      env: { DOCKER_CONFIG: this.configDir },
    });
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
  }

  private async startDaemon(ctx: BackendContext): Promise<void> {
    if ((await toolVersion(['dockerd', '--version'], /version (\S+?),/)) === null)
      throw new IsobenchError(
        'BACKEND_UNAVAILABLE',
        'no Docker daemon runs here and dockerd is not installed (apt-get install docker.io, or run scripts/setup.sh)',
      );
    const execRoot = dockerExecRoot(ctx.shortId);
    const dataRoot = path.join(ctx.workDir, 'docker-data');
    await fs.mkdir(execRoot, { recursive: true, mode: 0o700 });
    await fs.mkdir(dataRoot, { recursive: true });
    const configFile = path.join(ctx.workDir, 'dockerd.json');
    await fs.writeFile(configFile, '{}\n');
    const socket = path.join(execRoot, 'docker.sock');
    const log = path.join(ctx.rawDir, `dockerd-${ctx.shortId}.log`);
    await fs.mkdir(ctx.rawDir, { recursive: true });
    const out = createWriteStream(log, { flags: 'a' });
    await once(out, 'open');
    const argv = [
      '--data-root',
      dataRoot,
      '--exec-root',
      execRoot,
      '--pidfile',
      path.join(execRoot, 'dockerd.pid'),
      '--host',
      `unix://${socket}`,
      '--config-file',
      configFile,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
      '--userland-proxy=false',
      '--exec-opt',
      'native.cgroupdriver=cgroupfs',
      '--log-level=warn',
    ];
    // An fd, not a pipe: containerd and the shims inherit it and outlive a pipe reader.
    const child = execa('dockerd', argv, { reject: false, stdin: 'ignore', stdout: out, stderr: out });
    const pid = child.pid;
    if (pid === undefined) throw new IsobenchError('BACKEND_UNAVAILABLE', `dockerd did not start (log: ${log})`);
    this.ownDaemonPid = pid;
    let exited = false;
    void child.then(() => {
      exited = true;
      out.close();
    });
    ctx.cleanup.add(`dockerd pid ${pid} (${execRoot})`, async () => {
      await stopProcess(pid, () => exited);
      // After a clean shutdown nothing is mounted under the data root; a killed daemon may leave overlay mounts.
      const mounts = (await fs.readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '');
      // dockerd also bind-mounts the data root onto itself.
      for (const mp of mounts
        .filter((m) => m === dataRoot || m.startsWith(`${dataRoot}/`) || m.startsWith(`${execRoot}/`))
        .reverse())
        await run(['umount', '-l', mp]);
      await fs.rm(dataRoot, { recursive: true, force: true });
      await fs.rm(execRoot, { recursive: true, force: true });
      await fs.rmdir(path.dirname(execRoot)).catch(() => undefined);
    });
    this.host = `unix://${socket}`;
    const deadline = Date.now() + 30_000;
    while ((await this.serverVersion(this.host)) === null) {
      if (exited || Date.now() > deadline) {
        const tail = (await fs.readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        throw new IsobenchError(
          'BACKEND_UNAVAILABLE',
          `dockerd ${exited ? 'exited' : 'did not answer within 30 s'}: ${tail}`,
        );
      }
      await sleep(200);
    }
  }

  private async importImage(ctx: BackendContext): Promise<void> {
    const ref = `isobench-rootfs:${ctx.image.hash}`;
    this.imageRef = ref;
    if ((await run([...this.cli(), 'image', 'inspect', ref], { timeoutMs: 30_000, env: this.env() })).code === 0)
      return;
    const tar = path.join(ctx.workDir, 'rootfs.tar');
    const t = await run(['tar', '-C', ctx.image.rootfsDir, '--numeric-owner', '-cf', tar, '.'], { timeoutMs: 300_000 });
    if (t.code !== 0)
      throw new IsobenchError('BACKEND_UNAVAILABLE', `could not pack the rootfs for docker import: ${t.stderr.trim()}`);
    const r = await run([...this.cli(), 'import', tar, ref], { timeoutMs: 300_000, env: this.env() });
    await fs.rm(tar, { force: true });
    if (r.code !== 0)
      throw new IsobenchError('BACKEND_UNAVAILABLE', `docker import of the workload rootfs failed: ${r.stderr.trim()}`);
    // In a daemon that is not ours the image is ours to remove; our own daemon's data root goes whole.
    if (this.daemonMode === 'existing')
      ctx.cleanup.add(
        `docker image ${ref}`,
        async () =>
          void (await run([...this.cli(), 'image', 'rm', '--force', ref], { timeoutMs: 60_000, env: this.env() })),
      );
  }

  versions(): Record<string, string> {
    return { ...this.version };
  }

  ulimitArgs(nofile: number): string[] {
    return ['--ulimit', `nofile=${nofile}:${nofile}`];
  }

  imageArgs(): string[] {
    return [this.imageRef];
  }

  networkArgs(): string[] {
    return ['--network', 'none'];
  }

  async daemonPids(): Promise<number[]> {
    const root =
      this.ownDaemonPid ?? Number((await run(['pidof', '-s', 'dockerd'], { timeoutMs: 5_000 })).stdout.trim());
    if (!Number.isInteger(root) || root < 1) return [];
    // dockerd and the containerd it manages; shims are per container (footprints), not the daemon's.
    const all = await descendants(root);
    const out: number[] = [];
    for (const p of all) if (!(await comm(p)).startsWith('containerd-shim')) out.push(p);
    return out;
  }

  details(): Record<string, unknown> {
    return {
      daemon:
        this.daemonMode === 'own'
          ? 'started by isobench for this run: private data-root and exec-root, ' +
            '--bridge=none --iptables=false --ip6tables=false, cgroupfs'
          : `existing daemon at ${SYSTEM_SOCKET} (its configuration)`,
      image: `${this.imageRef} (docker import of the shared content-hashed rootfs)`,
      helper: 'containerd-shim-runc-v2',
      network: '--network none, then the bench veth moved into the container namespace',
    };
  }

  warnings(): string[] {
    return this.daemonMode === 'existing'
      ? [
          `Docker figures come from the daemon already running at ${SYSTEM_SOCKET}, with its own configuration ` +
            `(storage driver, cgroup driver, seccomp)`,
        ]
      : [];
  }
}

/** SIGTERM, wait for a clean exit (dockerd stops containerd), SIGKILL what is left. */
async function stopProcess(pid: number, exited: () => boolean): Promise<void> {
  const tree = await descendants(pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 20_000;
  while (!exited() && Date.now() < deadline) await sleep(100);
  // Only the daemon's own processes, checked by name (a pid of the tree may have been reused since).
  for (const p of tree.reverse()) {
    if (!/^(dockerd|containerd)$/.test(await comm(p))) continue;
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
