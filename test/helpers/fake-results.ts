/**
 * Deterministic fake RunResults for report and compare tests: backends
 * native, container:runc and vm:q35-tcg (accelerator tcg), cpu / memory /
 * disk / network / startup / footprint cells with values shaped like the
 * ones measured on this host (TCG cpu ~1/7 of native, VM start-up ~3.5 s,
 * QEMU PSS ~215 MiB, native footprint 0 MiB, a start-up stage only the VM
 * reports), NOISY warnings to group, a scenario instance spec for the
 * capacity section, and hostile strings (`<script>`) in host and scenario.
 *
 * Regenerate the recorded fixtures with:
 *   npx tsx test/helpers/fake-results.ts
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendResult, Cell, MetricResult, Overhead, RunResults, Summary } from '../../src/results/types.js';
import { mulberry32 } from '../../src/report/compare.js';
import { overhead, summarize } from '../../src/stats/index.js';

export const HOSTILE = '<script>alert(1)</script>';

interface MetricDef {
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** Median per backend label. */
  centre: Record<string, number>;
  /** Coefficient of variation of the noise. */
  cv: number;
  n?: number;
}

export const BACKEND_LABELS = ['native', 'container:runc', 'vm:q35-tcg'] as const;

export const METRICS: MetricDef[] = [
  { workload: 'cpu', metric: 'events_per_s', unit: 'events/s', higherIsBetter: true, centre: { native: 1210, 'container:runc': 1196, 'vm:q35-tcg': 172 }, cv: 0.015 },
  { workload: 'cpu', metric: 'latency_avg_ms', unit: 'ms', higherIsBetter: false, centre: { native: 0.83, 'container:runc': 0.84, 'vm:q35-tcg': 5.8 }, cv: 0.02 },
  { workload: 'memory', metric: 'bandwidth', unit: 'MiB/s', higherIsBetter: true, centre: { native: 9850, 'container:runc': 9790, 'vm:q35-tcg': 1420 }, cv: 0.01 },
  { workload: 'memory', metric: 'alloc_touch_ms', unit: 'ms', higherIsBetter: false, centre: { native: 41, 'container:runc': 44, 'vm:q35-tcg': 390 }, cv: 0.04 },
  { workload: 'disk', metric: 'seq_read', unit: 'MiB/s', higherIsBetter: true, centre: { native: 1830, 'container:runc': 1790, 'vm:q35-tcg': 410 }, cv: 0.08 },
  { workload: 'disk', metric: 'rand_read_iops', unit: 'IOPS', higherIsBetter: true, centre: { native: 61000, 'container:runc': 59500, 'vm:q35-tcg': 7400 }, cv: 0.1 },
  { workload: 'disk', metric: 'rand_read_latency_p99', unit: 'µs', higherIsBetter: false, centre: { native: 310, 'container:runc': 325, 'vm:q35-tcg': 2900 }, cv: 0.12 },
  { workload: 'network', metric: 'tcp_throughput', unit: 'Gbit/s', higherIsBetter: true, centre: { native: 38.5, 'container:runc': 36.9, 'vm:q35-tcg': 2.9 }, cv: 0.06 },
  { workload: 'network', metric: 'udp_latency', unit: 'µs', higherIsBetter: false, centre: { native: 14.2, 'container:runc': 16.8, 'vm:q35-tcg': 96 }, cv: 0.08 },
  { workload: 'startup', metric: 'ready-ms', unit: 'ms', higherIsBetter: false, centre: { native: 1.9, 'container:runc': 48, 'vm:q35-tcg': 3480 }, cv: 0.07, n: 10 },
  // A stage only the VM reports: shown in the table, not charted.
  { workload: 'startup', metric: 'stage-kernel-entry-ms', unit: 'ms', higherIsBetter: false, centre: { 'vm:q35-tcg': 1150 }, cv: 0.1, n: 10 },
  // An idle native process has no footprint (0 MiB): the report must show differences, not ratios.
  // cgroup-mib first, as the real workload declares it, so the headline has to pick pss-mib on purpose.
  { workload: 'footprint', metric: 'cgroup-mib', unit: 'MiB', higherIsBetter: false, centre: { native: 0.16, 'container:runc': 0.45, 'vm:q35-tcg': 234 }, cv: 0.02 },
  { workload: 'footprint', metric: 'pss-mib', unit: 'MiB', higherIsBetter: false, centre: { native: 0, 'container:runc': 0.93, 'vm:q35-tcg': 214 }, cv: 0.02 },
  { workload: 'footprint', metric: 'rss-mib', unit: 'MiB', higherIsBetter: false, centre: { native: 0, 'container:runc': 2.98, 'vm:q35-tcg': 226 }, cv: 0.02 },
];

