/**
 * npm run bench:crosscheck -- <run-id> — checks a run's VM and container ratios
 * against the same tools run by hand, outside the workloads:
 *
 *  - CPU: `sysbench cpu --threads=1` pinned with taskset to the instance's CPU
 *    on the host (no harness, no cgroup wrapper) vs the same command inside the
 *    instance;
 *  - TCP into the instance: `iperf3 -s -1` started inside the instance (native:
 *    in its network namespace with `ip netns exec`), `iperf3 -c` run from the
 *    bench namespace with `nsenter`, pinned to CPU 0 (the harness CPU, where a run
 *    pins its traffic generators), no workload code in between.
 *
 * The workloads' parameters (sysbench seconds and max prime, iperf3 seconds and
 * streams) are read from the run's results.json, so both sides do the same work.
 * It prints, per backend, the run's ratio of means vs native and the hand ratio,
 * and exits 1 when they differ by more than 15% (relative) on any row.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostFacts } from '../src/host/facts.js';
import { ensureWorkloadImage } from '../src/images/rootfs.js';
// The image carries the binaries the workloads declare: load their declarations.
import '../src/workloads/index.js';
import { CleanupRegistry } from '../src/core/cleanup.js';
import { startInstance } from '../src/runner/lifecycle.js';
import { NativeBackend } from '../src/backends/native.js';
import { ContainerBackend } from '../src/backends/container.js';
import { VmBackend } from '../src/backends/vm.js';
import type { Backend, BackendContext, Instance, InstanceSpec } from '../src/backends/types.js';
import { BenchNet } from '../src/net/bench.js';
import { parseSysbenchCpu } from '../src/workloads/parsers/sysbench.js';
import { iperf3Error, parseIperf3Json } from '../src/workloads/parsers/iperf3.js';
import { mean, ratioOfMeans } from '../src/stats/index.js';
import { run } from '../src/util/proc.js';
import { loadResults } from '../src/results/io.js';

// Six rounds: one TCG sysbench second or one veth iperf3 second varies 10-20%
// from run to run here, so three rounds left the hand ratio itself ±15% wide.
const REPS = Number(process.env.CROSSCHECK_REPS ?? 6);
const TOLERANCE = 0.15;
const PORT = 5299;

interface Params {
  cpuSeconds: number;
  maxPrime: number;
  netSeconds: number;
  streams: number;
}

function paramsOf(scenario: Record<string, unknown>): Params {
  const w = (scenario.workloads ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const num = (x: unknown, d: number): number => (typeof x === 'number' ? x : d);
  return {
    cpuSeconds: num(w.cpu?.seconds, 5),
    maxPrime: num(w.cpu?.maxPrime, 10_000),
    netSeconds: num(w.network?.seconds, 5),
    streams: num(w.network?.parallelStreams, 1),
  };
}

async function sysbenchBy(exec: () => Promise<{ code: number; stdout: string; stderr: string }>): Promise<number> {
  const r = await exec();
  if (r.code !== 0) throw new Error(`sysbench exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
  return parseSysbenchCpu(r.stdout).eventsPerSecond;
}

/** iperf3 into the instance: server started in it by hand, client from the bench namespace. */
async function tcpInto(
  net: BenchNet,
  address: string,
  startServer: (argv: string[]) => Promise<void>,
  p: Params,
): Promise<number> {
  await startServer(['iperf3', '-s', '-1', '-D', '-B', address, '-p', String(PORT)]);
  for (let attempt = 1; ; attempt++) {
    const r = await net.exec(
      [
        'taskset',
        '-c',
        '0',
        'iperf3',
        '-c',
        address,
        '-p',
        String(PORT),
        '-t',
        String(p.netSeconds),
        '-P',
        String(p.streams),
        '-J',
      ],
      { timeoutMs: (p.netSeconds + 30) * 1000 },
    );
    // iperf3 3.12 exits 0 with an error in its JSON when the daemonised server is not listening yet: retry that too.
    const refused = /unable to connect|connection refused/i.test(iperf3Error(r.stdout) ?? '');
    if (r.code === 0 && !refused) return parseIperf3Json(r.stdout).receivedBitsPerSecond / 1e9;
    if (attempt >= 10) throw new Error(`iperf3 client failed: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

async function main(): Promise<number> {
  const runId = process.argv[2];
  if (!runId) {
    console.error(
      'usage: npm run bench:crosscheck -- <run-id>   (a run of a scenario with the cpu and network workloads, native among its backends)',
    );
    return 2;
  }
  const results = await loadResults(path.join('results', runId));
  const p = paramsOf((results.scenario ?? {}) as Record<string, unknown>);
  const host = await hostFacts();
  const cpu = host.cpus - 1;
  const shortId = `x${randomBytes(3).toString('hex')}`;
  const cleanup = new CleanupRegistry();
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), `isobench-${shortId}-`));
  cleanup.add(`dir ${workDir}`, () => fs.rm(workDir, { recursive: true, force: true }));
  const onSignal = (): void => void cleanup.releaseAll().then(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const image = await ensureWorkloadImage();
    const net = await BenchNet.create(shortId, cleanup);
    const ctx: BackendContext = {
      runId: `crosscheck-${shortId}`,
      shortId,
      workDir,
      rawDir: workDir,
      host,
      cleanup,
      image,
      net,
    };
    const spec = (name: string): InstanceSpec => ({
      name: `${shortId}-${name}`,
      vcpus: 1,
      cpus: [cpu],
      memoryMiB: 512,
      pidsLimit: 1024,
      disk: { sizeMiB: 64, mode: 'dir' },
      network: true,
    });
    const sysbench = [
      'sysbench',
      'cpu',
      '--threads=1',
      `--time=${p.cpuSeconds}`,
      `--cpu-max-prime=${p.maxPrime}`,
      'run',
    ];

    // Native by hand: sysbench pinned directly; iperf3's server in a namespace of its own.
    const nativeInst = (await startInstance(new NativeBackend(ctx), spec('native'), 60_000)).instance;
    const nativeNs = (await run(['ip', 'netns', 'list'], {})).stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .find((n) => n.includes(nativeInst.name.replace(/[^a-z0-9]/g, '').slice(0, 12)));
    const hand: Record<string, { cpu: number[]; tcp: number[] }> = { native: { cpu: [], tcp: [] } };
    const backends: Array<[string, Backend]> = [];
    for (const b of results.backends) {
      if (b.kind === 'container' && b.variant === 'runc')
        backends.push([b.label, new ContainerBackend(ctx, { runtime: 'runc' })]);
      if (b.kind === 'vm')
        backends.push([
          b.label,
          new VmBackend(ctx, {
            machine: b.variant.startsWith('microvm') ? 'microvm' : 'q35',
            accel: 'auto',
            bootTimeoutMs: 120_000,
          }),
        ]);
    }
    const instances: Array<[string, Instance]> = [];
    for (const [label, be] of backends) {
      await be.prepare();
      instances.push([
        label,
        (await startInstance(be, spec(label.replace(/[^a-z0-9]/g, '').slice(0, 6)), 180_000)).instance,
      ]);
      hand[label] = { cpu: [], tcp: [] };
    }
    for (let rep = 0; rep < REPS; rep++) {
      console.log(`round ${rep + 1}/${REPS}`);
      hand.native!.cpu.push(
        await sysbenchBy(() => run(['taskset', '-c', String(cpu), ...sysbench], { timeoutMs: 120_000 })),
      );
      hand.native!.tcp.push(
        await tcpInto(
          net,
          nativeInst.address!,
          async (argv) => {
            // Placed as the instance is: its namespace, pinned to its CPU (the client is on CPU 0).
            const r = nativeNs
              ? await run(['ip', 'netns', 'exec', nativeNs, 'taskset', '-c', String(cpu), ...argv], {
                  timeoutMs: 30_000,
                })
              : await nativeInst.exec(argv, { timeoutMs: 30_000 });
            if (r.code !== 0) throw new Error(`iperf3 -s: ${r.stderr}`);
          },
          p,
        ),
      );
      for (const [label, inst] of instances) {
        hand[label]!.cpu.push(await sysbenchBy(() => inst.exec(sysbench, { timeoutMs: 300_000 })));
        hand[label]!.tcp.push(
          await tcpInto(
            net,
            inst.address!,
            async (argv) => {
              const r = await inst.exec(argv, { timeoutMs: 30_000 });
              if (r.code !== 0) throw new Error(`iperf3 -s in ${label}: ${r.stderr}`);
            },
            p,
          ),
        );
      }
    }
    let bad = 0;
    const rows: string[] = [
      '| backend | metric | run: ratio vs native [95% CI] | by hand: ratio vs native [95% CI] | difference |',
      '|---|---|---:|---:|---:|',
    ];
    const ci = (c: readonly [number, number] | undefined): string =>
      c && c.every(Number.isFinite) ? ` [${c[0].toFixed(3)}, ${c[1].toFixed(3)}]` : '';
    for (const [label] of instances) {
      for (const [what, metric, key] of [
        ['sysbench cpu', 'sysbench-events-1t', 'cpu'],
        ['TCP into the instance', 'tcp-to-instance-gbps', 'tcp'],
      ] as const) {
        const o = results.overheads?.find((x) => x.backend === label && x.metric === metric);
        const handEst = ratioOfMeans(hand.native![key], hand[label]![key]);
        const handRatio = handEst?.ratio ?? Number.NaN;
        const diff = o ? Math.abs(o.ratio - handRatio) / handRatio : Number.NaN;
        if (!(diff <= TOLERANCE)) bad++;
        rows.push(
          `| ${label} | ${what} (${metric}) | ${o ? o.ratio.toFixed(3) + ci(o.ratioCi95) : 'n/a'} | ${handRatio.toFixed(3)}${ci(handEst?.ci95)} | ${Number.isFinite(diff) ? `${(100 * diff).toFixed(1)}%` : 'n/a'} |`,
        );
      }
    }
    console.log(
      `\nhand runs: ${REPS} rounds; native cpu ${mean(hand.native!.cpu).toFixed(1)} events/s, tcp ${mean(hand.native!.tcp).toFixed(2)} Gbit/s`,
    );
    console.log(rows.join('\n'));
    console.log(
      bad === 0
        ? `\nPASS: every ratio within ${100 * TOLERANCE}% of the hand runs`
        : `\nFAIL: ${bad} row(s) differ by more than ${100 * TOLERANCE}% (or are missing)`,
    );
    for (const [, inst] of instances) await inst.stop().catch(() => undefined);
    await nativeInst.stop().catch(() => undefined);
    return bad === 0 ? 0 : 1;
  } finally {
    await cleanup.releaseAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`crosscheck: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
