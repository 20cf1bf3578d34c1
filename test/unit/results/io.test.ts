import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  writeResults,
  loadResults,
  loadResultsWithSamples,
  loadResultsFile,
  resolveRunDir,
  sampleRows,
  assertRunId,
  readRegularFile,
} from '../../../src/results/io.js';
import { SCHEMA_VERSION, type RunResults } from '../../../src/results/types.js';
import { withComparisons } from '../../../src/report/derive.js';
import { computeOverheads } from '../../../src/runner/run.js';

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
      {
        label: 'native',
        kind: 'native',
        variant: 'host',
        accelerator: 'native',
        acceleratorReason: '',
        versions: {},
        warnings: [],
        details: {},
      },
      {
        label: 'container:runc',
        kind: 'container',
        variant: 'runc',
        accelerator: 'runc',
        acceleratorReason: '',
        versions: {},
        warnings: [],
        details: {},
      },
    ],
    order: 'interleaved',
    cells: [
      {
        backend: 'native',
        workload: 'cpu',
        state: 'complete',
        metrics: [
          {
            metric: 'ev',
            unit: 'events/s',
            higherIsBetter: true,
            values: [100, 102, 98],
            repetitions: [1, 2, 3],
            rawLogs: ['raw/a', 'raw/b', 'raw/c'],
            summary: null,
          },
        ],
      },
      {
        backend: 'container:runc',
        workload: 'cpu',
        state: 'complete',
        metrics: [
          {
            metric: 'ev',
            unit: 'events/s',
            higherIsBetter: true,
            values: [80, 81, 79],
            repetitions: [1, 2, 3],
            rawLogs: ['raw/d', 'raw/e', 'raw/f'],
            summary: null,
          },
        ],
      },
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
    expect(await loadResults(dir)).toEqual({
      ...r,
      samples: { file: 'samples.jsonl', rows: 6, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const rows = readFileSync(path.join(dir, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    expect(rows[3]).toEqual({
      runId: 'r1',
      backend: 'container',
      variant: 'runc',
      workload: 'cpu',
      metric: 'ev',
      unit: 'events/s',
      higherIsBetter: true,
      repetition: 1,
      value: 80,
      rawLog: 'raw/d',
    });
    expect(sampleRows(r)).toHaveLength(6);
  });
  it('computes overheads vs native with CI and verdict', () => {
    const o = computeOverheads(sample().cells, sample().backends);
    expect(o).toHaveLength(1);
    expect(o[0]).toMatchObject({
      backend: 'container:runc',
      metric: 'ev',
      verdict: 'overhead',
      design: 'paired',
      pairs: 3,
    });
    // Paired by round: exp(mean ln(b/n)) = (80/100 · 81/102 · 79/98)^(1/3), the geometric mean of the per-round ratios.
    const gm = Math.cbrt((80 / 100) * (81 / 102) * (79 / 98));
    expect(o[0]!.ratio).toBeCloseTo(gm, 12);
    expect(o[0]!.overheadPct).toBeCloseTo((1 - gm) * 100, 9);
  });
});

describe('corrupt or foreign results files: one clear error, exit 2', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['truncated JSON', '{"schemaVersion": 1, "runId": ', /not valid JSON/],
    ['empty file', '', /not valid JSON/],
    ['future schema', JSON.stringify({ ...sample(), schemaVersion: 99 }), /schemaVersion 99 is not supported/],
    ['foreign JSON', JSON.stringify({ hello: 'world' }), /not an isobench results file/],
    [
      'wrong tool',
      JSON.stringify({ ...sample(), tool: { name: 'other', version: '1' } }),
      /not an isobench results file: tool\.name/,
    ],
    ['cells not a list', JSON.stringify({ ...sample(), cells: {} }), /not an isobench results file: cells/],
    [
      'value not a number',
      JSON.stringify({
        ...sample(),
        cells: [{ ...sample().cells[0], metrics: [{ ...sample().cells[0]!.metrics[0], values: ['x'] }] }],
      }),
      /cells\.0\.metrics\.0\.values\.0/,
    ],
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
    expect(r.overheads[0]).toMatchObject({
      backend: 'container:runc',
      metric: 'ev',
      verdict: 'overhead',
      thresholdPct: 3,
    });
    // The headline is worded by the report layer (results/ does not import report/): empty from the loader, filled when rendered.
    expect(r.headline).toEqual([]);
    expect(withComparisons(r).headline.find((h) => h.category === 'cpu')!.entries[0]!.verdict).toBe('overhead');
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

describe('results and samples stay consistent', () => {
  it('results.json names the hash of the samples.jsonl written with it', async () => {
    const r = sample();
    await writeResults(dir, r);
    const saved = await loadResults(dir);
    const text = readFileSync(path.join(dir, 'samples.jsonl'), 'utf8');
    expect(saved.samples?.sha256).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('concurrent writes land in call order and a reader always gets a matching pair', async () => {
    const snapshots = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => {
      const r = sample();
      r.cells[0]!.metrics[0]!.values = Array.from({ length: n }, (_, i) => i);
      r.cells[0]!.metrics[0]!.repetitions = Array.from({ length: n }, (_, i) => i + 1);
      r.cells[0]!.metrics[0]!.rawLogs = Array.from({ length: n }, () => '');
      return r;
    });
    await writeResults(dir, sample());
    const writes = snapshots.map((r) => writeResults(dir, r));
    const reads: Array<Promise<{ results: RunResults; samples: string }>> = [];
    for (let i = 0; i < 8; i++) reads.push(loadResultsWithSamples(dir));
    await Promise.all(writes);
    for (const { results, samples } of await Promise.all(reads))
      expect(createHash('sha256').update(samples).digest('hex')).toBe(results.samples?.sha256);
    const last = await loadResults(dir);
    expect(last.cells[0]!.metrics[0]!.values).toHaveLength(8);
    // No temp files left.
    expect(readdirSync(dir).sort()).toEqual(['results.json', 'samples.jsonl']);
  });

  it('a samples.jsonl that does not match results.json is refused', async () => {
    await writeResults(dir, sample());
    writeFileSync(path.join(dir, 'samples.jsonl'), 'edited\n');
    await expect(loadResultsWithSamples(dir)).rejects.toThrow(/does not match/);
  }, 20_000);
});

describe('inputs that are not regular files', () => {
  it('a FIFO is refused at once (no hang)', async () => {
    const fifo = path.join(dir, 'results.json');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    await expect(loadResultsFile(fifo)).rejects.toThrow(/FIFO, not a regular file/);
    await expect(readRegularFile(fifo)).rejects.toThrow(/FIFO/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a directory or a device is refused', async () => {
    await expect(readRegularFile(dir)).rejects.toThrow(/directory/);
    await expect(readRegularFile('/dev/zero')).rejects.toThrow(/device/);
  });
});

describe('the run-id rule', () => {
  it('accepts plain names and refuses paths, dots, empty and long ids', () => {
    expect(assertRunId('quick-20261125-1000-ab12', 'x')).toBe('quick-20261125-1000-ab12');
    for (const bad of [
      '',
      '.',
      '..',
      '../x',
      'x/../../tmp/evil',
      'a/b',
      '-x',
      'x'.repeat(82),
      'x'.repeat(300),
      'a b',
      'a\0b',
    ])
      expect(() => assertRunId(bad, 'here'), bad).toThrow(/here: run id .* is not a plain name/);
    expect(() => assertRunId(42, 'here')).toThrow(/not a plain name/);
  });

  it('resolveRunDir does not join a crafted reference onto the results root', () => {
    mkdirSync(path.join(dir, 'results'), { recursive: true });
    expect(() => resolveRunDir('../../etc', path.join(dir, 'results'))).toThrow(/no run/);
    expect(() => resolveRunDir('x'.repeat(5000), path.join(dir, 'results'))).toThrow(/no run/);
  });
});
