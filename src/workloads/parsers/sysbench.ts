/**
 * sysbench 1.0.x text output. sysbench has no machine-readable format in 1.0;
 * its report lines are stable across 1.0 releases and are matched exactly.
 */
import { ParseError, matchNumber } from './common.js';

const TOOL = 'sysbench';

export interface SysbenchGeneral {
  threads: number;
  totalTimeS: number;
  totalEvents: number;
}

export interface SysbenchCpu extends SysbenchGeneral {
  /** "events per second": completed prime-search events per wall-clock second, all threads. */
  eventsPerSecond: number;
}

export interface SysbenchMemory extends SysbenchGeneral {
  blockKiB: number;
  operation: 'read' | 'write' | 'none';
  /** Bytes "transferred" per second: events x block size / total time, in MiB/s. */
  mibPerSecond: number;
  totalMiB: number;
}

export interface SysbenchThreads extends SysbenchGeneral {
  /** Lock/yield/unlock loop events per second (total events / total time). */
  eventsPerSecond: number;
}

function checkSane(text: string): void {
  if (!/^sysbench \d/m.test(text)) throw new ParseError(TOOL, 'no "sysbench <version>" banner: not sysbench output');
  const fatal = /^FATAL: (.*)$/m.exec(text);
  if (fatal) throw new ParseError(TOOL, `sysbench reported FATAL: ${fatal[1]}`);
}

/** The "General statistics" block every sysbench test prints last. */
export function parseSysbenchGeneral(text: string): SysbenchGeneral {
  checkSane(text);
  const threads = matchNumber(TOOL, 'number of threads', text, /^Number of threads:\s*(\d+)\s*$/m);
  const totalTimeS = matchNumber(TOOL, 'total time', text, /^\s*total time:\s*([\d.]+)s\s*$/m);
  const totalEvents = matchNumber(TOOL, 'total number of events', text, /^\s*total number of events:\s*(\d+)\s*$/m);
  // The fairness block is the last thing sysbench prints: its absence means the output was cut.
  if (!/execution time \(avg\/stddev\):\s*[\d.]+\/[\d.]+/.test(text))
    throw new ParseError(TOOL, 'output truncated (no "Threads fairness" block)');
  if (totalTimeS <= 0) throw new ParseError(TOOL, `total time ${totalTimeS}s is not positive`);
  return { threads, totalTimeS, totalEvents };
}

export function parseSysbenchCpu(text: string): SysbenchCpu {
  const general = parseSysbenchGeneral(text);
  const eventsPerSecond = matchNumber(TOOL, 'cpu events per second', text, /^\s*events per second:\s*([\d.]+)\s*$/m);
  return { ...general, eventsPerSecond };
}

export function parseSysbenchMemory(text: string): SysbenchMemory {
  const general = parseSysbenchGeneral(text);
  const blockKiB = matchNumber(TOOL, 'memory block size', text, /^\s*block size:\s*(\d+)KiB\s*$/m);
  const op = /^\s*operation:\s*(read|write|none)\s*$/m.exec(text)?.[1];
  if (op !== 'read' && op !== 'write' && op !== 'none') throw new ParseError(TOOL, 'memory operation line missing');
  const m = /^([\d.]+) MiB transferred \(([\d.]+) MiB\/sec\)\s*$/m.exec(text);
  if (!m)
    throw new ParseError(TOOL, '"MiB transferred (... MiB/sec)" line not found (memory-oper=none or truncated output)');
  const totalMiB = matchNumber(TOOL, 'MiB transferred', m[1] ?? '', /^([\d.]+)$/);
  const mibPerSecond = matchNumber(TOOL, 'MiB/sec', m[2] ?? '', /^([\d.]+)$/);
  return { ...general, blockKiB, operation: op, mibPerSecond, totalMiB };
}

export function parseSysbenchThreads(text: string): SysbenchThreads {
  const general = parseSysbenchGeneral(text);
  return { ...general, eventsPerSecond: general.totalEvents / general.totalTimeS };
}

/**
 * The per-second rates of a run with --report-interval=1 ("[ 1s ] thds: 1 eps: 3018.73 ..."), in order.
 * sysbench skips the last report when the run ends on the second (seen under host load: two lines for a
 * 3 s run): a remainder of at least half a second after the last line counts as one more interval, its
 * rate from the run's totals.
 */
export function parseSysbenchIntervals(text: string): number[] {
  const general = parseSysbenchGeneral(text);
  const out: number[] = [];
  for (const m of text.matchAll(/^\[ *(\d+)s \] thds: \d+ eps: ([\d.]+)/gm)) {
    const v = Number(m[2]);
    if (Number(m[1]) !== out.length + 1) throw new ParseError(TOOL, `interval report "${m[0]}" out of order`);
    if (!Number.isFinite(v)) throw new ParseError(TOOL, `interval rate "${m[2]}" is not a number`);
    out.push(v);
  }
  const restS = general.totalTimeS - out.length;
  if (out.length > 0 && restS >= 0.5) {
    const rest = (general.totalEvents - out.reduce((a, b) => a + b, 0)) / restS;
    if (!(rest >= 0)) throw new ParseError(TOOL, `interval reports add up to more events than the run's total`);
    out.push(rest);
  }
  return out;
}
