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
import {
  SCHEMA_VERSION,
  type BackendResult,
  type Cell,
  type MetricResult,
  type Overhead,
  type RunResults,
  type Summary,
} from '../../src/results/types.js';
import { mulberry32 } from '../../src/stats/random.js';
import { overhead, summarize } from '../../src/stats/index.js';
import { recomputeDerived } from '../../src/report/derive.js';

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
  /** Draw from a separate random stream (a metric added later must not shift the others' seeded values). */
  ownStream?: boolean;
}

export const BACKEND_LABELS = ['native', 'container:runc', 'vm:q35-tcg'] as const;

export const METRICS: MetricDef[] = [
  {
    workload: 'cpu',
    metric: 'events_per_s',
    unit: 'events/s',
    higherIsBetter: true,
    centre: { native: 1210, 'container:runc': 1196, 'vm:q35-tcg': 172 },
    cv: 0.015,
  },
  {
    workload: 'cpu',
    metric: 'latency_avg_ms',
    unit: 'ms',
    higherIsBetter: false,
    centre: { native: 0.83, 'container:runc': 0.84, 'vm:q35-tcg': 5.8 },
    cv: 0.02,
  },
  {
    workload: 'memory',
    metric: 'bandwidth',
    unit: 'MiB/s',
    higherIsBetter: true,
    centre: { native: 9850, 'container:runc': 9790, 'vm:q35-tcg': 1420 },
    cv: 0.01,
  },
  {
    workload: 'memory',
    metric: 'alloc_touch_ms',
    unit: 'ms',
    higherIsBetter: false,
    centre: { native: 41, 'container:runc': 44, 'vm:q35-tcg': 390 },
    cv: 0.04,
  },
  {
    workload: 'disk',
    metric: 'seq_read',
    unit: 'MiB/s',
    higherIsBetter: true,
    centre: { native: 1830, 'container:runc': 1790, 'vm:q35-tcg': 410 },
    cv: 0.08,
  },
  {
    workload: 'disk',
    metric: 'rand_read_iops',
    unit: 'IOPS',
    higherIsBetter: true,
    centre: { native: 61000, 'container:runc': 59500, 'vm:q35-tcg': 7400 },
    cv: 0.1,
  },
  {
    workload: 'disk',
    metric: 'rand_read_latency_p99',
    unit: 'µs',
    higherIsBetter: false,
    centre: { native: 310, 'container:runc': 325, 'vm:q35-tcg': 2900 },
    cv: 0.12,
  },
  {
    workload: 'network',
    metric: 'tcp_throughput',
    unit: 'Gbit/s',
    higherIsBetter: true,
    centre: { native: 38.5, 'container:runc': 36.9, 'vm:q35-tcg': 2.9 },
    cv: 0.06,
  },
  {
    workload: 'network',
    metric: 'udp_latency',
    unit: 'µs',
    higherIsBetter: false,
    centre: { native: 14.2, 'container:runc': 16.8, 'vm:q35-tcg': 96 },
    cv: 0.08,
  },
  {
    workload: 'startup',
    metric: 'ready-ms',
    unit: 'ms',
    higherIsBetter: false,
    centre: { native: 1.9, 'container:runc': 48, 'vm:q35-tcg': 3480 },
    cv: 0.07,
    n: 10,
  },
  // A stage only the VM reports: shown in the table, not charted.
  {
    workload: 'startup',
    metric: 'stage-kernel-entry-ms',
    unit: 'ms',
    higherIsBetter: false,
    centre: { 'vm:q35-tcg': 1150 },
    cv: 0.1,
    n: 10,
  },
  // An idle native process has no footprint (0 MiB): the report must show differences, not ratios.
  // cgroup-mib first, as the real workload declares it, so the headline has to pick pss-mib on purpose.
  {
    workload: 'footprint',
    metric: 'cgroup-mib',
    unit: 'MiB',
    higherIsBetter: false,
    centre: { native: 0.16, 'container:runc': 0.45, 'vm:q35-tcg': 234 },
    cv: 0.02,
  },
  {
    workload: 'footprint',
    metric: 'pss-mib',
    unit: 'MiB',
    higherIsBetter: false,
    centre: { native: 0, 'container:runc': 0.93, 'vm:q35-tcg': 214 },
    cv: 0.02,
  },
  {
    workload: 'footprint',
    metric: 'rss-mib',
    unit: 'MiB',
    higherIsBetter: false,
    centre: { native: 0, 'container:runc': 2.98, 'vm:q35-tcg': 226 },
    cv: 0.02,
  },
  // The device-reach check a real disk cell carries (src/workloads/disk.ts): reads reached the device.
  // Drawn from its own random stream, so the other metrics' seeded values stay as they were.
  {
    workload: 'disk',
    metric: 'device-read-bytes-per-fio-byte',
    unit: 'ratio',
    higherIsBetter: false,
    centre: { native: 1.1, 'container:runc': 1.12, 'vm:q35-tcg': 1.08 },
    cv: 0.02,
    ownStream: true,
  },
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
  /** Add partition, memory-gradient, density and noisy-neighbor cells with cell.extra of each shape. */
  isolation?: boolean;
}

