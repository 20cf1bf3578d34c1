/**
 * Container engines in the capacity model: the daemon's memory is a per-host fixed cost (taken from the usable
 * memory once), the per-container helper is inside the footprint and named in the RuntimeClass notes.
 */
import { describe, expect, it } from 'vitest';
import { planCapacity } from '../../../src/capacity/index.js';
import type { RunResults } from '../../../src/results/types.js';
import { capacityFixture } from '../../helpers/capacity-fixture.js';
import { summarizeValues } from '../../helpers/fake-results.js';

const MiB = 2 ** 20;

/** The fixture plus container:docker: runc's figures, a 80 MiB daemon and a helper of half the footprint. */
function withDocker(): RunResults {
  const r = structuredClone(capacityFixture());
  const runc = r.backends.find((b) => b.label === 'container:runc')!;
  r.backends.push({
    ...runc,
    label: 'container:docker',
    variant: 'docker',
    details: { engineDaemon: { pssBytes: 80 * MiB, rssBytes: 90 * MiB, processes: 2 } },
  });
  for (const c of r.cells.filter((c) => c.backend === 'container:runc')) {
    const copy = structuredClone(c);
    copy.backend = 'container:docker';
    if (copy.workload === 'footprint') {
      const pss = copy.metrics.find((m) => m.metric === 'pss-mib')!;
      const values = pss.values.map((v) => v / 2);
      copy.metrics.push({ ...pss, metric: 'helper-pss-mib', values, summary: summarizeValues(values) });
    }
    r.cells.push(copy);
  }
  r.overheads.push(
    ...r.overheads.filter((o) => o.backend === 'container:runc').map((o) => ({ ...o, backend: 'container:docker' })),
  );
  return r;
}

describe('capacity: container engines', () => {
  const host = { cores: 64, memoryGiB: 256, name: 't', source: 'test' };
  const plan = planCapacity(withDocker(), { host, instance: { vcpus: 1, memoryMiB: 4096 } });
  const runc = plan.backends.find((b) => b.label === 'container:runc')!;
  const docker = plan.backends.find((b) => b.label === 'container:docker')!;

  it('takes the daemon memory off the usable memory once, with its source', () => {
    expect(runc.resources.memory.usable).toBeCloseTo(251658.24, 6);
    expect(docker.resources.memory.usable).toBeCloseTo(251658.24 - 80, 6);
    expect(docker.resources.memory.fit?.value).toBe(Math.floor((251658.24 - 80) / docker.resources.memory.cost!.value));
    const srcs = docker.resources.memory.fit!.sources.map((id) => plan.sources[id]!);
    expect(srcs.some((s) => s.kind === 'measured' && s.workload === 'engine-daemon' && s.value === 80)).toBe(true);
  });

  it('the RuntimeClass is runc, its podFixed includes the helper and says the daemon is per node', () => {
    const rc = plan.runtimeClasses.find((x) => x.backend === 'container:docker')!;
    expect(rc).toMatchObject({ handler: 'runc', handlerIsGuess: false });
    expect(rc.memoryMi).toBe(plan.runtimeClasses.find((x) => x.backend === 'container:runc')!.memoryMi);
    expect(rc.notes.join('\n')).toMatch(/per-container helper \(5\.0 MiB PSS\)/);
    expect(rc.notes.join('\n')).toMatch(/80\.0 MiB is per node.*system-reserved/);
  });
});
