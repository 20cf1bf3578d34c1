import { describe, expect, it } from 'vitest';
import '../../../src/workloads/index.js';
import '../../../src/backends/providers/index.js';
import { allWorkloads } from '../../../src/workloads/registry.js';
import { allProviders } from '../../../src/backends/providers/index.js';
import { variantDeclaration, workloadDeclaration, workloadDeclarations } from '../../../src/core/declarations.js';
import { comparisonMode, thresholdFor } from '../../../src/stats/index.js';
import { categoryIndex, categoryTitle } from '../../../src/report/categories.js';
import { metricLookup } from '../../../src/capacity/profiles.js';
import { WORKLOAD_BINARIES, imageBinaries } from '../../../src/images/host-inputs.js';

describe('workload and provider declarations', () => {
  it('every registered workload is declared once, with its own title, in a distinct place', () => {
    const decls = workloadDeclarations();
    expect(decls.map((d) => d.name).sort()).toEqual(
      allWorkloads()
        .map((w) => w.name)
        .sort(),
    );
    expect(new Set(decls.map((d) => d.order)).size).toBe(decls.length);
    for (const w of allWorkloads()) expect(categoryTitle(w.name)).toBe(w.title);
  });

  it('stats read the comparison and threshold a workload declares, and the common defaults otherwise', () => {
    const ratio = workloadDeclarations().find(
      (d) => d.judgement.comparison === 'ratio' && d.judgement.thresholdPct !== undefined,
    )!;
    expect(thresholdFor('ratio', ratio.name, 'x')).toBe(ratio.judgement.thresholdPct);
    expect(thresholdFor('ratio', ratio.name, 'x', { [ratio.name]: 42 })).toBe(42);
    const diff = workloadDeclarations().find((d) => d.judgement.comparison === 'difference')!;
    expect(comparisonMode(diff.name, 'm', 'x', 100)).toBe('absolute');
    const [unit, t] = Object.entries(diff.judgement.thresholdByUnit ?? {})[0]!;
    expect(thresholdFor('absolute', diff.name, unit)).toBe(t);
    // A workload no module declares (a file from another version): common defaults, sorted last.
    expect(workloadDeclaration('no-such-workload')).toBeUndefined();
    expect(thresholdFor('ratio', 'no-such-workload', 'x')).toBe(5);
    expect(categoryIndex('no-such-workload')).toBe(workloadDeclarations().length);
    expect(categoryIndex('capacity')).toBeGreaterThan(categoryIndex('no-such-workload'));
  });

  it('capacity candidates come from the declarations, tier by tier', () => {
    for (const r of ['cpu', 'footprint', 'disk', 'network'] as const) {
      const l = metricLookup(r);
      expect(l.tiers.length, r).toBeGreaterThan(0);
      for (const tier of l.tiers)
        for (const c of tier)
          expect(workloadDeclaration(c.workload)?.capacity?.some((x) => x.resource === r)).toBe(true);
    }
  });

  it("providers declare their variants' caveats and helper processes; a machine prefix matches the prepared variant", () => {
    const withCaveat = ['runc', 'crun', 'runsc', 'docker', 'podman']
      .map(variantDeclaration)
      .filter((v) => v?.caveats?.length);
    expect(withCaveat.map((v) => v!.caveats![0]!.id)).toEqual(['o-direct-page-cache']);
    expect(variantDeclaration('q35-tcg')?.provider).toBe('vm');
    expect(variantDeclaration('q35-tcg')?.selfCheck).toBeTruthy();
    for (const v of ['docker', 'podman', 'q35-kvm']) {
      const outside = variantDeclaration(v)!.helpers!.filter((h) => h.placement === 'host');
      expect(outside.length, v).toBeGreaterThan(0);
      for (const h of outside) expect(h.leavesOut, `${v} ${h.comm}`).toBeTruthy();
    }
    expect(variantDeclaration('host')).toBeUndefined();
  });

  it('a caveat names only registered workloads (the one place a provider names a workload: docs/names.md)', () => {
    const workloads = allWorkloads().map((w) => w.name as string);
    const named = allProviders().flatMap((p) => (p.variants ?? []).flatMap((v) => v.caveats ?? []));
    expect(named.length).toBeGreaterThan(0);
    for (const c of named) for (const w of c.workloads ?? []) expect(workloads, c.id).toContain(w);
  });

  it('the workload image carries the common binaries and every program a workload runs inside the instance', () => {
    const named = (where: string) =>
      workloadDeclarations().flatMap((d) => (d.tools ?? []).filter((t) => t.where === where).map((t) => t.name));
    const declared = named('instance');
    const peer = named('peer');
    const bins = imageBinaries();
    for (const b of [...WORKLOAD_BINARIES, ...declared]) expect(bins).toContain(b);
    for (const p of peer) if (!declared.includes(p)) expect(bins).not.toContain(p);
    expect(new Set(bins).size).toBe(bins.length);
  });
});
