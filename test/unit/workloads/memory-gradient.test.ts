import { describe, expect, it } from 'vitest';
import {
  classifyStep,
  controlMiBFor,
  controlMetricName,
  gradientArgv,
  gradientShape,
  gradientVerdict,
  memAvailableMiB,
  memoryGradientParams,
  memoryGradientWorkload,
  ratioMetricName,
  stepMiB,
  stepRatioPct,
  summarizeGradient,
  throughputMetricName,
  type GradientStep,
} from '../../../src/workloads/memory-gradient.js';

const r = (o: Partial<{ code: number; timedOut: boolean; oomKilled: boolean; stdout: string; stderr: string }>) => ({
  code: 0,
  timedOut: false,
  stdout: '',
  stderr: '',
  ...o,
});

describe('memory gradient', () => {
  it('splits a working set into power-of-two per-thread buffers (sysbench takes nothing else)', () => {
    expect(gradientShape(128)).toEqual({ threads: 1, blockMiB: 128, totalMiB: 128 });
    expect(gradientShape(96)).toEqual({ threads: 3, blockMiB: 32, totalMiB: 96 });
    expect(gradientShape(192)).toEqual({ threads: 3, blockMiB: 64, totalMiB: 192 });
    const odd = gradientShape(230);
    expect(odd.threads).toBeLessThanOrEqual(8);
    expect(Math.log2(odd.blockMiB) % 1).toBe(0);
    expect(Math.abs(odd.totalMiB - 230)).toBeLessThanOrEqual(odd.blockMiB / 2);
    expect(stepMiB(256, 150)).toBe(384);
    expect(gradientArgv(96, 2)).toEqual(
      expect.arrayContaining(['--threads=3', '--memory-block-size=32M', '--memory-scope=local', '--time=2']),
    );
  });

  it('classifies how a step ended', () => {
    expect(classifyStep(r({}))).toBe('ok');
    expect(classifyStep(r({ code: 137, oomKilled: true }))).toBe('oom-killed');
    expect(classifyStep(r({ code: 137 }))).toBe('killed');
    expect(classifyStep(r({ code: -1, timedOut: true }))).toBe('timeout');
    expect(classifyStep(r({ code: 1, stderr: 'FATAL: Failed to allocate buffer!' }))).toBe('alloc-failed');
    expect(classifyStep(r({ code: 1, stderr: 'FATAL: Invalid value for memory-block-size' }))).toBe('error');
  });

  it('summarizes the curve: last ok step, first OOM, lowest limited/control ratio, verdict', () => {
    const st = (pct: number, outcome: GradientStep['outcome'], mibPerS?: number, ratioPct?: number): GradientStep => ({
      pct,
      mib: pct,
      outcome,
      ...(mibPerS ? { mibPerS } : {}),
      ...(ratioPct !== undefined ? { ratioPct } : {}),
      wallMs: 1,
      code: 0,
      rawLog: 'x',
    });
    expect(summarizeGradient([st(25, 'ok', 1000, 99), st(50, 'ok', 900, 97), st(100, 'oom-killed')])).toEqual({
      lastOkPct: 50,
      oomAtPct: 100,
      ending: 'oom-killed',
      endingPct: 100,
      minRatioPct: 97,
      verdict: 'cliff',
    });
    expect(summarizeGradient([st(25, 'ok', 1000, 100), st(50, 'alloc-failed')])).toMatchObject({
      ending: 'alloc-failed',
      lastOkPct: 25,
      verdict: 'cliff',
    });
    expect(summarizeGradient([st(25, 'ok', 1000, 100)])).toMatchObject({
      ending: 'completed',
      verdict: 'no-limit-effect',
    });
  });

  it('the verdict follows from limited/control, not from the raw drop', () => {
    // Raw throughput fell 60% (bigger working set, more threads) but so did the control: a cliff.
    expect(
      gradientVerdict([{ outcome: 'ok', ratioPct: 101 }, { outcome: 'ok', ratioPct: 96 }, { outcome: 'oom-killed' }]),
    ).toBe('cliff');
    // The limited run fell behind its control before the end: a gradient.
    expect(
      gradientVerdict([{ outcome: 'ok', ratioPct: 100 }, { outcome: 'ok', ratioPct: 70 }, { outcome: 'oom-killed' }]),
    ).toBe('gradient');
    // A completed step without a control figure: no verdict.
    expect(gradientVerdict([{ outcome: 'ok' }, { outcome: 'oom-killed' }])).toBe('unknown');
    expect(stepRatioPct(450, 500)).toBeCloseTo(90);
    expect(stepRatioPct(undefined, 500)).toBeUndefined();
    expect(stepRatioPct(450, 0)).toBeUndefined();
  });

  it('control memory sits far above every working set; usable memory from /proc/meminfo', () => {
    expect(controlMiBFor(128, [25, 75, 100, 150])).toBe(2 * 192 + 256);
    expect(controlMiBFor(1024, [25, 50])).toBe(4096);
    expect(memoryGradientParams.safeParse({ limitMiB: 256, steps: [150], controlMiB: 128 }).success).toBe(false);
    expect(memAvailableMiB('MemTotal:         220000 kB\nMemFree:  1 kB\nMemAvailable:     102400 kB\n')).toBe(100);
    expect(memAvailableMiB('MemTotal: 1 kB\n')).toBeUndefined();
  });

  it('params: steps from the declared set, ascending; every step has a declared metric', () => {
    const p = memoryGradientParams.parse({});
    for (const s of p.steps)
      for (const name of [throughputMetricName(s), controlMetricName(s), ratioMetricName(s)])
        expect(memoryGradientWorkload.metrics.some((m) => m.name === name)).toBe(true);
    expect(memoryGradientParams.safeParse({ steps: [33] }).success).toBe(false);
    expect(memoryGradientParams.safeParse({ steps: [50, 25] }).success).toBe(false);
  });
});
