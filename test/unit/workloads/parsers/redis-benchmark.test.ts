import { describe, expect, it } from 'vitest';
import { parseRedisBenchmarkCsv, redisTest } from '../../../../src/workloads/parsers/redis-benchmark.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('parseRedisBenchmarkCsv', () => {
  it('reads every test of an unpipelined run (Redis 7.0 --csv), latencies in ms', () => {
    expect(parseRedisBenchmarkCsv(fixture('redis-benchmark/get-set-c16-p1.csv'))).toEqual([
      {
        test: 'SET',
        requestsPerSecond: 51177.07,
        avgMs: 0.207,
        minMs: 0.016,
        p50Ms: 0.071,
        p95Ms: 0.151,
        p99Ms: 3.671,
        maxMs: 70.591,
      },
      {
        test: 'GET',
        requestsPerSecond: 39432.18,
        avgMs: 0.252,
        minMs: 0.016,
        p50Ms: 0.071,
        p95Ms: 1.279,
        p99Ms: 3.879,
        maxMs: 25.839,
      },
    ]);
  });
  it('reads a pipelined run and finds a test by name', () => {
    const tests = parseRedisBenchmarkCsv(fixture('redis-benchmark/get-set-c16-p16.csv'));
    expect(redisTest(tests, 'get')).toMatchObject({
      test: 'GET',
      requestsPerSecond: 422833,
      p50Ms: 0.143,
      p99Ms: 6.207,
    });
    expect(() => redisTest(tests, 'incr')).toThrow(/no incr line \(tests: SET, GET\)/);
  });
  it('reads a run recorded over the bench network against a runc container', () => {
    const tests = parseRedisBenchmarkCsv(fixture('redis-benchmark/get-set-c16-p16-runc-bench-net.csv'));
    expect(tests.map((t) => [t.test, t.requestsPerSecond, t.p50Ms, t.p99Ms])).toEqual([
      ['SET', 50327.12, 0.823, 43.967],
      ['GET', 114155.25, 0.239, 25.071],
    ]);
  });
  it('throws a ParseError naming redis-benchmark on a truncated file', () => {
    expect(() => parseRedisBenchmarkCsv(fixture('redis-benchmark/get-set-c16-p1.truncated.csv'))).toThrow(ParseError);
    expect(() => parseRedisBenchmarkCsv(fixture('redis-benchmark/get-set-c16-p1.truncated.csv'))).toThrow(
      /^redis-benchmark: /,
    );
  });
  it('refuses output without a header, a header without tests, and an empty figure', () => {
    expect(() => parseRedisBenchmarkCsv('Could not connect to Redis at 198.18.0.3:6379: Connection refused\n')).toThrow(
      /no CSV header/,
    );
    const header = fixture('redis-benchmark/get-set-c16-p1.csv').split('\n')[0] as string;
    expect(() => parseRedisBenchmarkCsv(`${header}\n`)).toThrow(/no test line/);
    expect(() => parseRedisBenchmarkCsv(`${header}\n"GET","","0.2","0.01","0.07","0.1","3.8","25.8"\n`)).toThrow(
      /GET rps missing/,
    );
    expect(() =>
      redisTest(
        [{ test: 'GET', requestsPerSecond: 0, avgMs: 0, minMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 }],
        'GET',
      ),
    ).toThrow(/0 requests\/s/);
  });
});
