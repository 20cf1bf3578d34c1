/**
 * Like with like (issue 14, items 1-4) on real backends: the host (NativeBackend)
 * and real runc, no mocks.
 *  - identical work: the syscall stressor does the same calls per op natively and
 *    in a container (strace -c on the live worker from the host), and the
 *    environment check runs through Instance.exec on both;
 *  - comparable disks: image mode is a direct-I/O loop device for native and
 *    runc, and fio's reads reach the device on both (the device check);
 *  - placement: an instance's cgroup freezes and thaws (what the runner does to
 *    idle instances), and a whole run pins the harness off the instance CPUs and
 *    freezes the other backend's instance while one is measured.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerBackend } from '../../src/backends/container.js';
import { NativeBackend } from '../../src/backends/native.js';
import type { Backend, Instance, InstanceSpec } from '../../src/backends/types.js';
import { IsobenchError } from '../../src/errors.js';
import { Freezer } from '../../src/runner/placement.js';
import { runScenario } from '../../src/runner/run.js';
import { run, sleep } from '../../src/util/proc.js';
import {
  DEVICE_CHECK_MAX,
  DEVICE_CHECK_METRIC,
  DEVICE_CHECK_MIN,
  diskParams,
  diskWorkload,
} from '../../src/workloads/disk.js';
import { deviceCheckFailure } from '../../src/stats/plausibility.js';
import { recordEnvironment } from '../../src/workloads/environment.js';
import { backgroundArgv, killArgv } from '../../src/workloads/network.js';
import { makeTestContext, type TestContext } from '../helpers/context.js';
import { makeWorkloadContext } from '../helpers/workload-context.js';

function spec(name: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    name,
    vcpus: 1,
    cpus: [1],
    memoryMiB: 256,
    pidsLimit: 128,
    disk: { sizeMiB: 128, mode: 'image' },
    network: false,
    ...over,
  };
}

/** Syscall counts of `strace -c -f` output, by name. */
function straceCounts(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (f.length >= 5 && /^\d+\.\d+$/.test(f[0] ?? '') && /^\d+$/.test(f[3] ?? ''))
      m.set(f[f.length - 1] as string, Number(f[3]));
  }
  return m;
}

/**
 * Start stress-ng null in the instance (3 s: found within tenths of a second, traced for 1.5 s), strace its worker
 * from the host, return calls per write.
 */
async function syscallMixPerOp(inst: Instance): Promise<Map<string, number>> {
  const exec = inst.exec(['stress-ng', '--null', '1', '-t', '3', '--temp-path', '/tmp', '--metrics-brief'], {
    timeoutMs: 60_000,
  });
  let worker: number | undefined;
  for (let i = 0; i < 100 && worker === undefined; i++) {
    await sleep(100);
    for (const pid of (await inst.cgroup?.pids()) ?? []) {
      const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmd.startsWith('stress-ng-null')) worker = pid;
    }
  }
  expect(worker, 'stress-ng null worker found in the instance cgroup').toBeDefined();
  const out = path.join(os.tmpdir(), `isobench-strace-${worker}.txt`);
  await run(['timeout', '-s', 'INT', '1.5', 'strace', '-c', '-f', '-o', out, '-p', String(worker)], {
    timeoutMs: 20_000,
  });
  const r = await exec;
  expect(r.code).toBe(0);
  const counts = straceCounts(await fs.readFile(out, 'utf8'));
  await fs.rm(out, { force: true });
  const writes = counts.get('write') ?? 0;
  expect(writes).toBeGreaterThan(100);
  return new Map([...counts].map(([k, v]) => [k, v / writes]));
}

