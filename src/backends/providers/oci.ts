/** OCI runtimes run directly (runc, crun, gVisor's runsc): the `container` backend. */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { registerProvider } from '../registry.js';
import { stateRoot } from '../../core/state.js';
import { run } from '../../util/proc.js';
import type { Leftover } from '../../host/ownership.js';
import { RUNTIME_HANDLERS as HANDLERS } from '../../fleet/runtime-classes.js';

const RUNTIMES = ['runc', 'crun', 'runsc'] as const;
type Runtime = (typeof RUNTIMES)[number];
const objectSchema = z
  .object({
    kind: z.literal('container'),
    runtime: z.enum(RUNTIMES).default('runc'),
    runscPlatform: z.enum(['ptrace', 'systrap', 'kvm']).default('ptrace'),
    /**
     * A CPU limit (CFS quota) on every container of this backend, in percent of one CPU: what a Kubernetes
     * CPU limit costs. The row keeps its label; the limit is in the backend's details and warnings.
     */
    cpuQuotaPercent: z.number().min(5).max(100_000).optional(),
  })
  .strict();

registerProvider({
  id: 'container',
  kind: 'container',
  shorthands: ['container', ...RUNTIMES.map((r) => `container:${r}`)],
  shorthandHelp: 'container[:runc|crun|runsc]',
  objectSchema,
  resolve(entry) {
    const o =
      typeof entry === 'string'
        ? { runtime: (entry.split(':')[1] ?? 'runc') as Runtime, runscPlatform: 'ptrace' as const }
        : objectSchema.parse(entry);
    return {
      provider: 'container',
      kind: 'container',
      key: `container:${o.runtime}`,
      variant: o.runtime,
      options: {
        runtime: o.runtime,
        runscPlatform: o.runscPlatform,
        ...('cpuQuotaPercent' in o && o.cpuQuotaPercent !== undefined ? { cpuQuotaPercent: o.cpuQuotaPercent } : {}),
      },
    };
  },
  needsImage: true,
  variants: [
    // runc and crun set the container up and exit: nothing of theirs runs beside the payload.
    { variant: 'runc', helpers: [] },
    { variant: 'crun', helpers: [] },
    {
      variant: 'runsc',
      caveats: [
        {
          id: 'o-direct-page-cache',
          note:
            'gVisor (runsc) does not pass O_DIRECT to the host (gvisor#3626): not comparable with the other ' +
            'backends unless the device check shows the reads reached the device',
          workloads: ['disk'],
        },
      ],
      // runsc applies the OCI resources itself and puts both into the container's cgroup (container.ts). Checked
      // 2026-12-06 (runsc 20221219, ptrace): all six sandbox processes (sentry, gofer, the ptrace stubs) were in
      // the instance's cpuset cgroup, allowed only its CPU; only the `runsc exec` client runs outside, on the
      // harness CPUs. Four interleaved 3 s sysbench rounds there: runsc 1.7% below native (3,333 vs 3,390 ev/s).
      helpers: [
        {
          comm: 'runsc-sandbox',
          role: "gVisor's sentry: the application kernel that serves every syscall (ptrace platform: traces it)",
          placement: 'instance',
        },
        { comm: 'runsc-gofer', role: "gVisor's gofer: file-system access for the sentry", placement: 'instance' },
      ],
    },
  ],
  // The runtime exits once the container runs: nothing beyond the cgroup's own processes.
  hostOverheadMiB: 0,
  async create(entry, ctx) {
    const { ContainerBackend } = await import('../container.js');
    const o = entry.options as { runtime: Runtime; runscPlatform: string; cpuQuotaPercent?: number };
    return new ContainerBackend(ctx, {
      runtime: o.runtime,
      runscPlatform: o.runscPlatform,
      ...(o.cpuQuotaPercent !== undefined ? { cpuQuotaPercent: o.cpuQuotaPercent } : {}),
    });
  },
  tools: {
    runc: { argv: ['runc', '--version'], pattern: /runc version (\S+)/, pkg: 'runc' },
    crun: { argv: ['crun', '--version'], pattern: /crun version (\S+)/, pkg: 'crun' },
    runsc: { argv: ['runsc', '--version'], pattern: /runsc version (\S+)/, pkg: 'runsc' },
  },
  async doctor(host, versions) {
    if (host.cgroup.version === 1 && versions.crun)
      return {
        checks: [
          {
            name: 'crun',
            status: 'warn',
            detail: 'installed, but crun refuses cgroup v1/hybrid layouts: the container backend uses runc here',
            fix: 'use runtime runc on this host; crun works on cgroup v2 hosts',
          },
        ],
      };
    return { checks: [] };
  },
  // Containers first in the sweep (their processes hold cgroups and namespaces); each runtime lists its own state
  // under /run/isobench/<short-id>/<runtime>.
  async leftovers() {
    const out: Leftover[] = [];
    for (const runId of await fs.readdir(stateRoot()).catch(() => [] as string[])) {
      for (const runtime of await fs.readdir(path.join(stateRoot(), runId)).catch(() => [] as string[])) {
        if (!(RUNTIMES as readonly string[]).includes(runtime)) continue;
        const root = path.join(stateRoot(), runId, runtime);
        const global = runtime === 'runsc' ? ['runsc', `--root=${root}`] : [runtime, '--root', root];
        const list = await run([...global, 'list', '--quiet'], { timeoutMs: 30_000 });
        for (const id of list.stdout
          .split('\n')
          .map((x) => x.trim())
          .filter(Boolean))
          out.push({
            kind: 'container',
            name: `${runtime} ${id} (root ${root})`,
            remove: async () => {
              await run([...global, 'kill', id, 'KILL'], { timeoutMs: 10_000 });
              const r = await run([...global, 'delete', '--force', id], { timeoutMs: 30_000 });
              if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) throw new Error(r.stderr.trim());
            },
          });
      }
    }
    return out;
  },
  runtimeClassHandler: (variant) =>
    HANDLERS[variant] ? { handler: HANDLERS[variant], guess: false } : { handler: variant, guess: true },
});