/** A share series around `pct` (first point outside the counted window), as the partition workload records it. */
function shareSeries(pct: number, wobble: number): { tS: number; aPct: number; rates: number[]; counted: boolean }[] {
  return Array.from({ length: 8 }, (_, i) => {
    const a = i === 0 ? 50 : pct + (i % 2 ? wobble : -wobble);
    return { tS: 0.125 + i * 0.25, aPct: a, rates: [a / 100, 1 - a / 100], counted: i > 0 };
  });
}

function rateSeries(centre: number, wobble: number): { tS: number; rate: number; counted: boolean }[] {
  return Array.from({ length: 8 }, (_, i) => ({
    tS: 0.125 + i * 0.25,
    rate: centre + (i % 2 ? wobble : -wobble),
    counted: true,
  }));
}

/** cell.extra of each isolation workload for one backend (shapes as in a real run, scaled down). */
export function isolationExtras(label: string): Record<string, Record<string, unknown>> {
  const vm = label.startsWith('vm');
  const speed = vm ? 0.15 : label === 'native' ? 1 : 0.95;
  const pss = vm ? 230 : label === 'native' ? 0 : 0.9;
  return {
    partition: {
      'cpu-share': {
        mechanism: 'cpu.shares (cgroup v1)',
        targetPct: 80,
        weights: [1000, 250],
        cpu: 1,
        achievedPct: vm ? 79.4 : 80.1,
        meanCpus: [0.79, 0.2],
        countedSeconds: 1.75,
        series: shareSeries(vm ? 79.4 : 80.1, 0.6),
        rawLog: `raw/${label}/partition/cpu.log`,
      },
      'cpu-cap': {
        mechanism: 'cpu.cfs_quota_us/cpu.cfs_period_us',
        capPct: 50,
        achievedPct: 49.9,
        series: rateSeries(50, 5),
        seriesUnit: '% of a CPU',
        rawLog: 'x',
      },
      'disk-share': {
        mechanism: 'throttle',
        mechanismReason: `the disk scheduler is mq-deadline: weight files exist but would be ignored ${HOSTILE}`,
        device: '254:0',
        targetPct: 80,
        capsIops: [160, 40],
        achievedPct: 80,
        iops: [160, 40],
        series: shareSeries(80, 1),
        rawLog: 'x',
      },
      'disk-cap': {
        mechanism: 'blkio.throttle.read_iops_device',
        device: '254:0',
        capIops: 150,
        iops: 149.8,
        series: rateSeries(150, 30),
        seriesUnit: 'IOPS',
        rawLog: 'x',
      },
      'net-share': {
        mechanism: 'tc htb on the bench bridge (br0): link 200 Mbit/s, classes rate 160/40 Mbit/s, ceil 200',
        targetPct: 80,
        achievedPct: vm ? 79.1 : 80.05,
        iperfMbps: [154, 40],
        series: shareSeries(80, 0.5),
        seriesUnit: 'Mbit/s',
        rawLog: 'x',
      },
      'net-cap': {
        mechanism: "tc tbf on veth1 (A's bench-side link)",
        capMbit: 80,
        iperfMbps: 76.7,
        series: rateSeries(79, 1),
        seriesUnit: 'Mbit/s',
        rawLog: 'x',
      },
    },
    'memory-gradient': {
      'memory-gradient': {
        limitMiB: 128,
        instance: `${label}-10`,
        steps: vm
          ? [
              { pct: 25, mib: 32, outcome: 'ok', mibPerS: 2041, wallMs: 1694, code: 0, rawLog: 'x' },
              { pct: 75, mib: 96, outcome: 'oom-killed', wallMs: 1229, code: 137, rawLog: 'x' },
            ]
          : [
              { pct: 25, mib: 32, outcome: 'ok', mibPerS: 22400 * speed, wallMs: 1152, code: 0, rawLog: 'x' },
              { pct: 75, mib: 96, outcome: 'ok', mibPerS: 20600 * speed, wallMs: 1390, code: 0, rawLog: 'x' },
              { pct: 100, mib: 128, outcome: 'oom-killed', wallMs: 590, code: 137, rawLog: 'x' },
            ],
        lastOkPct: vm ? 25 : 75,
        oomAtPct: vm ? 75 : 100,
        ending: 'oom-killed',
        endingPct: vm ? 75 : 100,
      },
    },
    density: {
      density: {
        instanceMemoryMiB: 256,
        levelsPlanned: [1, 2, 3, 4],
        cap: 4,
        baselineMemAvailMiB: 23000,
        fit: {
          pss: { slope: pss, intercept: 0, n: 4, r2: 1, ci95: [pss - 1, pss + 1] },
          memAvail: { slope: pss + 2, intercept: 0, n: 4, r2: 1 },
        },
        budget: vm
          ? { budgetMiB: 768, reached: true, overBudgetAt: 4, instancesInBudget: 3, projected: 3 }
          : { budgetMiB: 768, reached: false, projected: Math.floor(768 / pss) },
        levels: [1, 2, 3, 4].map((n) => ({
          instances: n,
          memAvailMiB: 23000 - n * (pss + 2),
          pssSumMiB: n * pss,
          rssSumMiB: n * pss * 1.05,
          cgroupSumMiB: n * pss * 0.97,
          readyMs: [100],
          meanReadyMs: 100,
        })),
        starts: [],
        stopped: vm
          ? { reason: 'budget', detail: 'summed PSS 900 MiB of 4 instances exceeds the 768 MiB budget' }
          : {
              reason: 'cap',
              detail: "stopped at cap 4 (the scenario's maxInstances 4): the 768 MiB budget was not reached",
            },
        ksm: {
          atStart: { run: 0, pagesSharing: 1024, pagesShared: 100, pagesToScan: 100, fullScans: 3, pagesScanned: 1000 },
        },
      },
    },
    'noisy-neighbor': Object.fromEntries(
      (
        [
          ['cpu', 'events/s', 3800, 0.52],
          ['memory', 'MiB/s', 35000, 0.55],
          ['disk', 'IOPS', 14000, vm ? 0.7 : 0.1],
          ['network', 'Mbit/s', 13000, 0.4],
        ] as const
      ).map(([kind, unit, alone, loss]) => [
        `neighbor-${kind}`,
        {
          unit,
          alone: alone * speed,
          withNeighbor: alone * speed * (1 - loss),
          degradationPct: loss * 100,
          keptPctUnrestrained: (1 - loss) * 100,
          // Each mechanism keeps part of what the unrestrained neighbour took.
          mechanisms: Object.fromEntries(
            {
              cpu: ['cpu-weight', 'cpu-cap'],
              memory: ['cpu-cap'],
              disk: ['io-weight', 'io-throttle'],
              network: ['tc'],
            }[kind].map((m, i) => [
              m,
              {
                value: alone * speed * (1 - loss / (i + 2)),
                keptPct: 100 * (1 - loss / (i + 2)),
                setting: `${m} setting`,
              },
            ]),
          ),
          ...(kind === 'memory'
            ? { ownMechanism: 'none: cgroups, runc and QEMU have no memory-bandwidth control' }
            : {}),
          order: 'alone → unrestrained',
          cpus: [1],
        },
      ]),
    ),
  };
}

