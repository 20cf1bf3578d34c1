/**
 * iperf3 -J. Success is judged from the document, not the exit code: iperf3
 * 3.12 exits 0 with `-J` on some failures (connection refused, peer reset in the
 * middle of a test) and reports them only as an "error" key, with empty
 * intervals and/or an empty "end" object.
 */
import { ParseError, extractJson, finite, isRecord, record } from './common.js';

const TOOL = 'iperf3';

export interface Iperf3Result {
  /** -R was in effect: the server (instance) sent, the client (bench side) received. */
  reverse: boolean;
  /** bits/s counted by the receiving side: what actually arrived. */
  receivedBitsPerSecond: number;
  /** bits/s counted by the sending side. */
  sentBitsPerSecond: number;
  /** TCP retransmits reported by the sender (undefined when not reported, e.g. reverse on some kernels). */
  retransmits: number | undefined;
  durationS: number;
  intervals: number;
}

/** The "error" string iperf3 put in its JSON, if any (the JSON must parse). */
export function iperf3Error(text: string): string | undefined {
  const doc = extractJson(TOOL, text);
  return isRecord(doc) && typeof doc.error === 'string' ? doc.error : undefined;
}

export function parseIperf3Json(text: string): Iperf3Result {
  const doc = record(TOOL, 'document', extractJson(TOOL, text));
  if (typeof doc.error === 'string') throw new ParseError(TOOL, `test failed: ${doc.error}`);
  if (!Array.isArray(doc.intervals) || doc.intervals.length === 0)
    throw new ParseError(TOOL, 'no intervals in JSON output: the test did not run');
  const start = record(TOOL, 'start', doc.start);
  const testStart = record(TOOL, 'start.test_start', start.test_start);
  const end = record(TOOL, 'end', doc.end);
  const received = record(TOOL, 'end.sum_received', end.sum_received);
  const sent = record(TOOL, 'end.sum_sent', end.sum_sent);
  const receivedBitsPerSecond = finite(TOOL, 'end.sum_received.bits_per_second', received.bits_per_second);
  const sentBitsPerSecond = finite(TOOL, 'end.sum_sent.bits_per_second', sent.bits_per_second);
  if (receivedBitsPerSecond <= 0) throw new ParseError(TOOL, 'received 0 bits/s: no data arrived');
  return {
    reverse: finite(TOOL, 'start.test_start.reverse', testStart.reverse) !== 0,
    receivedBitsPerSecond,
    sentBitsPerSecond,
    retransmits:
      sent.retransmits === undefined ? undefined : finite(TOOL, 'end.sum_sent.retransmits', sent.retransmits),
    durationS: finite(TOOL, 'end.sum_received.seconds', received.seconds),
    intervals: doc.intervals.length,
  };
}
