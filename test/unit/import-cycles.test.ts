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
    to: '',
    why: 'host/ holds the low-level helpers backends use: never backends/, only core/, util/ and errors.ts',
    exceptTo: /^(host|core|util)\/|^errors\.ts$/,
  },
  {
    from: '',
    to: 'ops/',
    why: 'ops/ (doctor, leftovers, versions, cleanup) reads every provider: only the runner and the CLI use it',
    exceptFrom: /^(ops|runner)\/|^cli\.ts$/,
  },
  {
    from: 'ops/',
    to: '',
    why: 'ops/ sits above the backends and below the runner, the report and the CLI',
    exceptTo: /^(ops|backends|host|net|images|workloads|core|util)\/|^errors\.ts$/,
  },
];

/** Every edge of the graph that breaks a rule, with the rule's reason. */
function brokenRules(obj: Record<string, string[]>): string[] {
  const broken: string[] = [];
  for (const [file, deps] of Object.entries(obj)) {
    for (const rule of LAYER_RULES) {
      if (!file.startsWith(rule.from) || rule.exceptFrom?.test(file)) continue;
      for (const dep of deps) {
        if (!dep.startsWith(rule.to) || rule.exceptTo?.test(dep)) continue;
        broken.push(`${file} -> ${dep}: ${rule.why}`);
      }
    }
  }
  return broken;
}

// A cycle makes modules that cannot be read, tested or loaded on their own, and
// its load order decides which side sees the other half-initialised. Type-only
// imports count too: they tie the modules' contracts together the same way.
describe('src import graph', () => {
  it('has no import cycles and keeps the layer rules', async () => {
    const graph = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
    expect(graph.circular().map((c) => c.join(' -> '))).toEqual([]);
    const broken = brokenRules(graph.obj());
    expect(broken).toEqual([]);
  }, 60_000);

  it('the rules see what they check (a known edge is in the graph)', async () => {
    const graph = await madge('src', { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
    const obj = graph.obj();
    // If madge stopped resolving imports, every rule above would pass vacuously.
    expect(obj['ops/doctor.ts']).toContain('backends/providers/index.ts');
    expect(obj['runner/resume.ts']).toContain('ops/leftovers.ts');
    expect(obj['report/categories.ts']).toContain('core/declarations.ts');
  }, 60_000);

  it('the rules catch a back-edge (on a made-up graph)', () => {
    const broken = brokenRules({
      'host/facts.ts': ['host/cgroup.ts', 'backends/providers/index.ts'],
      'backends/vm.ts': ['host/cgroup.ts', 'ops/versions.ts'],
      'ops/doctor.ts': ['backends/vm.ts', 'runner/execute.ts'],
      'runner/resume.ts': ['ops/leftovers.ts'],
      'cli.ts': ['ops/doctor.ts'],
    });
    expect(broken.map((b) => b.split(':')[0])).toEqual([
      'host/facts.ts -> backends/providers/index.ts',
      'backends/vm.ts -> ops/versions.ts',
      'ops/doctor.ts -> runner/execute.ts',
    ]);
  });
});
