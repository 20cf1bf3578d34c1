import { describe, expect, it } from 'vitest';
import { startupMeasure } from '../../../src/runner/lifecycle.js';
import { STARTUP_DEFINITION } from '../../../src/backends/types.js';

describe('startupMeasure (the one start-up definition)', () => {
  it('is launch to payload signal; preparation, network attachment and the first exec are stages of their own', () => {
    const m = startupMeasure({ launchedMs: 30, payloadReadyMs: 90, networkAttachMs: 25, signal: 's' }, 150);
    expect(m).toEqual({
      definition: STARTUP_DEFINITION,
      startupMs: 60,
      stages: { prepareMs: 30, networkAttachMs: 25, launchToPayloadMs: 60, payloadToFirstExecMs: 60, readyMs: 150 },
      signal: 's',
    });
  });

  it('leaves network attachment out when there is none, and never folds it into the figure', () => {
    const a = startupMeasure({ launchedMs: 5, payloadReadyMs: 65, signal: 's' }, 70);
    const b = startupMeasure({ launchedMs: 33, payloadReadyMs: 93, networkAttachMs: 28, signal: 's' }, 98);
    expect(a.stages).not.toHaveProperty('networkAttachMs');
    expect(a.startupMs).toBe(b.startupMs);
  });

  it('refuses end points out of order or missing', () => {
    expect(() => startupMeasure({ launchedMs: 50, payloadReadyMs: 40, signal: 's' }, 60)).toThrow(/out of order/);
    expect(() => startupMeasure({ launchedMs: 10, payloadReadyMs: 40, signal: 's' }, 30)).toThrow(/out of order/);
    expect(() => startupMeasure({ launchedMs: Number.NaN, payloadReadyMs: 40, signal: 's' }, 60)).toThrow(
      /out of order/,
    );
    expect(() => startupMeasure({ launchedMs: 10, payloadReadyMs: 40, networkAttachMs: 20, signal: 's' }, 60)).toThrow(
      /before launch/,
    );
  });
});
