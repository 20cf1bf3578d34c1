import { describe, expect, it } from 'vitest';
import madge from 'madge';

/**
 * Layer rules: a lower layer never imports a higher one. Workloads and
 * providers declare what only they know (src/core/declarations.ts) and the
 * layers below read the declarations there, never the modules.
 */
const LAYER_RULES: Array<{ from: string; to: string; why: string; exceptTo?: RegExp; exceptFrom?: RegExp }> = [
  { from: 'stats/', to: 'workloads/', why: 'stats read workload declarations from core/, not the workload modules' },
  { from: 'stats/', to: 'backends/', why: 'stats read provider declarations from core/' },
  { from: 'stats/', to: 'report/', why: 'the report sits above the statistics' },
  {
    from: 'runner/',
    to: 'report/',
    why: "the runner persists results; the headline's wording is handed in by the caller",
  },
  {
    from: 'report/',
    to: 'backends/',
    why: 'the report is a function of results (the VM self-check shape lives in results/)',
  },
  { from: 'results/', to: 'report/', why: 'results are read by the report, not the reverse' },
  {
    from: 'core/',
    to: '',
    why: 'core/ is the bottom layer (besides util/ and errors.ts)',
    exceptTo: /^(core|util)\/|^errors\.ts$/,
  },
  {
    from: 'host/',
    to: 'backends/',
    why: 'host/ holds the low-level helpers backends use',
    // The commands above every backend still live in host/ (doctor, leftovers, versions, cleanup): they move
    // out with the host/ split (issue 25 part 2), left for after the host capability model lands.
    exceptFrom: /^host\/(doctor|leftovers|versions|cleanup-command)\.ts$/,
  },
];

// A cycle makes modules that cannot be read, tested or loaded on their own, and
// its load order decides which side sees the other half-initialised. Type-only
// imports count too: they tie the modules' contracts together the same way.
describe('src import graph', () => {
  it('has no import cycles and keeps the layer rules', async () => {
    const graph = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
    expect(graph.circular().map((c) => c.join(' -> '))).toEqual([]);
    const broken: string[] = [];
    for (const [file, deps] of Object.entries(graph.obj())) {
      for (const rule of LAYER_RULES) {
        if (!file.startsWith(rule.from) || rule.exceptFrom?.test(file)) continue;
        for (const dep of deps) {
          if (!dep.startsWith(rule.to) || rule.exceptTo?.test(dep)) continue;
          broken.push(`${file} -> ${dep}: ${rule.why}`);
        }
      }
    }
    expect(broken).toEqual([]);
  }, 60_000);

  it('the rules see what they check (a known edge is in the graph)', async () => {
    const graph = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
    const obj = graph.obj();
    // If madge stopped resolving imports, every rule above would pass vacuously.
    expect(obj['host/doctor.ts']).toContain('backends/providers/index.ts');
    expect(obj['report/categories.ts']).toContain('core/declarations.ts');
  }, 60_000);
});
