/**
 * Container start-up by the one definition (STARTUP_DEFINITION): launch to the
 * payload's first instruction, signalled by the payload itself, beside a bare
 * `runc run` of a minimal busybox bundle measured the same way, interleaved in
 * the same run, through the same subprocess helper.
 *
 *   npx tsx bench/startup-container.ts [--runtime runc|runsc] [--iterations 20] [--network]
 *
 * Rows:
 *   bare, to signal   `runc run` (foreground) of a minimal bundle whose payload is
 *                     `/bin/sh -c 'echo isobench-payload-ready'`, its stdout a FIFO the
 *                     harness reads: spawn to the marker (the reference, target <= 1.3x)
 *   bare, whole run   `runc run /bin/true`, spawn to exit (create, start, wait, delete):
 *                     what `hyperfine 'runc run ...'` measures, for the record
 *   helper alone      `/bin/true` spawned and reaped through the same helper: what the
 *                     harness's spawn path adds to every row alike (hyperfine spawns
 *                     directly, so its `runc run` figure is lower by about this much)
 *   isobench          the lifecycle template's start-up figure (ctx.startInstance):
 *                     `runc run --detach` spawned to the container init's marker on its
 *                     stdout FIFO, with its stages (preparation, network attachment,
 *                     signal to first exec through `runc exec`, start() to first exec)
 */
import { percentile as quantile } from '../src/stats/index.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ContainerBackend, type ContainerRuntime } from '../src/backends/container.js';
import { ociConfig } from '../src/backends/oci.js';
import { PAYLOAD_READY_MARKER, PayloadSignal } from '../src/backends/payload-signal.js';
import type { InstanceSpec } from '../src/backends/types.js';
import { CgroupHandle } from '../src/host/cgroup.js';
import { buildMinimalBundleRootfs } from '../src/images/rootfs.js';
import { startInstance } from '../src/runner/lifecycle.js';
import { run } from '../src/util/proc.js';
import { makeTestContext } from '../test/helpers/context.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

