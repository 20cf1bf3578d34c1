/**
 * A part the host could not run (extra.skippedParts) is shown as skipped with its
 * reason and fix: a note in the isolation section (one per part and reason, the
 * backends named) and a PART_SKIPPED warning per cell; the cell stays complete.
 */
import { describe, expect, it } from 'vitest';
import { skippedPartNotes } from '../../../src/report/isolation/index.js';
import { skippedPartWarnings } from '../../../src/stats/plausibility.js';
import type { Cell } from '../../../src/results/types.js';

const skip = {
  part: 'disk share and work-conserving check',
  metrics: ['disk-share-a-pct'],
  capability: 'disk-weights',
  reason: 'not on this host: weight-based disk shares (no BFQ)',
  fix: 'a kernel with BFQ',
};
const cell = (backend: string, extra: Record<string, unknown> | undefined): Cell =>
  ({ backend, workload: 'partition', state: 'complete', metrics: [], ...(extra ? { extra } : {}) }) as unknown as Cell;

describe('skipped parts in the report', () => {
  it('one note per part and reason, naming every backend that skipped it', () => {
    const cells = [
      cell('native', { skippedParts: [{ repetition: 1, data: skip }] }),
      cell('container:runc', {
        skippedParts: [
          { repetition: 1, data: skip },
          { repetition: 2, data: skip },
        ],
      }),
      cell('vm:q35-tcg', undefined),
    ];
    expect(skippedPartNotes(cells)).toEqual([
      'Skipped on this host: disk share and work-conserving check (native, container:runc): not on this host: weight-based disk shares (no BFQ). Fix: a kernel with BFQ.',
    ]);
  });

  it('one PART_SKIPPED warning per cell and part, with the fix', () => {
    const w = skippedPartWarnings([
      cell('native', {
        skippedParts: [
          { repetition: 1, data: skip },
          { repetition: 2, data: skip },
        ],
      }),
    ]);
    expect(w).toEqual([
      {
        code: 'PART_SKIPPED',
        backend: 'native',
        workload: 'partition',
        message:
          'native partition: disk share and work-conserving check skipped: not on this host: weight-based disk shares (no BFQ) (fix: a kernel with BFQ)',
      },
    ]);
  });

  it('records without a part are ignored, not shown as an empty skip', () => {
    expect(skippedPartNotes([cell('native', { skippedParts: [{ repetition: 1, data: { reason: 'x' } }] })])).toEqual(
      [],
    );
  });
});