/** The isolation cells of one backend: one headline-free metric each, and the extra. */
function isolationCells(label: string): Cell[] {
  const ex = isolationExtras(label);
  const one = (metric: string, unit: string, value: number): MetricResult => ({
    metric,
    unit,
    higherIsBetter: true,
    values: [value],
    repetitions: [1],
    rawLogs: ['raw/x.log'],
    summary: summarizeValues([value]),
  });
  const wrap = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [{ repetition: 1, data: v }]]));
  return [
    {
      backend: label,
      workload: 'density',
      state: 'complete',
      metrics: [one('marginal-pss-mib', 'MiB', 2)],
      extra: wrap(ex.density ?? {}),
    },
    {
      backend: label,
      workload: 'partition',
      state: 'complete',
      metrics: [one('cpu-share-a-pct', '%', 80)],
      extra: wrap(ex.partition ?? {}),
    },
    {
      backend: label,
      workload: 'memory-gradient',
      state: 'complete',
      metrics: [one('last-ok-pct', '% of limit', label.startsWith('vm') ? 25 : 75)],
      extra: wrap(ex['memory-gradient'] ?? {}),
    },
    {
      backend: label,
      workload: 'noisy-neighbor',
      state: 'complete',
      metrics: [one('cpu-degradation-pct', '%', 52)],
      extra: wrap(ex['noisy-neighbor'] ?? {}),
    },
  ];
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
export function overheadOf(
  backend: string,
  workload: string,
  native: MetricResult,
  other: MetricResult,
): Overhead | null {
  const o = overhead(native.values, other.values, native.higherIsBetter);
  if (!o) return null;
  return { backend, workload, metric: native.metric, unit: native.unit, higherIsBetter: native.higherIsBetter, ...o };
}

