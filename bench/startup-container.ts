/**
 * Container start-up: start() to the first successful exec of /bin/true, beside
 * a bare `runc run /bin/true` on a minimal busybox bundle, measured in the same
 * run, interleaved, through the same subprocess helper.
 *
 *   npx tsx bench/startup-container.ts [--runtime runc|runsc] [--iterations 20]
 *
 * Rows:
 *   bare run       `runc run` of /bin/true on a pre-written minimal bundle (create,
 *                  start, wait, delete: one runtime invocation)
 *   floor          `runc run --detach` of the idle init + `runc exec /bin/true` on a
 *                  pre-written copy of the very config.json start() writes: the two
 *                  runtime invocations our path needs, with no harness logic (the
 *                  delete afterwards is not timed)
 *   isobench       ContainerBackend.start() + Instance.exec(['/bin/true'])
 * Ratios: isobench/bare (the target, <= 1.3) and isobench/floor (what the
 * harness itself adds on top of the runtime).
 */
import { percentile as quantile } from '../src/stats/index.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ContainerBackend, type ContainerRuntime } from '../src/backends/container.js';
import { ociConfig, type OciSpec } from '../src/backends/oci.js';
import type { InstanceSpec } from '../src/backends/types.js';
import { CgroupHandle } from '../src/host/cgroup.js';
import { buildMinimalBundleRootfs } from '../src/images/rootfs.js';
import { run, runOk } from '../src/util/proc.js';
import { makeTestContext } from '../test/helpers/context.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

function specFor(name: string): InstanceSpec {
  return { name, vcpus: 1, cpus: [1], memoryMiB: 128, pidsLimit: 64, disk: { sizeMiB: 64, mode: 'dir' }, network: false };
}


