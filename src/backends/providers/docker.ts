/** Docker: dockerd + containerd, a shim per container, over runc: `container:docker`. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { registerProvider } from '../registry.js';
import { stateRoot } from '../../core/state.js';
import { run } from '../../util/proc.js';
import type { Leftover } from '../../host/ownership.js';

registerProvider({
  id: 'docker',
  kind: 'container',
  shorthands: ['container:docker'],
  shorthandHelp: 'container:docker',
  objectSchema: z.object({ kind: z.literal('docker') }).strict(),
  resolve: () => ({ provider: 'docker', kind: 'container', key: 'container:docker', variant: 'docker', options: {} }),
  needsImage: true,
  // The shim per container (~12 MiB PSS here); dockerd + containerd once per host (~80 MiB here).
  hostOverheadMiB: 32,
  hostFixedMiB: 256,
  async create(_entry, ctx) {
    const [{ EngineBackend }, { DockerDriver }] = await Promise.all([import('../engine.js'), import('../docker.js')]);
    return new EngineBackend(ctx, new DockerDriver());
  },
  tools: {
    dockerd: { argv: ['dockerd', '--version'], pattern: /version (\S+?),/, pkg: 'docker.io', optional: true },
    docker: { argv: ['/usr/bin/docker', '--version'], pattern: /version (\S+?),/, pkg: 'docker.io', optional: true },
  },
  // A crashed run's own daemon, containerd and shims: everything whose command line names its exec root
  // /run/isobench/<short-id>/docker. The containers' processes go with their isobench cgroups, the data root
  // (in the run's temp dir) with the temp-dir sweep.
  async leftovers() {
    const out: Leftover[] = [];
    for (const runId of await fs.readdir(stateRoot()).catch(() => [] as string[])) {
      const execRoot = path.join(stateRoot(), runId, 'docker');
      const r = await run(['pgrep', '-f', `(dockerd|containerd).*${execRoot}`], { timeoutMs: 10_000 });
      for (const pid of r.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean))
        out.push({
          kind: 'process',
          name: `docker engine pid ${pid} (${execRoot})`,
          remove: async () => void process.kill(Number(pid), 'SIGKILL'),
        });
    }
    return out;
  },
  // Kubernetes runs containerd + runc (dockershim is gone): the handler is runc, the figure includes the shim.
  variants: [
    {
      variant: 'docker',
      helpers: [
        {
          comm: 'containerd-shim',
          role: "containerd's shim per container: holds its stdio and exit status",
          placement: 'host',
          leavesOut: "the shim's CPU time (it runs outside the container's cgroup); its memory is in the footprint",
        },
      ],
    },
  ],
  runtimeClassHandler: (variant) =>
    variant === 'docker' ? { handler: 'runc', guess: false } : { handler: variant, guess: true },
});
