/**
 * sockperf ping-pong summary. sockperf prints, after its run, an average and a
 * list of percentiles of the valid (post-warm-up) observations in microseconds:
 * one-way latency (RTT/2) by default, the full round trip with --full-rtt. The
 * lines are coloured with ANSI sequences, stripped first. sockperf 3.7 exits 0
 * when it cannot connect: failure is judged from the text.
 */
import { ParseError, finite, matchNumber, stripAnsi } from './common.js';

const TOOL = 'sockperf';

export interface SockperfResult {
  /** true: values are round-trip times (--full-rtt); false: RTT/2 ("latency"). */
  fullRtt: boolean;
  avgUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  minUs: number;
  maxUs: number;
  observations: number;
  dropped: number;
}

export function parseSockperf(raw: string): SockperfResult {
  const text = stripAnsi(raw);
  const err = /^sockperf: ERROR: (.*)$/m.exec(text);
  if (err) throw new ParseError(TOOL, `sockperf reported an error: ${err[1]?.trim()}`);
  if (!/^sockperf: /m.test(text)) throw new ParseError(TOOL, 'no "sockperf:" lines: not sockperf output');
  const avg = /====> avg-(rtt|latency)=([\d.]+)/.exec(text);
  if (!avg) throw new ParseError(TOOL, 'average line ("avg-latency=" / "avg-rtt=") not found (truncated output?)');
  const pct = (p: string): number =>
    matchNumber(
      TOOL,
      `percentile ${p}`,
      text,
      new RegExp(String.raw`---> percentile ${p.replace('.', '\\.')} =\s*([\d.]+)\s*$`, 'm'),
    );
  const observations = matchNumber(TOOL, 'observation count', text, /Total (\d+) observations/);
  if (observations <= 0) throw new ParseError(TOOL, 'no valid observations');
  return {
    fullRtt: avg[1] === 'rtt',
    avgUs: finite(TOOL, 'average', avg[2]),
    p50Us: pct('50.000'),
    p99Us: pct('99.000'),
    p999Us: pct('99.900'),
    // <MIN> is printed last: its presence means the percentile list is complete.
    minUs: matchNumber(TOOL, 'min observation', text, /---> <MIN> observation =\s*([\d.]+)\s*$/m),
    maxUs: matchNumber(TOOL, 'max observation', text, /---> <MAX> observation =\s*([\d.]+)\s*$/m),
    observations,
    dropped: matchNumber(TOOL, 'dropped messages', text, /# dropped messages = (\d+)/),
  };
}
