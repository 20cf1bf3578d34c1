import { describe, expect, it } from 'vitest';
import madge from 'madge';

// A cycle makes modules that cannot be read, tested or loaded on their own, and
// its load order decides which side sees the other half-initialised. Type-only
// imports count too: they tie the modules' contracts together the same way.
describe('src import graph', () => {
  it('has no import cycles', async () => {
    const graph = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
    expect(graph.circular().map((c) => c.join(' -> '))).toEqual([]);
  }, 60_000);
});