/** Metric × backend rows the fixtures hold (a metric without a centre for a backend is not reported by it). */
export const METRIC_ROWS = METRICS.reduce((n, m) => n + Object.keys(m.centre).length, 0);

export interface FakeOptions {
  runId?: string;
  seed?: number;
  /** Multiply a metric's values (planted changes for compare tests). */
  scale?: (backend: string, workload: string, metric: string) => number;
  status?: RunResults['status'];
  statusReason?: string;
  /** Per backend: make one workload's cell fail. */
  failCell?: { backend: string; workload: string };
  repetitions?: number;
}

function gauss(rnd: () => number): number {
  const u = Math.max(rnd(), 1e-12);
  const v = rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The run's own summary (src/stats), so fixtures look like what a real run writes. */
export function summarizeValues(values: number[]): Summary {
  const s = summarize(values);
  if (!s) throw new Error('no values');
  return s;
}

/** The run's own overhead estimate (src/stats) as an Overhead record. */
export function overheadOf(backend: string, workload: string, native: MetricResult, other: MetricResult): Overhead | null {
  const o = overhead(native.values, other.values, native.higherIsBetter);
  if (!o) return null;
  return { backend, workload, metric: native.metric, unit: native.unit, higherIsBetter: native.higherIsBetter, ...o };
}

function backends(): BackendResult[] {
  return [
    { label: 'native', kind: 'native', variant: '', accelerator: 'native', acceleratorReason: 'baseline: the workload runs directly on the host', versions: {}, warnings: [], details: {} },
    {
      label: 'container:runc',
      kind: 'container',
      variant: 'runc',
      accelerator: 'runc',
      acceleratorReason: 'crun refuses the cgroup v1 hybrid layout; runc works',
      versions: { runc: '1.1.5' },
      warnings: [],
      details: { cgroup: 'v1' },
      limitsReadBack: { 'cpu.cfs_quota_us': 200000, 'memory.limit_in_bytes': 536870912 },
    },
    {
      label: 'vm:q35-tcg',
      kind: 'vm',
      variant: 'q35-tcg',
      accelerator: 'tcg',
      acceleratorReason: '/dev/kvm present but kvm_pvm without vmx/svm: a probe guest ran ~1000x slower than TCG',
      versions: { qemu: '7.2.19', kernel: '6.1.0-41-cloud-amd64' },
      warnings: ['Guest runs under TCG emulation: CPU figures are not representative of KVM.'],
      details: { machine: 'q35' },
    },
  ];
}

export function fakeResults(opts: FakeOptions = {}): RunResults {
  const runId = opts.runId ?? '20260101-120000-quick';
  const rnd = mulberry32(opts.seed ?? 1);
  const cells: Cell[] = [];
  const reps = opts.repetitions ?? 5;
  for (const label of BACKEND_LABELS) {
    const workloads = [...new Set(METRICS.map((m) => m.workload))];
    for (const workload of workloads) {
      const metrics: MetricResult[] = METRICS.filter((m) => m.workload === workload && m.centre[label] !== undefined).map((def) => {
        const n = def.n ?? reps;
        const scale = opts.scale?.(label, workload, def.metric) ?? 1;
        const centre = (def.centre[label] ?? 1) * scale;
        const values = Array.from({ length: n }, () => Math.max(centre * 0.01, centre * (1 + def.cv * gauss(rnd))));
        const dir = label.replace(/[^a-z0-9]+/gi, '-');
        return {
          metric: def.metric,
          unit: def.unit,
          higherIsBetter: def.higherIsBetter,
          values,
          repetitions: values.map((_, i) => i + 1),
          rawLogs: values.map((_, i) => `raw/${dir}/${workload}/rep${i + 1}.log`),
          summary: summarizeValues(values),
        };
      });
      if (opts.failCell && opts.failCell.backend === label && opts.failCell.workload === workload) {
        cells.push({ backend: label, workload, state: 'failed', stage: 'exec', error: `fio exited 1: ${HOSTILE}`, rawLog: `raw/${label.replace(/[^a-z0-9]+/gi, '-')}/${workload}/error.log`, metrics: [] });
      } else {
        cells.push({ backend: label, workload, state: 'complete', metrics });
      }
    }
  }
  const overheads: Overhead[] = [];
  for (const cell of cells.filter((c) => c.backend !== 'native')) {
    const nativeCell = cells.find((c) => c.backend === 'native' && c.workload === cell.workload);
    for (const m of cell.metrics) {
      const nm = nativeCell?.metrics.find((x) => x.metric === m.metric);
      const o = nm ? overheadOf(cell.backend, cell.workload, nm, m) : null;
      if (o) overheads.push(o);
    }
  }
  const status = opts.status ?? (opts.failCell ? 'partial' : 'complete');
  const results: RunResults = {
    schemaVersion: 1,
    tool: { name: 'isobench', version: '0.1.0' },
    runId,
    status,
    startedAt: '2026-01-01T12:00:00.000Z',
    endedAt: '2026-01-01T12:41:07.000Z',
    scenarioFile: 'scenarios/quick.yaml',
    scenario: { name: `quick ${HOSTILE}`, repetitions: reps, backends: ['native', 'container', 'vm'], description: 'Quick & dirty "smoke" <b>run</b>', instance: { vcpus: 2, memoryMiB: 512 } },
    host: {
      hostname: `bench-01 ${HOSTILE}`,
      cpuModel: 'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz',
      cpus: 2,
      memTotalBytes: 25769803776,
      kernel: '6.18.0-fc',
      os: 'Debian GNU/Linux 12 (bookworm)',
      virtualized: true,
      cgroup: { version: 'v1-hybrid', controllers: ['cpu', 'memory', 'cpuset', 'blkio', 'pids'] },
      kvm: { devicePresent: true, cpuFlag: null, modules: ['kvm_pvm'], hardware: false, summary: '/dev/kvm is kvm_pvm: no hardware virtualization' },
    },
    toolVersions: { qemu: '7.2.19', runc: '1.1.5', fio: '3.33', iperf3: '3.12', sysbench: '1.0.20', 'stress-ng': null },
    rootfsHash: 'sha256:3f2a9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f',
    backends: backends(),
    order: 'interleaved (rotating ABC, BCA, CAB)',
    cells,
    overheads,
    warnings: [
      { code: 'EMULATED_VM', message: 'vm:q35-tcg runs under TCG software emulation; VM figures do not describe hardware virtualization.', backend: 'vm:q35-tcg' },
      { code: 'NOISY_HOST', message: `Disk figures vary 10-20% run to run on this host ${HOSTILE}.`, workload: 'disk' },
      // One warning per noisy metric, as the runner writes them: the report groups them.
      ...['seq_read', 'rand_read_iops', 'rand_read_latency_p99', 'tcp_throughput', 'udp_latency'].map((metric, i) => ({
        code: 'NOISY',
        message: `native ${i < 3 ? 'disk' : 'network'} ${metric}: CV 1${i}.0% over ${reps} repetitions: too noisy for a fine-grained verdict; add repetitions`,
        backend: 'native',
        workload: i < 3 ? 'disk' : 'network',
      })),
    ],
  };
  if (opts.statusReason !== undefined) results.statusReason = opts.statusReason;
  else if (status !== 'complete') results.statusReason = 'vm:q35-tcg × disk failed';
  return results;
}

/** The recorded fixtures: run A, run B with planted changes, and a partial run. */
export function fixtureSet(): Record<string, RunResults> {
  const a = fakeResults({ runId: '20260101-120000-quick', seed: 1 });
  const b = fakeResults({
    runId: '20260108-120000-quick',
    seed: 2,
    scale: (backend, workload, metric) => {
      if (backend === 'container:runc' && workload === 'cpu' && metric === 'events_per_s') return 0.8; // planted 20% regression
      if (backend === 'native' && workload === 'memory' && metric === 'bandwidth') return 1.01; // 1%: within noise
      if (backend === 'vm:q35-tcg' && workload === 'startup' && metric === 'ready-ms') return 0.75; // 25% faster start-up: improved
      return 1;
    },
  });
  b.startedAt = '2026-01-08T12:00:00.000Z';
  b.endedAt = '2026-01-08T12:39:51.000Z';
  const partial = fakeResults({ runId: '20260109-090000-partial', seed: 3, failCell: { backend: 'vm:q35-tcg', workload: 'disk' } });
  return { 'run-a.json': a, 'run-b.json': b, 'partial.json': partial };
}

export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/results');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  for (const [name, r] of Object.entries(fixtureSet())) writeFileSync(path.join(FIXTURE_DIR, name), JSON.stringify(r, null, 2) + '\n');
  console.log(`wrote fixtures to ${FIXTURE_DIR}`);
}