async function main(): Promise<void> {
  const runtime = arg('runtime', 'runc') as ContainerRuntime;
  const n = Number(arg('iterations', '20'));
  const warmup = 2;
  const t = await makeTestContext({ network: false });
  try {
    const backend = new ContainerBackend(t.ctx, { runtime });
    await backend.prepare();
    const rt = backend.runtimeArgv();
    const layout = t.ctx.host.cgroup;
    const minimal = await buildMinimalBundleRootfs();

    // Pre-written bundles for the two baselines. bare: the minimal busybox bundle running
    // /bin/true. floor: byte-for-byte the config.json start() writes (same limits, binds,
    // rlimits, idle init), taken from a throwaway instance, with its own cgroup and scratch dir.
    const bareBundle = path.join(t.ctx.workDir, 'bare');
    const floorBundle = path.join(t.ctx.workDir, 'floor');
    const bareCg = `isobench/${t.ctx.shortId}-bare`;
    const floorCg = `isobench/${t.ctx.shortId}-floor`;
    await fs.mkdir(bareBundle, { recursive: true });
    const bareCfg = ociConfig({ args: ['/bin/true'], rootfs: minimal.rootfsDir, readonlyRoot: true, hostname: 'b', cgroupVersion: layout.version, cgroupsPath: `/${bareCg}`, limits: { cpus: [1], memoryBytes: 128 * 2 ** 20, pidsLimit: 64 } });
    await fs.writeFile(path.join(bareBundle, 'config.json'), JSON.stringify(bareCfg));
    {
      const probe = await backend.start({ ...specFor(`${t.ctx.shortId}-cfg`) });
      const cfg = JSON.parse(await fs.readFile(path.join(t.ctx.workDir, 'containers', probe.name, 'config.json'), 'utf8')) as OciSpec;
      await probe.stop();
      await fs.mkdir(path.join(floorBundle, 'scratch'), { recursive: true });
      cfg.linux.cgroupsPath = `/${floorCg}`;
      for (const m of cfg.mounts) if (m.destination === '/scratch') m.source = path.join(floorBundle, 'scratch');
      await fs.writeFile(path.join(floorBundle, 'config.json'), JSON.stringify(cfg));
    }
    for (const cg of [bareCg, floorCg]) t.ctx.cleanup.add(`cgroup ${cg}`, () => new CgroupHandle(layout, cg).destroy());

    const bare: number[] = [];
    const floor: number[] = [];
    const floorRun: number[] = [];
    const floorExec: number[] = [];
    const ours: number[] = [];
    const stageRt: number[] = [];
    const stageBundle: number[] = [];
    const firstExec: number[] = [];
    for (let i = 0; i < n + warmup; i++) {
      const keep = i >= warmup;
      // bare
      {
        const id = `bare-${i}`;
        const t0 = performance.now();
        const r = await run(backend.wrapRuntime([...rt, 'run', '--bundle', bareBundle, id]), { timeoutMs: 60_000 });
        const ms = performance.now() - t0;
        if (r.code !== 0) throw new Error(`bare run failed: ${r.stderr}`);
        if (keep) bare.push(ms);
      }
      // floor
      {
        const id = `floor-${i}`;
        const t0 = performance.now();
        await runOk(backend.wrapRuntime([...rt, 'run', '--detach', '--bundle', floorBundle, id]), { timeoutMs: 60_000, outputFile: '/dev/null' });
        const tRun = performance.now() - t0;
        const r = await run([...rt, 'exec', id, '/bin/true'], { timeoutMs: 60_000 });
        const ms = performance.now() - t0;
        await runOk([...rt, 'delete', '--force', id]);
        if (r.code !== 0) throw new Error(`floor exec failed: ${r.stderr}`);
        if (keep) {
          floor.push(ms);
          floorRun.push(tRun);
          floorExec.push(ms - tRun);
        }
      }
      // isobench
      {
        const spec = specFor(`${t.ctx.shortId}-s${i}`);
        const t0 = performance.now();
        const inst = await backend.start(spec);
        const t1 = performance.now();
        const r = await inst.exec(['/bin/true']);
        const ms = performance.now() - t0;
        const st = inst.startupStages();
        await inst.stop();
        if (r.code !== 0) throw new Error(`exec /bin/true failed: ${r.stderr}`);
        if (keep) {
          ours.push(ms);
          stageBundle.push(st.bundleWritten ?? NaN);
          stageRt.push(st.runtimeStarted ?? NaN);
          firstExec.push(ms - (t1 - t0));
        }
      }
    }

    const row = (label: string, xs: number[]): string => `${label.padEnd(44)} ${quantile(xs, 0.5).toFixed(1).padStart(8)} ${quantile(xs, 0.95).toFixed(1).padStart(8)}`;
    console.log(`\n${runtime} start-up, ${n} iterations (+${warmup} warm-up), interleaved; ms`);
    console.log(`${''.padEnd(44)} ${'median'.padStart(8)} ${'p95'.padStart(8)}`);
    console.log(row(`bare \`${runtime} run /bin/true\` (minimal bundle)`, bare));
    console.log(row(`floor: run --detach + exec /bin/true`, floor));
    console.log(row(`  floor: run --detach returned`, floorRun));
    console.log(row(`  floor: exec /bin/true`, floorExec));
    console.log(row(`isobench: start() + exec(/bin/true)`, ours));
    console.log(row(`  start(): bundle written`, stageBundle));
    console.log(row(`  start(): runtime started (returned)`, stageRt));
    console.log(row(`  first exec(/bin/true)`, firstExec));
    const ratioBare = quantile(ours, 0.5) / quantile(bare, 0.5);
    const ratioFloor = quantile(ours, 0.5) / quantile(floor, 0.5);
    console.log(`\nratio isobench/bare  (median): ${ratioBare.toFixed(2)}x   target <= 1.30x ${ratioBare <= 1.3 ? 'MET' : 'MISSED'}`);
    console.log(`ratio isobench/floor (median): ${ratioFloor.toFixed(2)}x   (harness cost over the runtime's two invocations)`);
    console.log(`isobench median ${quantile(ours, 0.5).toFixed(1)} ms   target <= 100 ms ${quantile(ours, 0.5) <= 100 ? 'MET' : 'MISSED'}`);
    console.log(JSON.stringify({ runtime, n, bareMs: bare, floorMs: floor, isobenchMs: ours }));
  } finally {
    const failures = await t.dispose({ strict: false });
    if (failures.length) console.error('cleanup failures:', failures);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
