import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeResults, loadResults, resolveRunDir, sampleRows } from '../../src/results/io.js';
import { SCHEMA_VERSION, type RunResults } from '../../src/results/types.js';
import { computeOverheads } from '../../src/runner/run.js';

function sample(): RunResults {
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'isobench', version: '0.1.0' },
    runId: 'r1',
    status: 'complete',
    startedAt: '2026-11-25T10:00:00.000Z',
    endedAt: '2026-11-25T10:05:00.000Z',
    scenarioFile: 'scenarios/quick.yaml',
    scenario: { name: 'quick' },
    host: { cpuModel: 'x' },
    toolVersions: { sysbench: '1.0.20' },
    rootfsHash: 'abc',
    backends: [
      { label: 'native', kind: 'native', variant: 'host', accelerator: 'native', acceleratorReason: '', versions: {}, warnings: [], details: {} },
      { label: 'container:runc', kind: 'container', variant: 'runc', accelerator: 'runc', acceleratorReason: '', versions: {}, warnings: [], details: {} },
    ],
    order: 'interleaved',
    cells: [
      { backend: 'native', workload: 'cpu', state: 'complete', metrics: [{ metric: 'ev', unit: 'events/s', higherIsBetter: true, values: [100, 102, 98], repetitions: [1, 2, 3], rawLogs: ['raw/a', 'raw/b', 'raw/c'], summary: null }] },
      { backend: 'container:runc', workload: 'cpu', state: 'complete', metrics: [{ metric: 'ev', unit: 'events/s', higherIsBetter: true, values: [80, 81, 79], repetitions: [1, 2, 3], rawLogs: ['raw/d', 'raw/e', 'raw/f'], summary: null }] },
    ],
    overheads: [],
    differences: [],
    headline: [],
    warnings: [],
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ib-io-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('results round trip', () => {
  it('writes results.json and samples.jsonl atomically and reads them back', async () => {
    const r = sample();
    await writeResults(dir, r);
    expect(readdirSync(dir).sort()).toEqual(['results.json', 'samples.jsonl']);
    expect(await loadResults(dir)).toEqual(r);
    const rows = readFileSync(path.join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    expect(rows[3]).toEqual({ runId: 'r1', backend: 'container', variant: 'runc', workload: 'cpu', metric: 'ev', unit: 'events/s', higherIsBetter: true, repetition: 1, value: 80, rawLog: 'raw/d' });
    expect(sampleRows(r)).toHaveLength(6);
  });
  it('computes overheads vs native with CI and verdict', () => {
    const o = computeOverheads(sample().cells, sample().backends);
    expect(o).toHaveLength(1);
    expect(o[0]).toMatchObject({ backend: 'container:runc', metric: 'ev', verdict: 'overhead' });
    expect(o[0]!.overheadPct).toBeCloseTo(20, 6);
  });
});

describe('corrupt or foreign results files: one clear error, exit 2', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['truncated JSON', '{"schemaVersion": 1, "runId": ', /not valid JSON/],
    ['empty file', '', /not valid JSON/],
    ['future schema', JSON.stringify({ ...sample(), schemaVersion: 99 }), /schemaVersion 99 is not supported/],
    ['foreign JSON', JSON.stringify({ hello: 'world' }), /not an isobench results file/],
    ['wrong tool', JSON.stringify({ ...sample(), tool: { name: 'other', version: '1' } }), /not an isobench results file: tool\.name/],
    ['cells not a list', JSON.stringify({ ...sample(), cells: {} }), /not an isobench results file: cells/],
    ['value not a number', JSON.stringify({ ...sample(), cells: [{ ...sample().cells[0], metrics: [{ ...sample().cells[0]!.metrics[0], values: ['x'] }] }] }), /cells\.0\.metrics\.0\.values\.0/],
  ];
  for (const [name, text, re] of cases) {
    it(name, async () => {
      writeFileSync(path.join(dir, 'results.json'), text);
      const e = await loadResults(dir).catch((x: unknown) => x as { message: string; exitCode: number });
      expect((e as { exitCode: number }).exitCode).toBe(2);
      expect((e as { message: string }).message).toMatch(re);
      expect((e as { message: string }).message.split('\n')).toHaveLength(1);
    });
  }
  it('resolveRunDir accepts an id, a dir or a results.json path and refuses the rest', () => {
    mkdirSync(path.join(dir, 'run-a'));
    writeFileSync(path.join(dir, 'run-a', 'results.json'), '{}');
    expect(resolveRunDir('run-a', dir)).toBe(path.join(dir, 'run-a'));
    expect(resolveRunDir(path.join(dir, 'run-a', 'results.json'), '/nowhere')).toBe(path.join(dir, 'run-a'));
    expect(() => resolveRunDir('../../etc', dir)).toThrow(/no run/);
  });
});

describe('schemaVersion 1 files', () => {
  it('are read and upgraded: verdicts, differences and the headline recomputed from the measured values', async () => {
    const { differences: _d, headline: _h, ...v1 } = { ...sample(), schemaVersion: 1 };
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify(v1));
    const r = await loadResults(dir);
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(r.overheads[0]).toMatchObject({ backend: 'container:runc', metric: 'ev', verdict: 'overhead', thresholdPct: 3 });
    expect(r.headline.find((h) => h.category === 'cpu')!.entries[0]!.verdict).toBe('overhead');
    expect(r.cells[0]!.metrics[0]!.summary!.outlierMethod).toBe('dixon-q95');
  });
});

describe('overheads need two values a side', () => {
  it('a single repetition gives no overhead entry (no infinite CI in results.json)', () => {
    const r = sample();
    for (const c of r.cells) for (const m of c.metrics) m.values = m.values.slice(0, 1);
    expect(computeOverheads(r.cells, r.backends)).toEqual([]);
  });
});
