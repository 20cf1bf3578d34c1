/**
 * Deterministic RunResults for the capacity tests. Numbers are chosen so the
 * hand-worked examples in test/unit/capacity/model.test.ts come out exact:
 *
 *   cpu/sysbench-events-nt   ratio (CI)             k = 1/ratio
 *     container:runc          0.99 (0.97–1.01)       1.0101 (1–1.0309)
 *     vm:q35-kvm              0.95 (0.92–0.98)       1.0526 (1.0204–1.0870)
 *     vm:q35-tcg (tcg: true)  0.14 (0.13–0.15)
 *   footprint/pss-mib        mean (t CI)            F = PSS_b − PSS_native (Welch CI of the difference)
 *     native                  2 (1.8–2.2)
 *     container:runc          10 (9–11)             8 (6.8–9.2)
 *     vm                      202 (190–214)         200 (187.8–212.2)
 *   disk/randread-iops       container 0.97 (0.93–1.01), vm 0.85 (0.80–0.90)
 *   disk/randwrite-iops      container 0.98 (0.95–1.00), vm 0.80 (0.75–0.86)
 *   network/tcp-mbps-up      container 0.95 (0.90–1.00), vm 0.60 (0.55–0.65)
 *   network/tcp-mbps-down    container 0.97 (0.93–1.01), vm 0.70 (0.66–0.74)
 * Decoys that must NOT be used: cpu/sysbench-events-1t (different ratios),
 * footprint/rss-mib (bigger than PSS).
 */
import type { BackendResult, Cell, MetricResult, Overhead, RunResults, Summary } from '../../src/results/types.js';

export interface CapacityFixtureOptions {
  runId?: string;
  /** VM accelerator: 'kvm' (default) or 'tcg' (then CPU ratio 0.14). */
  vmAccelerator?: 'kvm' | 'tcg';
  /** Include results.overheads (default true). Without them the model derives ratios from cell summaries. */
  withOverheads?: boolean;
  /** Workloads to leave out entirely, e.g. ['disk']. */
  omitWorkloads?: string[];
  /** Metrics to leave out, as "workload/metric". */
  omitMetrics?: string[];
  status?: RunResults['status'];
}

interface MetricSpec {
  workload: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** Native median and CI (for ratio metrics the backend values are native × ratio). */
  native: { median: number; ci: [number, number] };
  /** Per backend kind: ratio + CI for ratio metrics, or absolute median + CI for footprint metrics. */
  container: { value: number; ci: [number, number] };
  vm: { value: number; ci: [number, number] };
  vmTcg?: { value: number; ci: [number, number] };
  /** 'ratio': values are ratios to native; 'absolute': values are medians. */
  mode: 'ratio' | 'absolute';
}

const METRICS: MetricSpec[] = [
  {
    workload: 'cpu',
    metric: 'sysbench-events-nt',
    unit: 'events/s',
    higherIsBetter: true,
    mode: 'ratio',
    native: { median: 1000, ci: [990, 1010] },
    container: { value: 0.99, ci: [0.97, 1.01] },
    vm: { value: 0.95, ci: [0.92, 0.98] },
    vmTcg: { value: 0.14, ci: [0.13, 0.15] },
  },
  {
    workload: 'cpu',
    metric: 'sysbench-events-1t',
    unit: 'events/s',
    higherIsBetter: true,
    mode: 'ratio',
    native: { median: 500, ci: [495, 505] },
    container: { value: 0.5, ci: [0.45, 0.55] },
    vm: { value: 0.5, ci: [0.45, 0.55] },
    vmTcg: { value: 0.1, ci: [0.09, 0.11] },
  },
  {
    workload: 'footprint',
    metric: 'pss-mib',
    unit: 'MiB',
    higherIsBetter: false,
    mode: 'absolute',
    native: { median: 2, ci: [1.8, 2.2] },
    container: { value: 10, ci: [9, 11] },
    vm: { value: 202, ci: [190, 214] },
  },
  {
    workload: 'footprint',
    metric: 'rss-mib',
    unit: 'MiB',
    higherIsBetter: false,
    mode: 'absolute',
    native: { median: 5, ci: [4, 6] },
    container: { value: 30, ci: [28, 32] },
    vm: { value: 230, ci: [220, 240] },
  },
  {
    workload: 'disk',
    metric: 'randread-iops',
    unit: 'IOPS',
    higherIsBetter: true,
    mode: 'ratio',
    native: { median: 50000, ci: [48000, 52000] },
    container: { value: 0.97, ci: [0.93, 1.01] },
    vm: { value: 0.85, ci: [0.8, 0.9] },
  },
  {
    workload: 'disk',
    metric: 'randwrite-iops',
    unit: 'IOPS',
    higherIsBetter: true,
    mode: 'ratio',
    native: { median: 40000, ci: [38000, 42000] },
    container: { value: 0.98, ci: [0.95, 1.0] },
    vm: { value: 0.8, ci: [0.75, 0.86] },
  },
  {
    workload: 'network',
    metric: 'tcp-mbps-up',
    unit: 'Mbit/s',
    higherIsBetter: true,
    mode: 'ratio',
    native: { median: 20000, ci: [19000, 21000] },
    container: { value: 0.95, ci: [0.9, 1.0] },
    vm: { value: 0.6, ci: [0.55, 0.65] },
  },
  {
    workload: 'network',
    metric: 'tcp-mbps-down',
    unit: 'Mbit/s',
    higherIsBetter: true,
    mode: 'ratio',
    native: { median: 20000, ci: [19000, 21000] },
    container: { value: 0.97, ci: [0.93, 1.01] },
    vm: { value: 0.7, ci: [0.66, 0.74] },
  },
];

