import { describe, expect, it } from 'vitest';
import { parseStressNgMetrics, stressNgMetric } from '../../../../src/workloads/parsers/stress-ng.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('parseStressNgMetrics', () => {
  it('reads the --metrics-brief row of one matrix instance', () => {
    expect(parseStressNgMetrics(fixture('stress-ng/matrix-1.txt'))).toEqual([
      {
        stressor: 'matrix',
        bogoOps: 866,
        realTimeS: 1.0,
        usrTimeS: 0.93,
        sysTimeS: 0.0,
        bogoOpsPerSecReal: 865.08,
        bogoOpsPerSecUsrSys: 933.52,
      },
    ]);
  });
  it('reads two instances (totals over instances) and the get stressor', () => {
    expect(stressNgMetric(fixture('stress-ng/matrix-2.txt'), 'matrix')).toMatchObject({
      bogoOps: 909,
      bogoOpsPerSecReal: 907.98,
    });
    expect(stressNgMetric(fixture('stress-ng/get-1.txt'), 'get')).toMatchObject({
      bogoOps: 1173,
      bogoOpsPerSecReal: 1173.01,
      sysTimeS: 0.43,
    });
  });
  it('reads the --yaml document', () => {
    expect(parseStressNgMetrics(fixture('stress-ng/matrix-1.yaml'))).toEqual([
      {
        stressor: 'matrix',
        bogoOps: 460,
        realTimeS: 1.001523,
        usrTimeS: 0.561952,
        sysTimeS: 0.007024,
        bogoOpsPerSecReal: 459.300586,
        bogoOpsPerSecUsrSys: 808.469953,
      },
    ]);
  });
  it('throws a ParseError naming stress-ng on a truncated metrics row', () => {
    expect(() => parseStressNgMetrics(fixture('stress-ng/matrix-1.truncated.txt'))).toThrow(ParseError);
    expect(() => parseStressNgMetrics(fixture('stress-ng/matrix-1.truncated.txt'))).toThrow(/^stress-ng: no metrics/);
  });
  it('throws on a truncated YAML document', () => {
    expect(() => parseStressNgMetrics(fixture('stress-ng/matrix-1.truncated.yaml'))).toThrow(
      /^stress-ng: .*wall-clock-time missing/,
    );
  });
  it('reports stress-ng’s own error when no stressor ran (exit code was 0)', () => {
    expect(() => parseStressNgMetrics(fixture('stress-ng/unsupported.txt'))).toThrow(
      /stress-ng: no metrics \(stress-ng said: No stress workers invoked/,
    );
  });
  it('names the missing stressor', () => {
    expect(() => stressNgMetric(fixture('stress-ng/get-1.txt'), 'matrix')).toThrow(
      /stress-ng: no metrics for stressor matrix \(found: get\)/,
    );
  });
});
