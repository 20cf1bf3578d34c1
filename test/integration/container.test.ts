/**
 * The container backend against real runc (root, this host). No mocks: every
 * check reads the kernel's view (cgroup files, netns list, runc state).
 */
import { existsSync, promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerBackend } from '../../src/backends/container.js';
import type { Instance, InstanceSpec } from '../../src/backends/types.js';
import { CgroupHandle } from '../../src/host/cgroup.js';
import { listNetns } from '../../src/net/bench.js';
import { makeTestContext, type TestContext } from '../helpers/context.js';
import { cgroupLeftovers } from '../helpers/cgroup-leftovers.js';

function spec(name: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    name,
    vcpus: 1,
    cpus: [1],
    memoryMiB: 128,
    pidsLimit: 64,
    disk: { sizeMiB: 64, mode: 'dir' },
    network: false,
    ...over,
  };
}

describe('container backend (runc)', () => {
  let t: TestContext;
  let backend: ContainerBackend;
  const started: Instance[] = [];

  async function start(s: InstanceSpec): Promise<Instance> {
    const inst = await backend.start(s);
    started.push(inst);
    return inst;
  }

  beforeAll(async () => {
    t = await makeTestContext({ network: true });
    backend = new ContainerBackend(t.ctx, { runtime: 'runc' });
    await backend.prepare();
  });

  afterAll(async () => {
    for (const i of started) await i.stop().catch(() => undefined);
    await t?.dispose();
  });

  it('reports runc as its accelerator', () => {
    const info = backend.info();
    expect(info).toMatchObject({ kind: 'container', variant: 'runc', accelerator: 'runc' });
    expect(info.versions.runc).toMatch(/^\d+\.\d+/);
    expect(backend.label).toBe('container:runc');
  });

  it('starts, execs with stdout and exit codes, applies the limits', async () => {
    const name = `${t.ctx.shortId}-c1`;
    const inst = await start(spec(name, { cpuQuotaPercent: 50, cpuWeight: 200 }));
    expect(inst.startupStages()).toHaveProperty('runtimeStarted');
    // The init's own signal, after the runtime was spawned; no network here, so no attachment stage.
    const timing = inst.startupTiming();
    expect(timing.payloadReadyMs).toBeGreaterThan(timing.launchedMs);
    expect(timing.networkAttachMs).toBeUndefined();

    const ok = await inst.exec(['/bin/sh', '-c', 'echo hello; echo oops >&2']);
    expect(ok).toMatchObject({ code: 0, stdout: 'hello\n', stderr: 'oops\n', timedOut: false });
    expect((await inst.exec(['/bin/sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await inst.exec(['/bin/false'])).code).toBe(1);
    const tool = await inst.exec(['sysbench', '--version']);
    expect(tool.stdout).toMatch(/sysbench \d/);
    // Read-only rootfs, writable /tmp and /scratch.
    expect((await inst.exec(['/bin/touch', '/etc/x'])).code).not.toBe(0);
    expect((await inst.exec(['/bin/sh', '-c', 'echo a > /tmp/a && echo b > /scratch/b'])).code).toBe(0);

    // The cgroup the runtime made is where the handle looks, with the requested limits.
    const cg = new CgroupHandle(t.ctx.host.cgroup, `isobench/${name}`);
    expect(await cg.exists()).toBe(true);
    const lim = await cg.readLimits();
    expect(lim.cpus).toEqual([1]);
    expect(lim.cpuQuotaPercent).toBeCloseTo(50);
    expect(lim.cpuWeight).toBe(200);
    expect(lim.memoryBytes).toBe(128 * 2 ** 20);
    expect(lim.pidsMax).toBe(64);
    expect((await cg.pids()).length).toBeGreaterThanOrEqual(1);
    // Inside, the container sees the same cpuset.
    expect((await inst.exec(['/bin/nproc'])).stdout.trim()).toBe('1');

    const fp = await inst.footprint();
    expect(fp.processes).toBeGreaterThanOrEqual(1);
    expect(fp.hostRssBytes).toBeGreaterThan(0);
    expect(fp.hostPssBytes).toBeGreaterThan(0);
    expect(fp.cgroupMemoryBytes).toBeGreaterThan(0);
    expect(await inst.hostCpuSeconds()).toBeGreaterThan(0);

    await inst.stop();
    await inst.stop(); // idempotent
    expect(await cg.exists()).toBe(false);
    expect(await backend.list()).not.toContain(name);
    expect(existsSync(`${t.ctx.workDir}/containers/${name}`)).toBe(false);
  });

  it('reports a process that allocates past the memory limit as OOM-killed (not a hang)', async () => {
    const inst = await start(spec(`${t.ctx.shortId}-oom`, { memoryMiB: 48 }));
    // The shell keeps the 200 MB command substitution in its own memory.
    const r = await inst.exec(['/bin/sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\000" a); echo ${#x}'], {
      timeoutMs: 30_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(137);
    expect(r.oomKilled).toBe(true);
    // The instance survives its workload's OOM.
    expect((await inst.exec(['/bin/true'])).code).toBe(0);
    expect((await inst.exec(['/bin/true'])).oomKilled).toBeUndefined();
    await inst.stop();
  });

  it('kills a timed-out exec and keeps the instance usable', async () => {
    const inst = await start(spec(`${t.ctx.shortId}-to`));
    const r = await inst.exec(['/bin/sleep', '30'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    const ps = await inst.exec(['/bin/ps', '-o', 'args']);
    expect(ps.stdout).not.toMatch(/sleep 30/);
    expect((await inst.exec(['/bin/true'])).code).toBe(0);
    await inst.stop();
  });

  it('gives an image-backed ext4 scratch disk in disk.mode image', async () => {
    const name = `${t.ctx.shortId}-img`;
    const inst = await start(spec(name, { disk: { sizeMiB: 64, mode: 'image' } }));
    const mnt = `${t.ctx.workDir}/containers/${name}/scratch-mnt`;
    const r = await inst.exec([
      '/bin/sh',
      '-c',
      'grep " /scratch " /proc/mounts; dd if=/dev/zero of=/scratch/f bs=1M count=8 2>/dev/null && echo written',
    ]);
    expect(r.stdout).toMatch(/ \/scratch ext4 /);
    expect(r.stdout).toMatch(/written/);
    await inst.stop();
    const mounts = await fs.readFile('/proc/mounts', 'utf8');
    expect(mounts).not.toContain(mnt);
  });

  it('is reachable through its veth from the bench namespace', async () => {
    const net = t.ctx.net!;
    const inst = await start(spec(`${t.ctx.shortId}-net`, { network: true }));
    expect(inst.address).toMatch(/^198\.1[89]\./);
    const ping = await net.exec(['busybox', 'ping', '-c', '1', '-W', '2', inst.address!], { timeoutMs: 5_000 });
    expect(ping.code).toBe(0);
    expect((await inst.exec(['/bin/ping', '-c', '1', '-W', '2', net.gateway], { timeoutMs: 5_000 })).code).toBe(0);

    // A workload-level check: iperf3 server in the container, client in the bench namespace, 1 s.
    const server = inst.exec(['iperf3', '-s', '-1', '-p', '5201'], { timeoutMs: 15_000 });
    let json: { end?: { sum_received?: { bits_per_second?: number } }; error?: string } = {};
    for (let i = 0; i < 20; i++) {
      const c = await net.exec(['iperf3', '-c', inst.address!, '-p', '5201', '-t', '1', '-J'], { timeoutMs: 10_000 });
      json = JSON.parse(c.stdout || '{}');
      if (!json.error) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(json.error).toBeUndefined();
    expect(json.end?.sum_received?.bits_per_second).toBeGreaterThan(1e6);
    expect((await server).code).toBe(0);

    const netnsBefore = await listNetns();
    const own = netnsBefore.filter((n) => n.startsWith(`isobench-${t.ctx.shortId}-`) && !n.endsWith('-bench'));
    expect(own.length).toBe(1);
    await inst.stop();
    const after = await listNetns();
    expect(after.filter((n) => own.includes(n))).toEqual([]);
  });

  it('cleans up a failed start (bad cpuset) completely', async () => {
    const name = `${t.ctx.shortId}-bad`;
    await expect(backend.start(spec(name, { cpus: [63], network: true }))).rejects.toThrow(/runc run/);
    expect(await new CgroupHandle(t.ctx.host.cgroup, `isobench/${name}`).exists()).toBe(false);
    expect(await backend.list()).not.toContain(name);
    expect(existsSync(`${t.ctx.workDir}/containers/${name}`)).toBe(false);
    expect((await listNetns()).filter((n) => n.startsWith(`isobench-${t.ctx.shortId}-bad`))).toEqual([]);
  });

  it('leaves nothing behind after all stops', async () => {
    for (const i of started) await i.stop();
    expect(await backend.list()).toEqual([]);
    for (const d of new CgroupHandle(t.ctx.host.cgroup, 'isobench').dirs()) {
      const left = existsSync(d) ? (await fs.readdir(d)).filter((e) => e.startsWith(t.ctx.shortId)) : [];
      expect(left).toEqual([]);
    }
    // The last instance out removed the shared `isobench` parents too (in every hierarchy,
    // runc's devices/systemd/unified ones included), without the runner's finish().
    expect(cgroupLeftovers(t.ctx.shortId)).toEqual([]);
  });
});