function backends(): BackendResult[] {
  return [
    {
      label: 'native',
      kind: 'native',
      variant: '',
      accelerator: 'native',
      acceleratorReason: 'baseline: the workload runs directly on the host',
      versions: {},
      warnings: [],
      details: {},
    },
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
  const ownRnd = mulberry32((opts.seed ?? 1) + 7919);
  const cells: Cell[] = [];
  const reps = opts.repetitions ?? 5;
  for (const label of BACKEND_LABELS) {
    const workloads = [...new Set(METRICS.map((m) => m.workload))];
    for (const workload of workloads) {
      const metrics: MetricResult[] = METRICS.filter(
        (m) => m.workload === workload && m.centre[label] !== undefined,
      ).map((def) => {
        const n = def.n ?? reps;
        const scale = opts.scale?.(label, workload, def.metric) ?? 1;
        const centre = (def.centre[label] ?? 1) * scale;
        const r = def.ownStream ? ownRnd : rnd;
        const values = Array.from({ length: n }, () => Math.max(centre * 0.01, centre * (1 + def.cv * gauss(r))));
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
        cells.push({
          backend: label,
          workload,
          state: 'failed',
          stage: 'exec',
          error: `fio exited 1: ${HOSTILE}`,
          rawLog: `raw/${label.replace(/[^a-z0-9]+/gi, '-')}/${workload}/error.log`,
          metrics: [],
        });
      } else {
        cells.push({ backend: label, workload, state: 'complete', metrics });
      }
    }
    if (opts.isolation) cells.push(...isolationCells(label));
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
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'isobench', version: '0.1.0' },
    runId,
    status,
    startedAt: '2026-01-01T12:00:00.000Z',
    endedAt: '2026-01-01T12:41:07.000Z',
    scenarioFile: 'scenarios/quick.yaml',
    scenario: {
      name: `quick ${HOSTILE}`,
      repetitions: reps,
      backends: ['native', 'container', 'vm'],
      description: 'Quick & dirty "smoke" <b>run</b>',
      instance: { vcpus: 2, memoryMiB: 512 },
    },
    host: {
      hostname: `bench-01 ${HOSTILE}`,
      cpuModel: 'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz',
      cpus: 2,
      memTotalBytes: 25769803776,
      kernel: '6.18.0-fc',
      os: 'Debian GNU/Linux 12 (bookworm)',
      virtualized: true,
      cgroup: { version: 'v1-hybrid', controllers: ['cpu', 'memory', 'cpuset', 'blkio', 'pids'] },
      kvm: {
        devicePresent: true,
        cpuFlag: null,
        modules: ['kvm_pvm'],
        hardware: false,
        summary: '/dev/kvm is kvm_pvm: no hardware virtualization',
      },
    },
    toolVersions: { qemu: '7.2.19', runc: '1.1.5', fio: '3.33', iperf3: '3.12', sysbench: '1.0.20', 'stress-ng': null },
    rootfsHash: 'sha256:3f2a9c1e7b4d5a6f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f',
    backends: backends(),
    order: 'interleaved (rotating ABC, BCA, CAB)',
    cells,
    overheads,
    differences: [],
    headline: [],
    warnings: [
      {
        code: 'EMULATED_VM',
        message: 'vm:q35-tcg runs under TCG software emulation; VM figures do not describe hardware virtualization.',
        backend: 'vm:q35-tcg',
      },
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
  // Verdicts, differences and the headline as the runner computes them.
  return recomputeDerived(results);
}

/** The recorded fixtures: run A, run B with planted changes, and a partial run. */
export function fixtureSet(): Record<string, RunResults> {
  const a = fakeResults({ runId: '20260101-120000-quick', seed: 1 });
  const b = fakeResults({
    runId: '20260108-120000-quick',
    seed: 2,
    scale: (backend, workload, metric) => {
      if (backend === 'container:runc' && workload === 'cpu' && metric === 'events_per_s') return 0.8; // planted 20% regression
      if (backend === 'native' && workload === 'memory' && metric === 'bandwidth') return 1.01; // 1%: below the 3% memory threshold
      if (backend === 'vm:q35-tcg' && workload === 'startup' && metric === 'ready-ms') return 0.75; // 25% faster start-up: improved
      return 1;
    },
  });
  b.startedAt = '2026-01-08T12:00:00.000Z';
  b.endedAt = '2026-01-08T12:39:51.000Z';
  const partial = fakeResults({
    runId: '20260109-090000-partial',
    seed: 3,
    failCell: { backend: 'vm:q35-tcg', workload: 'disk' },
  });
  const isolation = fakeResults({ runId: '20260110-090000-isolation', seed: 4, isolation: true });
  return { 'run-a.json': a, 'run-b.json': b, 'partial.json': partial, 'isolation.json': isolation };
}

export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/results');

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  for (const [name, r] of Object.entries(fixtureSet()))
    writeFileSync(path.join(FIXTURE_DIR, name), JSON.stringify(r, null, 2) + '\n');
  console.log(`wrote fixtures to ${FIXTURE_DIR}`);
}