describe('like with like: native vs runc', () => {
  let t: TestContext;
  let native: Backend;
  let runc: Backend;
  const started: Instance[] = [];
  let n: Instance;
  let c: Instance;

  beforeAll(async () => {
    t = await makeTestContext();
    native = new NativeBackend(t.ctx);
    runc = new ContainerBackend(t.ctx, { runtime: 'runc' });
    await native.prepare();
    await runc.prepare();
    n = await native.start(spec(`${t.ctx.shortId}-ln`));
    started.push(n);
    c = await runc.start(spec(`${t.ctx.shortId}-lc`));
    started.push(c);
  }, 120_000);

  afterAll(async () => {
    for (const i of started) await i.stop().catch(() => undefined);
    await t?.dispose();
  });

  it('the syscall stressor makes the same calls per op natively and in runc (strace -c)', async () => {
    const mixN = await syscallMixPerOp(n);
    const mixC = await syscallMixPerOp(c);
    // The per-op mix: 3 lseek, 3 fcntl, 2 ioctl, 1 each of mmap/munmap/msync/fallocate/fdatasync per write.
    for (const name of ['lseek', 'fcntl', 'ioctl', 'mmap', 'munmap', 'msync', 'fallocate', 'fdatasync']) {
      expect(mixN.get(name), `native ${name}/write`).toBeGreaterThan(0);
      expect(
        Math.abs((mixC.get(name) ?? 0) / (mixN.get(name) as number) - 1),
        `${name} per op, runc vs native`,
      ).toBeLessThan(0.05);
    }
    // No call that depends on the mount table (what made `get` do more work natively).
    for (const mix of [mixN, mixC])
      for (const k of ['statfs', 'fstatfs', 'openat']) expect(mix.get(k) ?? 0).toBeLessThan(0.01);
  }, 120_000);

  it('the environment check runs through Instance.exec on both and records what differs', async () => {
    const envs = [];
    for (const inst of [n, c]) {
      const w = makeWorkloadContext({
        backend: native,
        bctx: t.ctx,
        params: {},
        instance: inst,
        spec: spec(inst.name),
      });
      const rec = await recordEnvironment(w.ctx, 'cpu');
      expect(rec, JSON.stringify(rec)).not.toHaveProperty('error');
      envs.push(rec as Exclude<typeof rec, { error: string }>);
      expect(w.extras.get('environment')).toEqual(rec);
    }
    const [en, ec] = envs as [(typeof envs)[0], (typeof envs)[0]];
    // Both processes run on the instance CPU set only, in their own cgroup, without seccomp.
    expect(en.cpusAllowed).toBe('1');
    expect(ec.cpusAllowed).toBe('1');
    expect(en.cgroup.some((l) => l.includes(`/isobench/${n.name}`))).toBe(true);
    expect(ec.cgroup.some((l) => l.includes(`/isobench/${c.name}`))).toBe(true);
    expect([en.seccomp, ec.seccomp]).toEqual([0, 0]);
    expect(ec.thp).toBe(en.thp);
    // The host's /etc and mount table are not the container's: recorded, not assumed equal.
    expect(ec.etcSha256).not.toBe(en.etcSha256);
    expect(en.mounts).toBeGreaterThan(0);
    expect(ec.mounts).toBeGreaterThan(0);
  }, 60_000);

  it('image mode is a direct-I/O loop device on both, and fio reads reach the device on both', async () => {
    const loops = (await run(['losetup', '--list', '--noheadings', '--output', 'NAME,DIO,BACK-FILE'])).stdout;
    for (const inst of [n, c]) {
      const line = loops.split('\n').find((l) => l.includes(`/${inst.name}/scratch.img`));
      expect(line, `loop device for ${inst.name} in:\n${loops}`).toBeDefined();
      expect(line!.trim().split(/\s+/)[1]).toBe('1');
    }
    for (const inst of [n, c]) {
      const w = makeWorkloadContext({
        backend: native,
        bctx: t.ctx,
        params: diskParams.parse({ sizeMiB: 32, runtimeSeconds: 1 }),
        instance: inst,
        spec: spec(inst.name),
        timeoutMs: 120_000,
      });
      const values = await diskWorkload.run(w.ctx);
      const check = values.find((v) => v.metric === DEVICE_CHECK_METRIC);
      expect(check, `${inst.name}: ${w.progress.join('; ')}`).toBeDefined();
      // O_DIRECT honoured end to end: every byte fio read came from the device, once.
      expect(check!.value, inst.name).toBeGreaterThanOrEqual(DEVICE_CHECK_MIN);
      expect(check!.value, inst.name).toBeLessThanOrEqual(DEVICE_CHECK_MAX);
      expect(
        deviceCheckFailure({
          backend: inst.name,
          workload: 'disk',
          state: 'complete',
          metrics: [
            {
              metric: DEVICE_CHECK_METRIC,
              unit: '',
              higherIsBetter: true,
              values: [check!.value],
              repetitions: [1],
              rawLogs: [''],
              summary: null,
            },
          ],
        }),
      ).toBeUndefined();
      const log = await fs.readFile(path.join(t.ctx.rawDir, check!.rawLog!), 'utf8');
      expect(log).toMatch(/^cache: host page cache dropped/m);
    }
  }, 240_000);

  it("an instance's cgroup freezes (its processes stop using CPU) and thaws (they run, exec works again)", async () => {
    const bg = await c.exec(backgroundArgv(60, ['busybox', 'sh', '-c', 'while :; do :; done']));
    const pid = Number(bg.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    const cpuOver = async (ms: number): Promise<number> => {
      const a = await c.hostCpuSeconds();
      await sleep(ms);
      return (await c.hostCpuSeconds()) - a;
    };
    const f = new Freezer();
    try {
      await f.freeze(c.cgroup!);
      expect((await fs.readFile(path.join(c.cgroup!.dir('freezer')!, 'freezer.state'), 'utf8')).trim()).toBe('FROZEN');
      expect(await cpuOver(1000)).toBeLessThan(0.02);
    } finally {
      await f.thawAll();
    }
    expect((await fs.readFile(path.join(c.cgroup!.dir('freezer')!, 'freezer.state'), 'utf8')).trim()).toBe('THAWED');
    // The busy loop runs again (a loaded 2-core host still gives it a good share of a second).
    expect(await cpuOver(1000)).toBeGreaterThan(0.05);
    expect((await c.exec(['/bin/true'])).code).toBe(0);
    await c.exec(killArgv(pid, 'busybox'));
  }, 60_000);
});

describe('like with like: a whole run', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join('/var/tmp', 'isobench-lwl-'));
  });
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses an instance CPU set that takes the harness CPU (exit 2), unless the scenario says so', async () => {
    const file = path.join(dir, 'all.yaml');
    await fs.writeFile(
      file,
      `name: all\nbackends: [native]\ninstance: {vcpus: ${os.availableParallelism()}}\nworkloads:\n  cpu: {seconds: 1}\n`,
    );
    const err = await runScenario({ scenarioFile: file, resultsRoot: path.join(dir, 'results'), quiet: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IsobenchError);
    expect((err as IsobenchError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/takes every CPU of this \d+-CPU host.*shareHarnessCpu: true/);
  });

  it('pins the harness off the instance CPUs, freezes the idle backend, flags nothing on cpu', async () => {
    // sysbench (the headline) and the syscall stressor (the figure that once beat native); matrixprod adds no
    // placement claim of its own.
    const file = path.join(dir, 'run.yaml');
    await fs.writeFile(
      file,
      'name: lwl\nbackends: [native, container:runc]\ninstance: {vcpus: 1, memoryMiB: 256}\nrepetitions: 2\nwarmup: 0\nworkloads:\n  cpu: {seconds: 1, allVcpus: false, probes: [sysbench-1t, syscall]}\n',
    );
    const before = (await run(['taskset', '-c', '-p', String(process.pid)])).stdout;
    const out = await runScenario({ scenarioFile: file, resultsRoot: path.join(dir, 'results'), quiet: true });
    expect(out.results.status).toBe('complete');
    const p = out.results.placement!;
    expect(p.instanceCpus).toEqual([os.availableParallelism() - 1]);
    expect(p.harnessCpusReadBack).toEqual(p.harnessCpus);
    expect(p.harnessCpus).not.toContain(p.instanceCpus[0]);
    expect(p.freezeFailures).toEqual([]);
    // The harness gets its affinity back after the run.
    expect((await run(['taskset', '-c', '-p', String(process.pid)])).stdout).toBe(before);
    for (const cell of out.results.cells) {
      const env = (cell.extra!.environment as Array<{ data: { cpusAllowed: string } }>)[0]!.data;
      expect(env.cpusAllowed, cell.backend).toBe(String(p.instanceCpus[0]));
    }
    // The syscall figure does the same work on both: nothing is flagged as beating native.
    const sys = out.results.overheads.find((o) => o.metric === 'syscall-ops');
    expect(sys).toBeDefined();
    expect(out.results.overheads.filter((o) => o.implausible)).toEqual([]);
  }, 300_000);
});
