import { describe, expect, it } from 'vitest';
import {
  MARGIN_PCT,
  checkPlausibility,
  deviceCheckFailure,
  deviceCheckMissing,
  environmentWarnings,
} from '../../../src/stats/plausibility.js';
import '../../../src/workloads/index.js';
import '../../../src/backends/providers/index.js';
import { overhead, summarize } from '../../../src/stats/index.js';
import type { BackendResult, Cell, MetricResult, Overhead } from '../../../src/results/types.js';

function backend(label: string, kind: BackendResult['kind'], variant: string): BackendResult {
  return { label, kind, variant, accelerator: variant, acceleratorReason: '', versions: {}, warnings: [], details: {} };
}
const BACKENDS = [
  backend('native', 'native', 'host'),
  backend('container:runc', 'container', 'runc'),
  backend('container:runsc', 'container', 'runsc'),
];

function m(metric: string, values: number[], higherIsBetter = true): MetricResult {
  return {
    metric,
    unit: 'u',
    higherIsBetter,
    values,
    repetitions: values.map((_, i) => i + 1),
    rawLogs: values.map((_, i) => `raw/${metric}-r${i + 1}.log`),
    summary: summarize(values),
  };
}
function cell(backendLabel: string, workload: string, metrics: MetricResult[], extra?: Record<string, unknown>): Cell {
  return { backend: backendLabel, workload, state: 'complete', metrics, ...(extra ? { extra } : {}) };
}
function ov(
  backendLabel: string,
  workload: string,
  metric: string,
  native: number[],
  other: number[],
  hib = true,
): Overhead {
  const o = overhead(native, other, hib)!;
  return { backend: backendLabel, workload, metric, unit: 'u', higherIsBetter: hib, ...o };
}

describe('plausibility: a backend that beats native', () => {
  it('flags a syscall figure 2x better than native, with raw logs of both sides and a hint, and warns', () => {
    const nat = [12600, 12700, 12650];
    const runc = [26500, 26700, 26650];
    const cells = [
      cell('native', 'cpu', [m('syscall-ops', nat)]),
      cell('container:runc', 'cpu', [m('syscall-ops', runc)]),
    ];
    const r = checkPlausibility(cells, BACKENDS, [ov('container:runc', 'cpu', 'syscall-ops', nat, runc)]);
    const flagged = r.overheads[0]!;
    expect(flagged.verdict).toBe('better');
    expect(flagged.implausible?.reason).toMatch(/container:runc beats native by \d+\.\d% .* on a cpu figure/);
    expect(flagged.implausible?.hint).toMatch(/extra\.environment/);
    expect(flagged.implausible?.rawLogs).toEqual([
      'raw/syscall-ops-r1.log',
      'raw/syscall-ops-r2.log',
      'raw/syscall-ops-r3.log',
      'raw/syscall-ops-r1.log',
      'raw/syscall-ops-r2.log',
      'raw/syscall-ops-r3.log',
    ]);
    expect(r.warnings.map((w) => w.code)).toEqual(['IMPLAUSIBLE']);
    expect(r.warnings[0]!.message).toMatch(/kept out of capacity.*Raw logs: raw\/syscall-ops-r1\.log/);
  });

  it('does not flag a win inside the margin, an overhead, or a win on a workload isolation can speed up', () => {
    const nat = [1000, 1002, 998];
    const slightly = [1020, 1022, 1018]; // 2% better: inside the margin
    const worse = [900, 905, 895];
    expect(MARGIN_PCT).toBeGreaterThan(2);
    const r = checkPlausibility([], BACKENDS, [
      ov('container:runc', 'memory', 'seq-read-mibps', nat, slightly),
      ov('container:runc', 'cpu', 'sysbench-events-1t', nat, worse),
      ov('container:runc', 'network', 'tcp-to-instance-gbps', nat, [2000, 2001, 1999]),
    ]);
    expect(r.overheads.every((o) => o.implausible === undefined)).toBe(true);
    expect(r.warnings).toEqual([]);
  });

  it('flags a lower-is-better memory figure (ns per access) far below native', () => {
    const nat = [10, 10.1, 9.9];
    const fast = [5, 5.1, 4.9];
    const r = checkPlausibility([], BACKENDS, [ov('container:runc', 'memory', 'rnd-access-ns', nat, fast, false)]);
    expect(r.overheads[0]!.implausible).toBeDefined();
  });
});

