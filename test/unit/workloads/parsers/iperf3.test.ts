import { describe, expect, it } from 'vitest';
import { iperf3Error, parseIperf3Json } from '../../../../src/workloads/parsers/iperf3.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('parseIperf3Json', () => {
  it('reads a forward test (client sends)', () => {
    expect(parseIperf3Json(fixture('iperf3/forward.json'))).toEqual({
      reverse: false,
      receivedBitsPerSecond: 11720370012.480976,
      sentBitsPerSecond: 11748087023.291529,
      retransmits: 5094,
      durationS: 1.000723,
      intervals: 1,
    });
  });
  it('reads a reverse test (-R: server sends)', () => {
    expect(parseIperf3Json(fixture('iperf3/reverse.json'))).toMatchObject({
      reverse: true,
      receivedBitsPerSecond: 11435913750.846222,
    });
  });
  it('treats an "error" key as failure although iperf3 exited 0 (connection refused)', () => {
    expect(() => parseIperf3Json(fixture('iperf3/refused.json'))).toThrow(
      /^iperf3: test failed: unable to connect to server: Connection refused/,
    );
    expect(iperf3Error(fixture('iperf3/refused.json'))).toMatch(/Connection refused/);
  });
  it('treats a peer reset in the middle of the test as failure (intervals present, end empty)', () => {
    expect(() => parseIperf3Json(fixture('iperf3/server-killed.json'))).toThrow(
      /^iperf3: test failed: unable to write to stream socket/,
    );
  });
  it('throws a ParseError naming iperf3 on truncated JSON', () => {
    expect(() => parseIperf3Json(fixture('iperf3/forward.truncated.json'))).toThrow(ParseError);
    expect(() => parseIperf3Json(fixture('iperf3/forward.truncated.json'))).toThrow(
      /^iperf3: JSON output is truncated or garbled/,
    );
  });
  it('throws when intervals are missing', () => {
    const doc = JSON.parse(fixture('iperf3/forward.json')) as Record<string, unknown>;
    doc.intervals = [];
    expect(() => parseIperf3Json(JSON.stringify(doc))).toThrow(/^iperf3: no intervals/);
    expect(iperf3Error(fixture('iperf3/forward.json'))).toBeUndefined();
  });
});
