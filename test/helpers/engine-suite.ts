/**
 * One integration suite for every container engine backend (podman, Docker), on the real engine:
 * limits read back from the kernel, the engine helper in the footprint, the engine round trip
 * as its own start-up stage, the bench network, and nothing left after stop.
 */
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EngineBackend, type EngineDriver } from '../../src/backends/engine.js';
import type { Instance, InstanceSpec } from '../../src/backends/types.js';
import { CgroupHandle } from '../../src/host/cgroup.js';
import { makeTestContext, type TestContext } from './context.js';
import { isAbortError, run } from '../../src/util/proc.js';

export function engineSuite(o: {
  engine: string;
  helper: RegExp;
  driver: () => EngineDriver;
  daemon: boolean;
  /** Checks once everything is released (e.g. the engine's own daemon is gone). */
  afterDispose?: (shortId: string) => Promise<void>;
}): { backend: () => EngineBackend } {
  let t: TestContext;
  let backend: EngineBackend;
  const started: Instance[] = [];
  const spec = (name: string, over: Partial<InstanceSpec> = {}): InstanceSpec => ({
    name,
    vcpus: 1,
    cpus: [1],
    memoryMiB: 128,
    pidsLimit: 64,
    disk: { sizeMiB: 64, mode: 'dir' },
    network: false,
    ...over,
  });

  let chainsBefore: string[] = [];
  beforeAll(async () => {
    chainsBefore = await iptablesChains();
    t = await makeTestContext({ network: true });
    backend = new EngineBackend(t.ctx, o.driver());
    await backend.prepare();
  }, 180_000);

  afterAll(async () => {
    for (const i of started) await i.stop().catch(() => undefined);
    await t?.dispose();
    if (t) await o.afterDispose?.(t.ctx.shortId);
    // The engine's own networking must never be set up: isobench attaches its bench network itself.
    expect((await run(['ip', '-o', 'link', 'show'])).stdout).not.toMatch(/\b(cni-podman\d+|podman\d+|docker0)\b/);
    expect((await iptablesChains()).filter((c) => !chainsBefore.includes(c))).toEqual([]);
  }, 120_000);

  it(`reports ${o.engine} over runc, with its versions${o.daemon ? ' and its daemon memory' : ''}`, () => {
    const info = backend.info();
    expect(info).toMatchObject({ kind: 'container', variant: o.engine, accelerator: 'runc' });
    expect(info.versions[o.engine]).toMatch(/^\d+\.\d+/);
    expect(backend.label).toBe(`container:${o.engine}`);
    const daemon = info.details.engineDaemon as { pssBytes: number } | undefined;
    if (o.daemon) expect(daemon?.pssBytes).toBeGreaterThan(8 * 2 ** 20);
    else expect(daemon).toBeUndefined();
  });

  it('runs the shared rootfs read-only with the instance limits, on the bench network; the helper is in the footprint', async () => {
    const name = `${t.ctx.shortId}-e1`;
    const inst = await backend.start(spec(name, { cpuQuotaPercent: 50, cpuWeight: 200, network: true }));
    started.push(inst);
    const st = inst.startupStages();
    expect(st.engineReturned).toBeGreaterThan(st.engineRequest ?? Infinity);
    // Start-up by the one definition: launch (the engine request) to the init's own marker in the bound FIFO.
    const timing = inst.startupTiming();
    expect(timing.launchedMs).toBe(st.engineRequest);
    expect(timing.payloadReadyMs).toBeGreaterThan(timing.launchedMs);
    expect(timing.signal).toMatch(/FIFO bound at/);
    expect(timing.networkAttachMs).toBeGreaterThan(0);
    expect(await inst.exec(['/bin/sh', '-c', 'echo hello; echo oops >&2; exit 3'])).toMatchObject({
      code: 3,
      stdout: 'hello\n',
      stderr: 'oops\n',
      timedOut: false,
    });
    expect((await inst.exec(['sysbench', '--version'])).stdout).toMatch(/sysbench \d/);
    expect((await inst.exec(['/bin/touch', '/etc/x'])).code).not.toBe(0);
    expect((await inst.exec(['/bin/sh', '-c', 'echo a > /tmp/a && echo b > /scratch/b'])).code).toBe(0);
    expect((await inst.exec(['/bin/nproc'])).stdout.trim()).toBe('1');
    // The engine's container cgroup lies under isobench/<name> and carries the limits.
    expect(inst.cgroup!.relPath.startsWith(`isobench/${name}/`)).toBe(true);
    const lim = await inst.cgroup!.readLimits();
    expect(lim).toMatchObject({ cpus: [1], memoryBytes: 128 * 2 ** 20, pidsMax: 64, cpuWeight: 200 });
    expect(lim.cpuQuotaPercent).toBeCloseTo(50);
    // Network: reachable from the bench namespace, and it reaches the gateway.
    const net = t.ctx.net!;
    expect(inst.address).toMatch(/^198\.1[89]\./);
    expect((await net.exec(['busybox', 'ping', '-c', '1', '-W', '2', inst.address!], { timeoutMs: 5_000 })).code).toBe(
      0,
    );
    expect((await inst.exec(['/bin/ping', '-c', '1', '-W', '2', net.gateway], { timeoutMs: 5_000 })).code).toBe(0);
    // The engine helper (conmon / containerd-shim-runc-v2) is counted and named.
    const fp = await inst.footprint();
    const part = fp.parts?.[0];
    expect(part?.name).toMatch(o.helper);
    expect(part!.pssBytes).toBeGreaterThan(100 * 1024);
    expect(fp.hostPssBytes!).toBeGreaterThan(part!.pssBytes);
    expect(fp.processes).toBeGreaterThanOrEqual(2);
    await inst.stop();
    expect(await new CgroupHandle(t.ctx.host.cgroup, `isobench/${name}`).exists()).toBe(false);
    // Not in any hierarchy either (the engine also makes it under devices, name=systemd and the hybrid v2).
    for (const h of await fs.readdir('/sys/fs/cgroup'))
      expect(await pathGone(`/sys/fs/cgroup/${h}/isobench/${name}`)).toBe(true);
    const ps = await backend.client(['ps', '--all', '--quiet', '--filter', `name=${name}`]);
    expect(ps.stdout.trim()).toBe('');
  }, 120_000);

  it('an exec that times out is killed inside the container', async () => {
    const inst = await backend.start(spec(`${t.ctx.shortId}-e2`));
    started.push(inst);
    const r = await inst.exec(['/bin/sleep', '30'], { timeoutMs: 1_500 });
    expect(r.timedOut).toBe(true);
    const left = await inst.exec(['/bin/ps', '-o', 'args']);
    expect(left.code).toBe(0);
    expect(left.stdout).toMatch(/sleep 3600/); // the idle init's, so ps does list processes
    expect(left.stdout).not.toMatch(/sleep 30$/m);
    // Cancelled (a workload timeout or Ctrl-C): the exec ends at once and its process is gone too.
    const ac = new AbortController();
    setTimeout(() => ac.abort('test'), 800);
    const t0 = performance.now();
    const e = await inst.exec(['/bin/sleep', '31'], { timeoutMs: 60_000, signal: ac.signal }).catch((x: unknown) => x);
    expect(isAbortError(e)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect((await inst.exec(['/bin/ps', '-o', 'args'])).stdout).not.toMatch(/sleep 31$/m);
    await inst.stop();
    for (const h of await fs.readdir('/sys/fs/cgroup'))
      expect(await pathGone(`/sys/fs/cgroup/${h}/isobench/${inst.name}`)).toBe(true);
    // Nor an empty shared `isobench` parent in a hierarchy only the engine uses (devices, name=systemd, the
    // hybrid v2): one that still has a child belongs to something else alive and is left alone.
    for (const h of await fs.readdir('/sys/fs/cgroup')) {
      const kids = await fs.readdir(`/sys/fs/cgroup/${h}/isobench`, { withFileTypes: true }).catch(() => null);
      if (kids)
        expect(
          kids.some((k) => k.isDirectory()),
          `/sys/fs/cgroup/${h}/isobench left empty`,
        ).toBe(true);
    }
  }, 60_000);

  return { backend: () => backend };
}

export async function pathGone(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => false,
    () => true,
  );
}

/** The host's iptables chains (all tables), to see any an engine added (CNI-*, DOCKER*, NETAVARK*). */
async function iptablesChains(): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['filter', 'nat', 'mangle']) {
    const r = await run(['iptables', '-t', table, '-S']);
    for (const l of r.stdout.split('\n')) if (l.startsWith('-N ')) out.push(`${table} ${l.slice(3)}`);
  }
  return out;
}
