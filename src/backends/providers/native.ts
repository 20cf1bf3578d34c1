/** The native baseline: the workload runs on the host, in a cgroup with the instance's limits. */
import { z } from 'zod';
import { registerProvider } from '../registry.js';

const SAFE_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

registerProvider({
  id: 'native',
  kind: 'native',
  shorthands: ['native'],
  shorthandHelp: 'native',
  objectSchema: z.object({ kind: z.literal('native'), label: z.string().regex(SAFE_NAME).optional() }).strict(),
  resolve: () => ({ provider: 'native', kind: 'native', key: 'native', variant: 'host', options: {} }),
  needsImage: false,
  hostOverheadMiB: 0,
  async create(_entry, ctx) {
    const { NativeBackend } = await import('../native.js');
    return new NativeBackend(ctx);
  },
});
