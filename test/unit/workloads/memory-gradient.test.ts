import { describe, expect, it } from 'vitest';
import { classifyStep, gradientArgv, gradientShape, memoryGradientParams, memoryGradientWorkload, stepMiB, summarizeGradient, throughputMetricName, type GradientStep } from '../../../src/workloads/memory-gradient.js';

const r = (o: Partial<{ code: number; timedOut: boolean; oomKilled: boolean; stdout: string; stderr: string }>) => ({ code: 0, timedOut: false, stdout: '', stderr: '', ...o });

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
    expect(gradientArgv(96, 2)).toEqual(expect.arrayContaining(['--threads=3', '--memory-block-size=32M', '--memory-scope=local', '--time=2']));
  });

  it('classifies how a step ended', () => {
    expect(classifyStep(r({}))).toBe('ok');
    expect(classifyStep(r({ code: 137, oomKilled: true }))).toBe('oom-killed');
    expect(classifyStep(r({ code: 137 }))).toBe('killed');
    expect(classifyStep(r({ code: -1, timedOut: true }))).toBe('timeout');
    expect(classifyStep(r({ code: 1, stderr: 'FATAL: Failed to allocate buffer!' }))).toBe('alloc-failed');
    expect(classifyStep(r({ code: 1, stderr: 'FATAL: Invalid value for memory-block-size' }))).toBe('error');
  });

  it('summarizes the curve: last ok step, first OOM, drop', () => {
    const st = (pct: number, outcome: GradientStep['outcome'], mibPerS?: number): GradientStep => ({ pct, mib: pct, outcome, ...(mibPerS ? { mibPerS } : {}), wallMs: 1, code: 0, rawLog: 'x' });
    expect(summarizeGradient([st(25, 'ok', 1000), st(50, 'ok', 900), st(100, 'oom-killed')])).toEqual({ lastOkPct: 50, oomAtPct: 100, ending: 'oom-killed', endingPct: 100, dropPct: 10 });
    expect(summarizeGradient([st(25, 'ok', 1000), st(50, 'alloc-failed')])).toMatchObject({ ending: 'alloc-failed', lastOkPct: 25 });
    expect(summarizeGradient([st(25, 'ok', 1000)])).toMatchObject({ ending: 'completed' });
  });

  it('params: steps from the declared set, ascending; every step has a declared metric', () => {
    const p = memoryGradientParams.parse({});
    for (const s of p.steps) expect(memoryGradientWorkload.metrics.some((m) => m.name === throughputMetricName(s))).toBe(true);
    expect(memoryGradientParams.safeParse({ steps: [33] }).success).toBe(false);
    expect(memoryGradientParams.safeParse({ steps: [50, 25] }).success).toBe(false);
  });
});
