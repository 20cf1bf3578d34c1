/**
 * The VM backend on real QEMU (TCG here). One guest is booted in beforeAll and
 * shared; a second, with the broken-init test hook, must fail within its timeout.
 * Needs root, qemu-system-x86_64 and the guest kernel from scripts/setup.sh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { makeTestContext, type TestContext } from '../helpers/context.js';
import { VmBackend, TCG_WARNING, type VmInstance } from '../../src/backends/vm.js';
import type { InstanceSpec } from '../../src/backends/types.js';
import { IsobenchError } from '../../src/errors.js';
import { run } from '../../src/util/proc.js';
import { listNetns } from '../../src/net/bench.js';
import { runVmSelfCheck } from '../../src/backends/vm-selfcheck-run.js';

function spec(name: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    name,
    vcpus: 2,
    cpus: [0, 1],
    memoryMiB: 256,
    pidsLimit: 512,
    disk: { sizeMiB: 64, mode: 'image' },
    network: true,
    ...over,
  };
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('VM backend on real QEMU', () => {
  let t: TestContext;
  let backend: VmBackend;
  let vm: VmInstance;
  let bootMs = 0;

  beforeAll(async () => {
    t = await makeTestContext({ network: true });
    backend = new VmBackend(t.ctx, { machine: 'q35', accel: 'auto', bootTimeoutMs: 90_000 });
    await backend.prepare();
    const t0 = performance.now();
    vm = (await backend.start(spec(`vm-${t.ctx.shortId}`))) as VmInstance;
    bootMs = performance.now() - t0;
  }, 240_000);

  afterAll(async () => {
    await vm?.stop().catch(() => undefined);
    await t?.dispose({ strict: false });
  });

  it('decides the accelerator by measurement and warns loudly under TCG', () => {
    const info = backend.info();
    expect(info.kind).toBe('vm');
    if (!t.ctx.host.kvm.hardware) {
      expect(backend.label).toBe('vm:q35-tcg');
      expect(info.variant).toBe('q35-tcg');
      expect(info.accelerator).toBe('tcg');
      expect(info.acceleratorReason).toMatch(/using TCG/);
      expect(info.warnings).toContain(TCG_WARNING);
    }
    expect(info.versions.qemu).toMatch(/^\d+\.\d+/);
  });

  it('exec returns output, stderr and exit codes', async () => {
    const ok = await vm.exec(['echo', 'hello from the guest']);
    expect(ok).toMatchObject({ code: 0, stdout: 'hello from the guest\n', timedOut: false });
    const bad = await vm.exec(['sh', '-c', 'echo oops >&2; exit 7']);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toBe('oops\n');
    const missing = await vm.exec(['/no/such/binary']);
    expect(missing.code).toBe(-1);
  });

  it('runs the workload binaries from the image', async () => {
    const r = await vm.exec(['iperf3', '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/iperf 3/);
  });

  it('sees the requested vCPUs and memory', async () => {
    expect(vm.guestResources()?.nproc).toBe(2);
    const n = await vm.exec(['nproc']);
    expect(n.stdout.trim()).toBe('2');
    const m = await vm.exec(['cat', '/proc/meminfo']);
    const memKiB = Number(/MemTotal:\s+(\d+)/.exec(m.stdout)?.[1]);
    expect(memKiB / 1024).toBeGreaterThan(256 * 0.7);
    expect(memKiB / 1024).toBeLessThanOrEqual(256);
  });

  it('has a writable scratch disk and a read-only root', async () => {
    const w = await vm.exec([
      'sh',
      '-c',
      `dd if=/dev/zero of=${vm.scratchDir}/f bs=1M count=8 conv=fsync 2>/dev/null && ls -l ${vm.scratchDir}/f && rm ${vm.scratchDir}/f`,
    ]);
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(/8388608/);
    const ro = await vm.exec(['sh', '-c', 'touch /usr/x']);
    expect(ro.code).not.toBe(0);
  });

  it('is reachable with iperf3 over the tap', async () => {
    const addr = vm.address as string;
    expect(addr).toMatch(/^198\.1[89]\./);
    const srv = await vm.exec(['iperf3', '-s', '-1', '-D'], { timeoutMs: 10_000 });
    expect(srv.code).toBe(0);
    let report: { error?: string; end?: { sum_received?: { bits_per_second?: number } } } = {};
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await t.ctx.net!.exec(['iperf3', '-c', addr, '-t', '1', '-J'], { timeoutMs: 20_000 });
      try {
        report = JSON.parse(r.stdout) as typeof report;
      } catch {
        report = { error: r.stderr || r.stdout };
      }
      if (!report.error) break;
      await new Promise((res) => setTimeout(res, 300));
    }
    expect(report.error).toBeUndefined();
    expect(report.end?.sum_received?.bits_per_second ?? 0).toBeGreaterThan(1e6);
  }, 60_000);

  it('reports a non-zero footprint, host CPU time and ordered start-up stages', async () => {
    const f = await vm.footprint();
    expect(f.hostRssBytes).toBeGreaterThan(50 * 2 ** 20);
    expect(f.hostPssBytes ?? 0).toBeGreaterThan(0);
    expect(f.cgroupMemoryBytes ?? 0).toBeGreaterThan(0);
    expect(f.processes).toBe(1);
    expect(await vm.hostCpuSeconds()).toBeGreaterThan(0.1);
    const s = vm.startupStages();
    expect(s.qemuStarted).toBeGreaterThan(0);
    expect(s.kernelEntry).toBeGreaterThan(0);
    expect(s.initStarted).toBeGreaterThan(s.kernelEntry as number);
    expect(s.agentReady).toBeGreaterThanOrEqual(s.initStarted as number);
    expect(s.agentReady).toBeLessThanOrEqual(bootMs);
    expect(s.guestUptimeAtReady).toBeGreaterThan(0);
    // The start-up definition's end points: QEMU spawned, then /init's first console line (before the agent answered);
    // the tap was attached before launch.
    const timing = vm.startupTiming();
    expect(timing.launchedMs).toBeLessThan(s.qemuStarted as number);
    expect(timing.payloadReadyMs).toBeGreaterThan(timing.launchedMs);
    expect(timing.payloadReadyMs).toBeLessThan(s.agentReady as number);
    expect(timing.networkAttachMs).toBeGreaterThan(0);
    expect(timing.networkAttachMs).toBeLessThanOrEqual(timing.launchedMs);
    // The console, read live from QEMU's stdout, is still kept in the console log.
    expect(await fs.readFile(vm.consoleLog, 'utf8')).toMatch(/isobench-init: start uptime=[\d.]+/);
    expect(await vm.qmpStatus()).toBe('running');
  });

  it("runs virtio-blk on its I/O thread, places QEMU's threads, and gives the guest the host's THP mode", async () => {
    const q = await vm.qemuFacts();
    expect(q.iothreads.map((t) => t.id)).toEqual(['iothread0']);
    expect(q.vcpuThreads).toHaveLength(2);
    expect(q.argv.some((a) => a.endsWith('iothread=iothread0') && a.includes('serial=isobench-scratch'))).toBe(true);
    const kvm = backend.accelerator === 'kvm';
    expect(q.argv.includes('-cpu') ? q.argv[q.argv.indexOf('-cpu') + 1] : undefined).toBe(kvm ? 'host' : undefined);
    expect(q.argv.some((a) => /(^|[,:])thread=/.test(a))).toBe(!kvm);
    expect(q.vhostNetOpen).toBe(kvm && existsSync('/dev/vhost-net'));
    // spec cpus [0,1]: on a 2-CPU host nothing is left for the harness, so the threads share (and say so).
    const p = vm.placement();
    expect(p?.mode).toBe(t.ctx.host.cpus > 2 ? 'apart' : 'shared');
    const vcpuTids = new Set(q.vcpuThreads.map((v) => v.threadId));
    expect(p?.vcpuThreads.map((x) => x.tid).sort()).toEqual([...vcpuTids].sort());
    for (const th of p?.vcpuThreads ?? []) expect(th.cpus).toBe('0-1');
    expect(p?.otherThreads.some((x) => x.name === 'IO iothread0')).toBe(true);
    // 256 MiB guests start with THP off (kernel rule below 512 MiB): /init sets the host's mode.
    const thp = await vm.exec([
      'cat',
      '/sys/kernel/mm/transparent_hugepage/enabled',
      '/sys/kernel/mm/transparent_hugepage/defrag',
    ]);
    const [en, de] = thp.stdout
      .trim()
      .split('\n')
      .map((l) => /\[([\w+]+)\]/.exec(l)?.[1]);
    expect(en).toBe(t.ctx.host.thp.enabled);
    expect(de).toBe(t.ctx.host.thp.defrag);
  });

  it("the self-check boots its own guest (1 vCPU apart from QEMU's other threads) and compares it with the host", async () => {
    const last = t.ctx.host.cpus - 1;
    const rec = await runVmSelfCheck(backend, spec(`sc-${t.ctx.shortId}`, { vcpus: 1, cpus: [last] }), t.ctx.rawDir);
    expect(rec.error).toBeUndefined();
    const sc = rec.check!;
    expect(sc.accelerator).toBe(backend.accelerator);
    expect(sc.thp.match).toBe(true);
    expect(sc.net.backend).toBe(backend.accelerator === 'kvm' && existsSync('/dev/vhost-net') ? 'vhost' : 'qemu');
    expect(sc.iothreads.running).toHaveLength(1);
    if (t.ctx.host.cpus > 1) {
      expect(rec.placement?.mode).toBe('apart');
      for (const th of rec.placement?.vcpuThreads ?? []) expect(th.cpus).toBe(String(last));
      for (const th of rec.placement?.otherThreads ?? []) expect(th.cpus).not.toContain(String(last));
    }
    if (backend.accelerator === 'tcg') expect(sc.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(rec.rawLogs).toHaveLength(2);
    expect(await fs.readFile(rec.rawLogs[0]!, 'utf8')).toMatch(/^== cpuinfo/);
    // its guest is gone
    expect((await run(['pgrep', '-f', `isobench-sc-${t.ctx.shortId}`])).stdout.trim()).toBe('');
  }, 120_000);

  it('kills a guest command that outlives its timeout', async () => {
    const r = await vm.exec(['sleep', '30'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.wallMs).toBeLessThan(10_000);
    const after = await vm.exec(['true']);
    expect(after.code).toBe(0);
  });

  it('stop leaves no qemu process, tap, socket or cgroup, and is idempotent', async () => {
    const pid = vm.qemuPid;
    const cgDirs = vm.cgroup?.dirs() ?? [];
    expect(alive(pid)).toBe(true);
    const taps = await run(['ip', '-n', t.ctx.net!.ns, '-o', 'link', 'show', 'type', 'tun']);
    expect(taps.stdout).toMatch(/tap\d+/);
    await vm.stop();
    await vm.stop();
    expect(alive(pid)).toBe(false);
    for (const d of cgDirs) expect(existsSync(d)).toBe(false);
    const tapsAfter = await run(['ip', '-n', t.ctx.net!.ns, '-o', 'link', 'show', 'type', 'tun']);
    expect(tapsAfter.stdout).not.toMatch(/tap\d+/);
    const left = await fs.readdir(t.ctx.workDir);
    expect(left.filter((e) => e.startsWith('vm-'))).toEqual([]);
    const ns = t.ctx.net!.ns;
    await t.dispose();
    expect(await listNetns()).not.toContain(ns);
    expect(existsSync(path.join(t.ctx.rawDir, `console-${vm.name}.log`)) || !existsSync(t.ctx.rawDir)).toBe(true);
  });
});

describe('VM backend failure path', () => {
  it('a guest whose init breaks fails within its timeout, quoting the console log', async () => {
    const t = await makeTestContext({ network: false });
    try {
      const backend = new VmBackend(t.ctx, {
        machine: 'q35',
        accel: 'auto',
        bootTimeoutMs: 45_000,
        kernelArgs: ['isobench.init=panic'],
      });
      await backend.prepare();
      const t0 = performance.now();
      const err = await backend.start(spec(`bad-${t.ctx.shortId}`, { network: false })).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - t0;
      expect(err).toBeInstanceOf(IsobenchError);
      const e = err as IsobenchError;
      expect(e.code).toBe('INSTANCE_START');
      expect(e.message).toMatch(/isobench-init: FATAL: test hook isobench.init=panic/);
      expect(e.message).toMatch(/QEMU exited|kernel panicked/);
      expect(elapsed).toBeLessThan(45_000);
      // console log kept next to the results; nothing else left
      const log = await fs.readFile(path.join(t.ctx.rawDir, `console-bad-${t.ctx.shortId}.log`), 'utf8');
      expect(log).toMatch(/Kernel panic|FATAL/);
      expect((await run(['pgrep', '-f', `console-bad-${t.ctx.shortId}`])).stdout.trim()).toBe('');
      expect(t.ctx.cleanup.pending.filter((p) => /qemu|cgroup|vm dir/.test(p))).toEqual([]);
    } finally {
      await t.dispose();
    }
  }, 120_000);

  it('a guest that hangs is killed at its boot timeout', async () => {
    const t = await makeTestContext({ network: false });
    try {
      const backend = new VmBackend(t.ctx, {
        machine: 'q35',
        accel: 'auto',
        bootTimeoutMs: 4_000, // the guest's init hangs for ever: any timeout is one it must be killed at
        kernelArgs: ['isobench.init=hang'],
      });
      const t0 = performance.now();
      const err = await backend.start(spec(`hang-${t.ctx.shortId}`, { network: false })).catch((e: unknown) => e);
      const elapsed = performance.now() - t0;
      expect((err as IsobenchError).code).toBe('INSTANCE_START');
      expect((err as Error).message).toMatch(/timed out after 4000 ms/);
      expect(elapsed).toBeLessThan(4_000 + 15_000);
      expect((await run(['pgrep', '-f', `console-hang-${t.ctx.shortId}`])).stdout.trim()).toBe('');
    } finally {
      await t.dispose();
    }
  }, 120_000);
});
