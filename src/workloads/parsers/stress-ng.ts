/**
 * stress-ng metrics. Two machine-readable forms carry the same figures:
 *  - `--metrics-brief` lines on stderr ("stress-ng: metrc: [pid] <stressor> <bogo ops>
 *    <real s> <usr s> <sys s> <bogo ops/s real> <bogo ops/s usr+sys>"): always
 *    printed, so workloads parse these (no file needs to be written in a read-only
 *    rootfs);
 *  - `--yaml FILE`: a `metrics:` list with the same keys.
 * The figure isobench uses is bogo ops per second of *real* (wall-clock) time over
 * all instances of the stressor: what an application would see, including time
 * the instance was not scheduled.
 */
import { parse as parseYaml } from 'yaml';
import { ParseError, finite, isRecord } from './common.js';

const TOOL = 'stress-ng';

export interface StressNgMetric {
  stressor: string;
  bogoOps: number;
  realTimeS: number;
  usrTimeS: number;
  sysTimeS: number;
  bogoOpsPerSecReal: number;
  bogoOpsPerSecUsrSys: number;
}

/** Every stressor's metrics in the output; throws when there are none. */
export function parseStressNgMetrics(text: string): StressNgMetric[] {
  const out = /^metrics:\s*$/m.test(text) ? fromYaml(text) : fromMetrcLines(text);
  if (out.length === 0) {
    const err = /stress-ng: (?:error|fail):\s*\[\d+\]\s*(.*)$/m.exec(text)?.[1];
    throw new ParseError(
      TOOL,
      err
        ? `no metrics (stress-ng said: ${err.trim()})`
        : 'no metrics in output (truncated, or --metrics-brief missing?)',
    );
  }
  return out;
}

/** The metrics of one stressor, or a ParseError naming it. */
export function stressNgMetric(text: string, stressor: string): StressNgMetric {
  const all = parseStressNgMetrics(text);
  const m = all.find((x) => x.stressor === stressor);
  if (!m)
    throw new ParseError(TOOL, `no metrics for stressor ${stressor} (found: ${all.map((x) => x.stressor).join(', ')})`);
  if (/unsuccessful run completed/.test(text))
    throw new ParseError(TOOL, `stressor ${stressor}: stress-ng reported an unsuccessful run`);
  return m;
}

const NUM = String.raw`(-?[\d.]+(?:e[+-]?\d+)?)`;
const METRC_ROW = new RegExp(
  String.raw`^stress-ng: metrc: \[\d+\]\s+([a-z0-9][a-z0-9-]*)\s+` +
    Array(6).fill(NUM).join(String.raw`\s+`) +
    String.raw`(?:\s|$)`,
  'gm',
);

function fromMetrcLines(text: string): StressNgMetric[] {
  const out: StressNgMetric[] = [];
  // The header ("stressor bogo ops real time ...") must precede the rows; a cut
  // output may hold the header only.
  const header = /^stress-ng: metrc: \[\d+\]\s+stressor\s+bogo ops\s+real time/m.exec(text);
  if (!header) return out;
  for (const m of text.slice(header.index).matchAll(METRC_ROW)) {
    const [, stressor, ops, real, usr, sys, rateReal, rateUsrSys] = m;
    if (!stressor || stressor === 'stressor') continue;
    out.push({
      stressor,
      bogoOps: finite(TOOL, `${stressor} bogo ops`, ops),
      realTimeS: finite(TOOL, `${stressor} real time`, real),
      usrTimeS: finite(TOOL, `${stressor} usr time`, usr),
      sysTimeS: finite(TOOL, `${stressor} sys time`, sys),
      bogoOpsPerSecReal: finite(TOOL, `${stressor} bogo ops/s (real time)`, rateReal),
      bogoOpsPerSecUsrSys: finite(TOOL, `${stressor} bogo ops/s (usr+sys time)`, rateUsrSys),
    });
  }
  return out;
}

function fromYaml(text: string): StressNgMetric[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ParseError(TOOL, `YAML output is garbled (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  if (!isRecord(doc) || !Array.isArray(doc.metrics)) throw new ParseError(TOOL, 'YAML has no metrics list');
  return doc.metrics.map((m: unknown, i: number) => {
    if (!isRecord(m) || typeof m.stressor !== 'string')
      throw new ParseError(TOOL, `YAML metrics[${i}] has no stressor name`);
    const s = m.stressor;
    return {
      stressor: s,
      bogoOps: finite(TOOL, `${s} bogo-ops`, m['bogo-ops']),
      realTimeS: finite(TOOL, `${s} wall-clock-time`, m['wall-clock-time']),
      usrTimeS: finite(TOOL, `${s} user-time`, m['user-time']),
      sysTimeS: finite(TOOL, `${s} system-time`, m['system-time']),
      bogoOpsPerSecReal: finite(TOOL, `${s} bogo-ops-per-second-real-time`, m['bogo-ops-per-second-real-time']),
      bogoOpsPerSecUsrSys: finite(TOOL, `${s} bogo-ops-per-second-usr-sys-time`, m['bogo-ops-per-second-usr-sys-time']),
    };
  });
}