/** t(0.975, 2): with three values m − d, m, m + d the t CI of the mean is m ± T2·d/√3. */
const T2 = 4.302652729911275;

function summary(median: number, ci: [number, number]): { values: number[]; summary: Summary } {
  // Three repetitions, symmetric about the median (so mean = median), spread so that the 95% t CI of
  // the mean (src/stats, the estimator the model uses) is exactly the given CI.
  const half = (ci[1] - ci[0]) / 2;
  const d = (half * Math.sqrt(3)) / T2;
  const values = [median - d, median, median + d];
  return {
    values,
    summary: {
      n: 3,
      median,
      mean: median,
      stdev: d,
      min: median - d,
      max: median + d,
      ci95: ci,
      cv: median !== 0 ? d / median : 0,
      outliers: [],
    },
  };
}

function metricResult(backend: string, s: MetricSpec, median: number, ci: [number, number]): MetricResult {
  const { values, summary: sum } = summary(median, ci);
  return {
    metric: s.metric,
    unit: s.unit,
    higherIsBetter: s.higherIsBetter,
    values,
    repetitions: [1, 2, 3],
    rawLogs: [1, 2, 3].map((r) => `raw/${backend.replace(':', '-')}/${s.workload}/${s.metric}-rep${r}.log`),
    summary: sum,
  };
}

export function capacityFixture(opts: CapacityFixtureOptions = {}): RunResults {
  const runId = opts.runId ?? 'fixture-capacity-1';
  const tcg = opts.vmAccelerator === 'tcg';
  const vmLabel = tcg ? 'vm:q35-tcg' : 'vm:q35-kvm';
  const backendDefs: BackendResult[] = [
    {
      label: 'native',
      kind: 'native',
      variant: 'native',
      accelerator: 'native',
      acceleratorReason: 'baseline',
      versions: {},
      warnings: [],
      details: {},
    },
    {
      label: 'container:runc',
      kind: 'container',
      variant: 'runc',
      accelerator: 'runc',
      acceleratorReason: 'runc works here',
      versions: { runc: '1.1.5' },
      warnings: [],
      details: {},
    },
    {
      label: vmLabel,
      kind: 'vm',
      variant: tcg ? 'q35-tcg' : 'q35-kvm',
      accelerator: tcg ? 'tcg' : 'kvm',
      acceleratorReason: tcg ? 'KVM measured 1000x slower than TCG' : 'hardware virtualization',
      versions: { qemu: '7.2' },
      warnings: tcg ? ['emulated CPU (TCG)'] : [],
      details: {},
    },
  ];
  const metrics = METRICS.filter(
    (m) =>
      !(opts.omitWorkloads ?? []).includes(m.workload) &&
      !(opts.omitMetrics ?? []).includes(`${m.workload}/${m.metric}`),
  );
  const workloads = [...new Set(metrics.map((m) => m.workload))];
  const cells: Cell[] = [];
  const overheads: Overhead[] = [];
  for (const b of backendDefs) {
    for (const w of workloads) {
      const ms: MetricResult[] = [];
      for (const s of metrics.filter((m) => m.workload === w)) {
        if (b.kind === 'native') {
          ms.push(metricResult(b.label, s, s.native.median, s.native.ci));
          continue;
        }
        const spec = b.kind === 'container' ? s.container : tcg && s.vmTcg ? s.vmTcg : s.vm;
        if (s.mode === 'absolute') {
          ms.push(metricResult(b.label, s, spec.value, spec.ci));
        } else {
          const median = s.native.median * spec.value;
          ms.push(metricResult(b.label, s, median, [s.native.median * spec.ci[0], s.native.median * spec.ci[1]]));
          const pct = (r: number): number => (s.higherIsBetter ? (1 - r) * 100 : (r - 1) * 100);
          overheads.push({
            backend: b.label,
            workload: s.workload,
            metric: s.metric,
            unit: s.unit,
            higherIsBetter: s.higherIsBetter,
            ratio: spec.value,
            ratioCi95: spec.ci,
            overheadPct: pct(spec.value),
            overheadPctCi95: [pct(spec.ci[1]), pct(spec.ci[0])],
            verdict: spec.ci[0] <= 1 && spec.ci[1] >= 1 ? 'inconclusive' : 'overhead',
            thresholdPct: 3,
            detectablePct: 1,
            repetitionsNeeded: null,
            n: [5, 5],
          });
        }
      }
      cells.push({ backend: b.label, workload: w, state: 'complete', metrics: ms });
    }
  }
  return {
    schemaVersion: 2,
    tool: { name: 'isobench', version: '0.1.0' },
    runId,
    status: opts.status ?? 'complete',
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T01:00:00.000Z',
    scenarioFile: 'scenarios/quick.yaml',
    scenario: {},
    host: { cores: 2, memoryGiB: 24 },
    toolVersions: {},
    rootfsHash: 'sha256:fixture',
    backends: backendDefs,
    order: 'interleaved (rotating ABC, BCA, CAB)',
    cells,
    overheads: opts.withOverheads === false ? [] : overheads,
    differences: [],
    headline: [],
    warnings: [],
  };
}
