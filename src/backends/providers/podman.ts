/** podman: a daemonless engine (conmon per container) over runc: `container:podman`. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { registerProvider } from '../registry.js';
import { stateRoot } from '../../core/state.js';
import { run } from '../../util/proc.js';
import type { Leftover } from '../../host/ownership.js';

const objectSchema = z.object({ kind: z.literal('podman') }).strict();

registerProvider({
  id: 'podman',
  kind: 'container',
  shorthands: ['container:podman'],
  shorthandHelp: 'container:podman',
  objectSchema,
  resolve: () => ({ provider: 'podman', kind: 'container', key: 'container:podman', variant: 'podman', options: {} }),
  needsImage: true,
  // conmon stays per container (~2 MiB here); a margin, the measured figure is in the footprint.
  hostOverheadMiB: 16,
  async create(_entry, ctx) {
    const [{ EngineBackend }, { PodmanDriver }] = await Promise.all([import('../engine.js'), import('../podman.js')]);
    return new EngineBackend(ctx, new PodmanDriver());
  },
  tools: {
    podman: { argv: ['podman', '--version'], pattern: /podman version (\S+)/, pkg: 'podman', optional: true },
    conmon: { argv: ['conmon', '--version'], pattern: /conmon version (\S+)/, pkg: 'conmon', optional: true },
  },
  // A crashed run's podman containers: their runroot is /run/isobench/<short-id>/podman; stopping conmon and the
  // container's processes goes through the cgroup sweep (they live under isobench/<name>), the state dir with the
  // run's.
  async leftovers() {
    const out: Leftover[] = [];
    for (const runId of await fs.readdir(stateRoot()).catch(() => [] as string[])) {
      const runRoot = path.join(stateRoot(), runId, 'podman');
      const conmons = await run(['pgrep', '-f', `conmon .*${runRoot}`], { timeoutMs: 10_000 });
      for (const pid of conmons.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean))
        out.push({
          kind: 'process',
          name: `conmon pid ${pid} (${runRoot})`,
          remove: async () => void process.kill(Number(pid), 'SIGKILL'),
        });
    }
    return out;
  },
  // Kubernetes has no podman handler: a pod's runtime is runc under CRI; the podman figure is runc plus conmon.
  variants: [
    {
      variant: 'podman',
      helpers: [
        {
          comm: 'conmon',
          role: "podman's monitor per container: holds its stdio and exit status",
          placement: 'host',
          leavesOut: "conmon's CPU time (it runs outside the container's cgroup); its memory is in the footprint",
        },
      ],
    },
  ],
  runtimeClassHandler: (variant) =>
    variant === 'podman' ? { handler: 'runc', guess: false } : { handler: variant, guess: true },
});
