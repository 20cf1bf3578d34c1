/**
 * The run path for real on the native backend: scenario -> cgroup-pinned
 * processes -> parsed samples -> results.json, samples.jsonl, raw logs.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, rmSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench, ROOT } from '../helpers/cli.js';
import type { RunResults, SampleRow } from '../../src/results/types.js';

let resultsRoot: string;
let reportsRoot: string;
let runDir: string;
let results: RunResults;
let stdout: string;
let code: number;

beforeAll(async () => {
  resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-results-'));
  reportsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-reports-'));
  const r = await isobench(['run', 'test/fixtures/scenarios/native-short.yaml', '--run-id', 'native-it'], {
    ISOBENCH_RESULTS: resultsRoot,
    ISOBENCH_REPORTS: reportsRoot,
  });
  stdout = r.stdout;
  code = r.code;
  if (code !== 0) console.error(r.stderr);
  runDir = path.join(resultsRoot, 'native-it');
  results = JSON.parse(readFileSync(path.join(runDir, 'results.json'), 'utf8')) as RunResults;
});

afterAll(() => {
  rmSync(resultsRoot, { recursive: true, force: true });
  rmSync(reportsRoot, { recursive: true, force: true });
});

describe('native run, for real', () => {
  it('exits 0 and prints the run directory as its last line', () => {
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').pop()).toBe(runDir);
  });
  it('writes a complete results.json with host facts, versions and accelerator', () => {
    expect(results.schemaVersion).toBe(2);
    expect(results.status).toBe('complete');
    expect(results.endedAt).not.toBeNull();
    expect(results.backends).toEqual([
      expect.objectContaining({ label: 'native', kind: 'native', accelerator: 'native' }),
    ]);
    expect(results.host).toMatchObject({ cpuCores: os.cpus().length });
    expect(results.toolVersions.sysbench).toMatch(/^1\./);
    expect((results.scenario as { name: string }).name).toBe('native-short');
    expect(results.order).toMatch(/interleaved/);
  });
  it('keeps every repetition value with its summary, and warm-ups out', () => {
    const cpu = results.cells.find((c) => c.workload === 'cpu' && c.backend === 'native');
    expect(cpu?.state).toBe('complete');
    const m = cpu!.metrics.find((x) => x.metric === 'sysbench-events-1t')!;
    expect(m.values).toHaveLength(2);
    expect(m.repetitions).toEqual([1, 2]);
    expect(m.higherIsBetter).toBe(true);
    expect(m.values.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(m.summary?.n).toBe(2);
    expect(m.summary!.ci95[0]).toBeLessThanOrEqual(m.summary!.mean);
  });
  it("gives each value its round (one per probe) and its tool invocation's span, and records the duty cycle", () => {
    const cpu = results.cells.find((c) => c.workload === 'cpu')!;
    const m = cpu.metrics.find((x) => x.metric === 'sysbench-events-1t')!;
    expect(m.rounds).toEqual(['cpu:1:sysbench-1t', 'cpu:2:sysbench-1t']);
    m.starts!.forEach((start, i) => {
      const ms = Date.parse(m.ends![i]!) - Date.parse(start);
      // sysbench --time=1: the invocation lasts about a second (the exec's own start-up on top).
      expect(ms).toBeGreaterThan(900);
      expect(ms).toBeLessThan(30_000);
    });
    const d = results.dutyCycle!['cpu']!;
    // The scenario's one cpu probe (probes: [sysbench-1t]) in 1 warm-up and 2 measured repetitions.
    expect(d.rounds).toBe(3);
    expect(d.warmupMs).toBeGreaterThan(900);
    expect(d.measuringMs).toBeGreaterThan(0);
    expect(d.share).toBeGreaterThan(0);
    expect(d.share).toBeLessThanOrEqual(1);
  });
  it('links each value to its raw log, which holds the tool output', () => {
    const m = results.cells.find((c) => c.workload === 'cpu')!.metrics[0]!;
    for (const rel of m.rawLogs) {
      expect(rel).toMatch(/^raw\//);
      expect(readFileSync(path.join(runDir, rel), 'utf8')).toMatch(/events per second|bogo/);
    }
    const warmups = readdirSync(path.join(runDir, 'raw', 'native', 'cpu')).filter((f) => f.includes('warmup'));
    expect(warmups.length).toBeGreaterThan(0);
  });
  it('samples.jsonl has one flat row per value with the contract fields', () => {
    const rows = readFileSync(path.join(runDir, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SampleRow);
    const total = results.cells.flatMap((c) => c.metrics).reduce((n, m) => n + m.values.length, 0);
    expect(rows).toHaveLength(total);
    for (const k of [
      'runId',
      'backend',
      'workload',
      'metric',
      'unit',
      'higherIsBetter',
      'repetition',
      'value',
      'variant',
    ])
      expect(rows[0]).toHaveProperty(k);
    expect(rows[0]!.backend).toBe('native');
  });
  it('writes the report (Markdown at least) and leaves no cgroup behind', () => {
    expect(existsSync(path.join(reportsRoot, 'native-it', 'summary.md'))).toBe(true);
    for (const ctl of ['cpu', 'memory', 'cpuset']) {
      const dir = `/sys/fs/cgroup/${ctl}/isobench`;
      const kids = existsSync(dir)
        ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name.includes('-n-'))
        : [];
      expect(kids).toEqual([]);
    }
  });
  it('the same run id twice is refused (exit 2), nothing overwritten', async () => {
    const before = readFileSync(path.join(runDir, 'results.json'), 'utf8');
    const r = await isobench(
      ['run', 'test/fixtures/scenarios/native-short.yaml', '--run-id', 'native-it', '--no-report'],
      { ISOBENCH_RESULTS: resultsRoot },
    );
    expect(r.code).toBe(2);
    expect(readFileSync(path.join(runDir, 'results.json'), 'utf8')).toBe(before);
  });
});
void ROOT;
