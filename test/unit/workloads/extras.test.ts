/**
 * Each workload declares the zod schema of its extra (src/workloads/extras/):
 * the schema accepts what the workload recorded in real runs (the results
 * fixtures and test/fixtures/extras/recorded.json), refuses a broken record
 * with the workload, the record and the field path in the message (the check
 * the runner makes when a record is made), and refuses a record the workload
 * does not declare.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import '../../../src/workloads/index.js';
import { getWorkload, allWorkloads } from '../../../src/workloads/registry.js';
import { checkExtra } from '../../../src/workloads/extras/common.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures');
const json = (p: string): any => JSON.parse(readFileSync(path.join(FIXTURES, p), 'utf8'));

/** Every recorded extra entry: from the isolation results fixtures and the recorded extras of the other workloads. */
function recorded(): { workload: string; backend: string; name: string; data: unknown }[] {
  const out: { workload: string; backend: string; name: string; data: unknown }[] = [];
  for (const f of ['isolation.json', 'aa-quick-1.json']) {
    for (const c of json(`results/${f}`).cells)
      for (const [name, list] of Object.entries(c.extra ?? {}))
        for (const e of list as { data: unknown }[])
          out.push({ workload: c.workload, backend: c.backend, name, data: e.data });
  }
  out.push(...json('extras/recorded.json').entries);
  return out;
}

const clone = <T>(x: T): T => structuredClone(x);
const first = (workload: string, name: string): any =>
  clone(recorded().find((e) => e.workload === workload && e.name === name)!.data);
const wl = (name: string) => getWorkload(name)!;

describe('recorded extras match their workload schema', () => {
  const all = recorded();
  it('every workload that records extra is covered by a recorded fixture', () => {
    const covered = new Set(all.map((e) => `${e.workload}/${e.name}`));
    for (const w of allWorkloads()) {
      for (const name of Object.keys(w.extraSchema ?? {})) {
        // metricFailures is recorded only when a probe fails: no real run here has one (its case is below).
        if (name === 'metricFailures') continue;
        expect(covered, `${w.name}/${name}`).toContain(`${w.name}/${name}`);
      }
    }
  });
  for (const e of all) {
    it(`${e.workload} ${e.name} (${e.backend})`, () => {
      expect(checkExtra(wl(e.workload), e.name, e.data)).toBe(e.data);
    });
  }
  it('a probe failure (network, partition) as the workloads build it', () => {
    const failure = { metrics: ['tcp-to-instance-gbps'], error: 'iperf3: connection refused', rawLog: 'raw/x.log' };
    expect(checkExtra(wl('network'), 'metricFailures', failure)).toBe(failure);
    expect(
      checkExtra(wl('partition'), 'metricFailures', { metrics: ['disk-share-a-pct'], error: 'not measurable: no bfq' }),
    ).toBeTruthy();
  });
  it('a figure that is NaN when recorded (JSON later writes null) is accepted', () => {
    const d = first('noisy-neighbor', 'neighbor-cpu');
    d.alone = Number.NaN;
    expect(() => checkExtra(wl('noisy-neighbor'), 'neighbor-cpu', d)).not.toThrow();
  });
});

describe('a broken record is a bug, named with workload, record and path', () => {
  const cases: Array<[string, string, (d: any) => void, RegExp]> = [
    ['partition', 'cpu-share', (d) => (d.series[2].aPct = '80'), /series\.2\.aPct: expected a number/],
    ['partition', 'cpu-cap', (d) => delete d.capPct, /capPct: /],
    ['partition', 'disk-share', (d) => (d.targetPct = 'eighty'), /"disk-share"/],
    ['partition', 'disk-cap', (d) => (d.series = null), /series: /],
    ['partition', 'net-share', (d) => (d.series = [{ tS: 1 }]), /series\.0\.aPct: /],
    ['partition', 'net-cap', (d) => (d.capMbit = '80'), /capMbit: /],
    ['memory-gradient', 'memory-gradient', (d) => (d.steps[0].outcome = 137), /steps\.0\.outcome: /],
    ['density', 'density', (d) => (d.levels[1].instances = 'two'), /levels\.1\.instances: /],
    [
      'noisy-neighbor',
      'neighbor-disk',
      (d) => (d.mechanisms['io-weight'].setting = 5),
      /mechanisms\.io-weight\.setting: /,
    ],
    ['startup', 'startup', (d) => (d.starts[0].stages.readyMs = 'fast'), /starts\.0\.stages\.readyMs: /],
    ['cpu', 'environment', (d) => (d.cgroup = 'one line'), /"environment"/],
    ['network', 'netSoftirqs', (d) => (d.netRxPerCpu = [1, 'x']), /netRxPerCpu\.1: /],
  ];
  for (const [workload, name, spoil, re] of cases) {
    it(`${workload} ${name}`, () => {
      const d = first(workload, name);
      // The record as recorded passes; the broken copy does not.
      expect(() => checkExtra(wl(workload), name, d)).not.toThrow();
      spoil(d);
      let message = '';
      try {
        checkExtra(wl(workload), name, d);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`workload ${workload} recorded extra "${name}"`);
      expect(message).toMatch(re);
    });
  }
  it('a record the workload does not declare', () => {
    expect(() => checkExtra(wl('cpu'), 'cpu-share', {})).toThrow(
      /workload cpu recorded extra "cpu-share", which it does not declare/,
    );
    expect(() => checkExtra(wl('footprint'), 'environment', {})).toThrow(
      /workload footprint recorded extra "environment"/,
    );
  });
});
