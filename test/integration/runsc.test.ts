/**
 * Smoke test of the gVisor runtime (runsc, --platform=ptrace) through the same
 * container backend: it starts, exec works, the netstack answers on the veth,
 * and stop leaves nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerBackend } from '../../src/backends/container.js';
import type { Instance, InstanceSpec } from '../../src/backends/types.js';
import { CgroupHandle } from '../../src/host/cgroup.js';
import { listNetns } from '../../src/net/bench.js';
import { makeTestContext, type TestContext } from '../helpers/context.js';


describe('container backend (runsc smoke)', () => {
  let t: TestContext;
  let backend: ContainerBackend;
  const started: Instance[] = [];

  beforeAll(async () => {
    t = await makeTestContext({ network: true });
    backend = new ContainerBackend(t.ctx, { runtime: 'runsc', runscPlatform: 'ptrace' });
    await backend.prepare();
  });

  afterAll(async () => {
    for (const i of started) await i.stop().catch(() => undefined);
    await t?.dispose();
  });

  it('starts, execs, answers on the network and cleans up', async () => {
    const info = backend.info();
    expect(info).toMatchObject({ variant: 'runsc', accelerator: 'runsc' });
    expect(info.warnings.join(' ')).toMatch(/O_DIRECT/);

    const name = `${t.ctx.shortId}-gv`;
    const s: InstanceSpec = { name, vcpus: 1, cpus: [1], memoryMiB: 256, pidsLimit: 128, disk: { sizeMiB: 64, mode: 'dir' }, network: true };
    const inst = await backend.start(s);
    started.push(inst);

    const r = await inst.exec(['/bin/sh', '-c', 'echo hello from $(uname -s); exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('hello from Linux\n');
    // gVisor's own dmesg says it is the sandbox, not the host kernel.
    expect((await inst.exec(['/bin/dmesg'])).stdout).toMatch(/gVisor/i);

    const ping = await t.ctx.net!.exec(['busybox', 'ping', '-c', '1', '-W', '3', inst.address!], { timeoutMs: 6_000 });
    expect(ping.code).toBe(0);

    const cg = new CgroupHandle(t.ctx.host.cgroup, `isobench/${name}`);
    expect((await cg.readLimits()).memoryBytes).toBe(256 * 2 ** 20);
    const fp = await inst.footprint();
    expect(fp.processes).toBeGreaterThanOrEqual(2); // sandbox + gofer
    expect(fp.hostPssBytes).toBeGreaterThan(0);

    await inst.stop();
    expect(await backend.list()).toEqual([]);
    expect(await cg.exists()).toBe(false);
    expect((await listNetns()).filter((n) => n.startsWith(`isobench-${t.ctx.shortId}-`) && !n.endsWith('-bench'))).toEqual([]);
  });
});
