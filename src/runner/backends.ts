/** Backend construction from a scenario entry. Container and VM modules load on demand. */
import type { Backend, BackendContext } from '../backends/types.js';
import { NativeBackend } from '../backends/native.js';
import type { ResolvedBackend } from '../scenario/schema.js';

export async function createBackend(entry: ResolvedBackend, ctx: BackendContext, opts: { bootTimeoutMs: number }): Promise<Backend> {
  switch (entry.kind) {
    case 'native':
      return new NativeBackend(ctx);
    case 'container': {
      const { ContainerBackend } = await import('../backends/container.js');
      return new ContainerBackend(ctx, { runtime: entry.runtime, runscPlatform: entry.runscPlatform });
    }
    case 'vm': {
      const { VmBackend } = await import('../backends/vm.js');
      return new VmBackend(ctx, { machine: entry.machine, accel: entry.accel, bootTimeoutMs: opts.bootTimeoutMs });
    }
  }
}