async function main(): Promise<void> {
  const runtime = arg('runtime', 'runc') as ContainerRuntime;
  const n = Number(arg('iterations', '20'));
  const network = process.argv.includes('--network');
  const warmup = 2;
  const t = await makeTestContext({ network });
  try {
    const backend = new ContainerBackend(t.ctx, { runtime });
    await backend.prepare();
    const rt = backend.runtimeArgv();
    const layout = t.ctx.host.cgroup;
    const minimal = await buildMinimalBundleRootfs();
    const spec = (name: string): InstanceSpec => ({
      name,
      vcpus: 1,
      cpus: [1],
      memoryMiB: 128,
      pidsLimit: 64,
      disk: { sizeMiB: 64, mode: 'dir' },
      network,
    });

    // Two pre-written minimal bundles (same limits as the instance): one whose payload signals, one running /bin/true.
    const bundles: Record<'signal' | 'whole', string> = {
      signal: path.join(t.ctx.workDir, 'bare-signal'),
      whole: path.join(t.ctx.workDir, 'bare-whole'),
    };
    const cgs: string[] = [];
    for (const [kind, dir] of Object.entries(bundles)) {
      const cg = `isobench/${t.ctx.shortId}-bare-${kind}`;
      cgs.push(cg);
      await fs.mkdir(dir, { recursive: true });
      const args = kind === 'signal' ? ['/bin/sh', '-c', `echo ${PAYLOAD_READY_MARKER}`] : ['/bin/true'];
      const cfg = ociConfig({
        args,
        rootfs: minimal.rootfsDir,
        readonlyRoot: true,
        hostname: 'b',
        cgroupVersion: layout.version,
        cgroupsPath: `/${cg}`,
        limits: { cpus: [1], memoryBytes: 128 * 2 ** 20, pidsLimit: 64 },
      });
      await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(cfg));
    }
    for (const cg of cgs) t.ctx.cleanup.add(`cgroup ${cg}`, () => new CgroupHandle(layout, cg).destroy());

    const rows: Record<string, number[]> = {};
    const add = (k: string, v: number | undefined): void => {
      if (v !== undefined && Number.isFinite(v)) (rows[k] ??= []).push(v);
    };
    const BARE = `bare \`${runtime} run\`: spawn to payload signal`;
    const WHOLE = `bare \`${runtime} run /bin/true\`: whole command`;
    const OURS = 'isobench start-up: launch to payload signal';
    const SPAWN = 'the subprocess helper alone: spawn to exit of /bin/true';
    for (let i = 0; i < n + warmup; i++) {
      const keep = i >= warmup;
      // bare, to the payload's signal (the same FIFO mechanism the backend uses)
      {
        const sig = await PayloadSignal.create(t.ctx.workDir, `bare-${i}.fifo`);
        try {
          const t0 = performance.now();
          const r = await run(backend.wrapRuntime([...rt, 'run', '--bundle', bundles.signal, `bare-s${i}`]), {
            timeoutMs: 60_000,
            stdoutFd: sig.fd,
          });
          await sig.closeWriter();
          if (r.code !== 0) throw new Error(`bare run failed: ${r.stderr}`);
          const at = await sig.at(10_000);
          if (keep) add(BARE, at - t0);
        } finally {
          await sig.close();
        }
      }
      // bare, whole command
      {
        const t0 = performance.now();
        const r = await run(backend.wrapRuntime([...rt, 'run', '--bundle', bundles.whole, `bare-w${i}`]), {
          timeoutMs: 60_000,
        });
        const ms = performance.now() - t0;
        if (r.code !== 0) throw new Error(`bare run failed: ${r.stderr}`);
        if (keep) add(WHOLE, ms);
      }
      // What the harness's own spawn path (execa) costs, inside every row above and below alike: the
      // gap to a figure from hyperfine, which spawns directly.
      {
        const t0 = performance.now();
        await run(['/bin/true'], { timeoutMs: 10_000 });
        if (keep) add(SPAWN, performance.now() - t0);
      }
      // isobench, through the lifecycle template the startup workload uses
      {
        const s = await startInstance(backend, spec(`${t.ctx.shortId}-s${i}`), 60_000);
        await s.instance.stop();
        if (keep) {
          add(OURS, s.startup.startupMs);
          add('  stage: preparation (start() to launch)', s.startup.stages.prepareMs);
          add('    of which network attachment (veth)', s.startup.stages.networkAttachMs);
          add(`  stage: payload signal to first \`${runtime} exec\``, s.startup.stages.payloadToFirstExecMs);
          add('  start() to first exec (ready-ms)', s.readyMs);
        }
      }
    }

    const med = (k: string): number => quantile(rows[k] ?? [], 0.5);
    console.log(
      `\n${runtime} start-up, ${n} iterations (+${warmup} warm-up), interleaved${network ? ', with network' : ''}; ms`,
    );
    console.log(`${''.padEnd(52)} ${'median'.padStart(8)} ${'p95'.padStart(8)}`);
    for (const [k, v] of Object.entries(rows))
      console.log(
        `${k.padEnd(52)} ${quantile(v, 0.5).toFixed(1).padStart(8)} ${quantile(v, 0.95).toFixed(1).padStart(8)}`,
      );
    const ratio = med(OURS) / med(BARE);
    console.log(
      `\nratio isobench/bare, both launch to payload signal (medians): ${ratio.toFixed(2)}x   target <= 1.30x ${ratio <= 1.3 ? 'MET' : 'MISSED'}`,
    );
    console.log(
      `ratio isobench/bare whole \`${runtime} run /bin/true\` (medians): ${(med(OURS) / med(WHOLE)).toFixed(2)}x`,
    );
    console.log(
      JSON.stringify({
        runtime,
        n,
        network,
        medians: Object.fromEntries(Object.keys(rows).map((k) => [k.trim(), med(k)])),
        ratio,
      }),
    );
  } finally {
    const failures = await t.dispose({ strict: false });
    if (failures.length) console.error('cleanup failures:', failures);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
