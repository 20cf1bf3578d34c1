import { describe, expect, it } from 'vitest';
import { parseSockperf } from '../../../../src/workloads/parsers/sockperf.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('parseSockperf', () => {
  it('reads a TCP ping-pong with --full-rtt (round-trip µs)', () => {
    expect(parseSockperf(fixture('sockperf/ping-pong-tcp-full-rtt.txt'))).toEqual({
      fullRtt: true,
      avgUs: 37.406,
      p50Us: 22.913,
      p99Us: 176.104,
      p999Us: 2484.214,
      minUs: 16.741,
      maxUs: 12101.554,
      observations: 41391,
      dropped: 0,
    });
  });
  it('reads the default one-way (RTT/2) report, TCP and UDP', () => {
    expect(parseSockperf(fixture('sockperf/ping-pong-tcp.txt'))).toMatchObject({
      fullRtt: false,
      avgUs: 26.819,
      p50Us: 20.859,
      p99Us: 85.497,
      p999Us: 450.561,
    });
    expect(parseSockperf(fixture('sockperf/ping-pong-udp.txt'))).toMatchObject({
      fullRtt: false,
      avgUs: 26.321,
      p50Us: 23.895,
      observations: 10430,
    });
  });
  it('treats "Can`t connect" as failure although sockperf exited 0', () => {
    expect(() => parseSockperf(fixture('sockperf/refused-tcp.txt'))).toThrow(
      /^sockperf: sockperf reported an error: Can`t connect socket/,
    );
  });
  it('throws a ParseError naming sockperf on a truncated summary', () => {
    expect(() => parseSockperf(fixture('sockperf/ping-pong-tcp-full-rtt.truncated.txt'))).toThrow(ParseError);
    expect(() => parseSockperf(fixture('sockperf/ping-pong-tcp-full-rtt.truncated.txt'))).toThrow(/^sockperf: /);
  });
});
