import { describe, expect, it } from 'vitest';
import {
  parseSysbenchCpu,
  parseSysbenchIntervals,
  parseSysbenchMemory,
  parseSysbenchThreads,
} from '../../../../src/workloads/parsers/sysbench.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('parseSysbenchCpu', () => {
  it('reads events/s, threads and totals from a 1-thread run', () => {
    const r = parseSysbenchCpu(fixture('sysbench/cpu-1t.txt'));
    expect(r).toEqual({ threads: 1, eventsPerSecond: 3841.27, totalTimeS: 1.0007, totalEvents: 3856 });
  });
  it('reads a 2-thread run', () => {
    const r = parseSysbenchCpu(fixture('sysbench/cpu-2t.txt'));
    expect(r.threads).toBe(2);
    expect(r.eventsPerSecond).toBe(3939.57);
  });
  it('throws a ParseError naming sysbench on truncated output', () => {
    expect(() => parseSysbenchCpu(fixture('sysbench/cpu-1t.truncated.txt'))).toThrow(ParseError);
    expect(() => parseSysbenchCpu(fixture('sysbench/cpu-1t.truncated.txt'))).toThrow(/^sysbench: /);
  });
  it('throws on output that is not sysbench', () => {
    expect(() => parseSysbenchCpu('hello\n')).toThrow(/sysbench: .*not sysbench output/);
  });
});

describe('parseSysbenchIntervals', () => {
  it('reads the per-second rates of a --report-interval=1 run', () => {
    expect(parseSysbenchIntervals(fixture('sysbench/cpu-1t-intervals.txt'))).toEqual([3211.56, 1710.4, 1719.93]);
  });
  it('counts a last second sysbench did not report, from the totals', () => {
    // 5763 events in 3.0015 s; the two reported seconds hold 1623.79 + 1822.94.
    const r = parseSysbenchIntervals(fixture('sysbench/cpu-1t-intervals-last-missing.txt'));
    expect(r.slice(0, 2)).toEqual([1623.79, 1822.94]);
    expect(r[2]).toBeCloseTo((5763 - 1623.79 - 1822.94) / 1.0015, 2);
  });
  it('has none for a run without interval reports', () => {
    expect(parseSysbenchIntervals(fixture('sysbench/cpu-1t.txt'))).toEqual([]);
  });
});

describe('parseSysbenchMemory', () => {
  it('reads MiB/s of a sequential read run', () => {
    const r = parseSysbenchMemory(fixture('sysbench/memory-seq-read.txt'));
    expect(r).toMatchObject({
      operation: 'read',
      blockKiB: 65536,
      mibPerSecond: 23536.8,
      totalMiB: 23744,
      totalEvents: 371,
      threads: 1,
    });
  });
  it('reads a sequential write run', () => {
    const r = parseSysbenchMemory(fixture('sysbench/memory-seq-write.txt'));
    expect(r).toMatchObject({ operation: 'write', mibPerSecond: 23055.78 });
  });
  it('reads a random-access run', () => {
    const r = parseSysbenchMemory(fixture('sysbench/memory-rnd-read.txt'));
    expect(r).toMatchObject({
      operation: 'read',
      blockKiB: 65536,
      mibPerSecond: 470,
      totalEvents: 8,
      totalTimeS: 1.0849,
    });
  });
  it('throws on truncated output', () => {
    expect(() => parseSysbenchMemory(fixture('sysbench/memory-seq-read.truncated.txt'))).toThrow(ParseError);
    expect(() => parseSysbenchMemory(fixture('sysbench/memory-seq-read.truncated.txt'))).toThrow(/^sysbench: /);
  });
  it('surfaces sysbench FATAL messages', () => {
    expect(() => parseSysbenchMemory(fixture('sysbench/memory-bad-option.txt'))).toThrow(
      /sysbench: .*FATAL: Invalid value for memory-oper: bogus/,
    );
  });
});

describe('parseSysbenchThreads', () => {
  it('derives events/s from total events and total time', () => {
    const r = parseSysbenchThreads(fixture('sysbench/threads-2t.txt'));
    expect(r.threads).toBe(2);
    expect(r.eventsPerSecond).toBeCloseTo(707 / 1.001, 6);
  });
});
