/**
 * npm run bench:exec — what one Instance.exec costs the harness, per backend:
 * the round trip of `/bin/true` natively (execa, no wrapper), through the native
 * backend (cgroup wrapper), `runc exec` into a running container and a guest-agent
 * exec into a running VM. tinybench does the in-process timing and statistics
 * (mean, median, p99, relative margin of error).
 *
 * Why it matters: every workload repetition pays this once per tool run, so it
 * bounds how short a workload may be before the harness, not isolation, shows
 * up in the figures (e.g. a 1 s sysbench run with a 150 ms exec costs 15% of
 * wall time, though not of the tool's own events/s).
 */
import { Bench } from 'tinybench';
import { execa } from 'execa';
import { makeTestContext } from '../test/helpers/context.js';
import { NativeBackend } from '../src/backends/native.js';
import { ContainerBackend } from '../src/backends/container.js';
import { VmBackend } from '../src/backends/vm.js';
import { startInstance } from '../src/runner/lifecycle.js';
import type { Backend, Instance, InstanceSpec } from '../src/backends/types.js';

const withVm = !process.argv.includes('--no-vm');
const t = await makeTestContext();
const instances: Instance[] = [];
try {
  const spec = (name: string): InstanceSpec => ({
    name: `${t.ctx.shortId}-${name}`,
    vcpus: 1,
    cpus: [t.ctx.host.cpus - 1],
    memoryMiB: 256,
    pidsLimit: 256,
    disk: { sizeMiB: 32, mode: 'dir' },
    network: false,
  });
  const start = async (b: Backend, name: string): Promise<Instance> => {
    await b.prepare();
    const s = await startInstance(b, spec(name), 90_000);
    instances.push(s.instance);
    return s.instance;
  };
  const native = await start(new NativeBackend(t.ctx), 'n');
  const runc = await start(new ContainerBackend(t.ctx, { runtime: 'runc' }), 'c');
  const vm = withVm ? await start(new VmBackend(t.ctx, { machine: 'q35', accel: 'auto' }), 'v') : undefined;

  const bench = new Bench({ name: 'exec of /bin/true', time: 3000, warmupTime: 500 });
  bench.add('host: execa /bin/true', async () => {
    await execa('/bin/true');
  });
  bench.add('native: Instance.exec', async () => {
    await native.exec(['/bin/true']);
  });
  bench.add('container:runc: Instance.exec (runc exec)', async () => {
    await runc.exec(['/bin/true']);
  });
  if (vm)
    bench.add('vm (TCG): Instance.exec (guest agent)', async () => {
      await vm.exec(['/bin/true']);
    });
  await bench.run();
  console.log(bench.name);
  console.table(bench.table());
} finally {
  for (const i of instances) await i.stop().catch(() => undefined);
  await t.dispose({ strict: false });
}
