/**
 * The start-up category states its one definition and shows, per backend, how
 * the payload signalled and the stages on their own (from cell.extra.startup);
 * startup-ms is the headline figure when a run has it.
 */
import { describe, expect, it } from 'vitest';
import { STARTUP_DEFINITION } from '../../../src/backends/types.js';
import { buildModel } from '../../../src/report/model.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import type { RunResults } from '../../../src/results/types.js';
import { fakeResults } from '../../helpers/fake-results.js';

function withStartupExtra(r: RunResults): RunResults {
  const stages = (launch: number, net: number | undefined) => ({
    prepareMs: 12,
    ...(net !== undefined ? { networkAttachMs: net } : {}),
    launchToPayloadMs: launch,
    payloadToFirstExecMs: 60,
    readyMs: 12 + launch + 60,
  });
  return {
    ...r,
    cells: r.cells.map((c) =>
      c.workload !== 'startup'
        ? c
        : {
            ...c,
            extra: {
              startup: [1, 2].map((repetition) => ({
                repetition,
                data: {
                  definition: STARTUP_DEFINITION,
                  signal: `${c.backend} marker`,
                  starts: [
                    { start: 1, startupMs: 40 + repetition, stages: stages(40 + repetition, 28) },
                    { start: 2, startupMs: 50, stages: stages(50, 30) },
                  ],
                },
              })),
            },
          },
    ),
  };
}

describe('start-up view', () => {
  const r = withStartupExtra(fakeResults());
  const cat = buildModel(r).categories.find((c) => c.id === 'startup')!;

  it('states the definition and shows the stages per backend, medians over every start', () => {
    const v = cat.isolation!;
    expect(v.kind).toBe('startup');
    expect(v.lead).toContain(STARTUP_DEFINITION);
    const t = v.tables[0]!;
    expect(t.head[1]).toMatch(/launch to payload signal/);
    const native = t.rows.find((x) => x.backend === 'native')!;
    // starts 41, 50, 42, 50 -> median 46; attachment 28, 30, 28, 30 -> 29
    expect(native.cells.slice(0, 4)).toEqual(['native', '46 ms', '12 ms', '29 ms']);
    expect(native.cells[6]).toBe('4');
    // How each payload signalled: a note per backend under the table (a column made it too wide).
    expect(native.cells).toHaveLength(7);
    expect(v.notes).toContain('How the payload signalled, native: native marker');
  });

  it('is rendered in the markdown report', () => {
    const md = renderMarkdown(r);
    expect(md).toContain('One start-up definition for every backend');
    expect(md).toMatch(/Start-up: launch to payload signal/);
  });
});