describe('plausibility: disk figures must reach the device', () => {
  const check = (v: number[]): MetricResult => m('device-read-bytes-per-fio-byte', v);
  it('notes and flags disk figures whose reads came from a cache, drops the check from overheads, marks runsc', () => {
    const cells = [
      cell('native', 'disk', [m('randread-iops', [7000, 7100, 6900]), check([1.0, 1.01, 0.99])]),
      cell('container:runc', 'disk', [m('randread-iops', [6900, 7000, 6800]), check([1.0, 1.0, 1.0])]),
      cell('container:runsc', 'disk', [m('randread-iops', [16000, 16100, 15900]), check([0, 0.01, 0])]),
    ];
    const overheads = [
      ov('container:runc', 'disk', 'randread-iops', [7000, 7100, 6900], [6900, 7000, 6800]),
      ov('container:runsc', 'disk', 'randread-iops', [7000, 7100, 6900], [16000, 16100, 15900]),
      ov('container:runsc', 'disk', 'device-read-bytes-per-fio-byte', [1, 1.01, 0.99], [0, 0.01, 0.001]),
    ];
    const r = checkPlausibility(cells, BACKENDS, overheads);
    expect(r.overheads.map((o) => o.metric)).toEqual(['randread-iops', 'randread-iops']);
    expect(r.overheads[0]!.implausible).toBeUndefined();
    expect(r.overheads[1]!.implausible?.reason).toMatch(
      /^container:runsc: reads did not reach the device: 0\.00 bytes read from the device/,
    );
    const runscIops = r.cells[2]!.metrics.find((x) => x.metric === 'randread-iops')!;
    expect(runscIops.notes?.some((n) => /gvisor#3626/.test(n))).toBe(true);
    expect(runscIops.notes?.some((n) => /^not comparable: reads did not reach the device/.test(n))).toBe(true);
    // runc passed its check: no notes.
    expect(r.cells[1]!.metrics[0]!.notes).toBeUndefined();
  });

  it('readahead (more device bytes than fio read) is not the same work either; a partly cached path fails too', () => {
    expect(deviceCheckFailure(cell('container:runsc', 'disk', [check([2.5, 2.6])]))).toMatch(/readahead/);
    expect(deviceCheckFailure(cell('container:runsc', 'disk', [check([0.78, 0.8])]))).toMatch(
      /did not reach the device/,
    );
    expect(deviceCheckFailure(cell('container:runc', 'disk', [check([1.0, 1.02])]))).toBeUndefined();
  });

  it('a missing check is "not checked" (a note, not a failure); a native baseline that fails flags every backend', () => {
    const unchecked = cell('native', 'disk', [m('randread-iops', [1, 2])]);
    expect(deviceCheckFailure(unchecked)).toBeUndefined();
    expect(deviceCheckMissing(unchecked)).toMatch(/^device reach not checked/);
    const cells = [
      cell('native', 'disk', [m('randread-iops', [7000, 7100, 6900]), check([0.01, 0, 0])]),
      cell('container:runc', 'disk', [m('randread-iops', [6900, 7000, 6800]), check([1, 1, 1])]),
    ];
    const r = checkPlausibility(cells, BACKENDS, [
      ov('container:runc', 'disk', 'randread-iops', [7000, 7100, 6900], [6900, 7000, 6800]),
    ]);
    expect(r.overheads[0]!.implausible?.reason).toMatch(/^native: reads did not reach the device/);
  });
});

describe('environment differences', () => {
  const env = (thp: string, seccomp: number): Record<string, unknown> => ({
    environment: [{ repetition: 1, data: { thp, seccomp, mounts: 20 } }],
  });
  it('warns when THP or seccomp differ from native, not when only the mount count does', () => {
    const cells = [
      cell('native', 'memory', [], env('madvise', 0)),
      cell('vm:q35', 'memory', [], env('always', 0)),
      cell('container:runc', 'memory', [], env('madvise', 0)),
    ];
    const w = environmentWarnings(cells, 'native');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toMatch(/vm:q35 memory .*transparent huge pages "always" vs native "madvise"/);
  });
});

describe('per-metric failures', () => {
  it('one warning per failed probe with the repetitions, the first error and its raw log', async () => {
    const { metricFailureWarnings } = await import('../../../src/stats/plausibility.js');
    const fail = {
      metrics: ['rr-rtt-avg-us', 'rr-rtt-p50-us'],
      error: 'sockperf: forcibly closed; server: errno=97',
      rawLog: 'raw/x.log',
    };
    const c = cell('container:runsc', 'network', [m('udp-rr-rtt-p50-us', [1, 2])], {
      metricFailures: [
        { repetition: 1, data: fail },
        { repetition: 2, data: fail },
      ],
    });
    const w = metricFailureWarnings([c]);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ code: 'METRIC_FAILED', backend: 'container:runsc', workload: 'network' });
    expect(w[0]!.message).toBe(
      "container:runsc network: rr-rtt-avg-us, rr-rtt-p50-us not measured in repetition(s) 1, 2 (the cell's other metrics stand): sockperf: forcibly closed; server: errno=97 (raw log: raw/x.log)",
    );
  });
});
