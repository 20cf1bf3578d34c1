/**
 * redis-benchmark --csv (Redis 7): a header line, then one line per test with
 * requests per second and latencies in milliseconds:
 *
 *   "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
 *     "p99_latency_ms","max_latency_ms"          (one line)
 *   "SET","51177.07","0.207","0.016","0.071","0.151","3.671","70.591"
 *
 * Progress ("SET: rps=... (overall: ...)") and errors ("Could not connect to
 * Redis at ...") go to stderr; only stdout is parsed. A line cut short or a
 * column missing is a ParseError, never a zero.
 */
import { ParseError, finite } from './common.js';

const TOOL = 'redis-benchmark';
const COLUMNS = ['test', 'rps', 'avg_latency_ms', 'min_latency_ms'].concat([
  'p50_latency_ms',
  'p95_latency_ms',
  'p99_latency_ms',
  'max_latency_ms',
]) as readonly Column[];
type Column = 'test' | 'rps' | `${'avg' | 'min' | 'p50' | 'p95' | 'p99' | 'max'}_latency_ms`;

export interface RedisBenchmarkTest {
  /** As redis-benchmark names it: SET, GET, ... */
  test: string;
  requestsPerSecond: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

function fields(line: string, lineNo: number): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"(,|$)/y;
  let pos = 0;
  while (pos < line.length) {
    re.lastIndex = pos;
    const m = re.exec(line);
    const shown = JSON.stringify(line.slice(0, 80));
    if (!m) throw new ParseError(TOOL, `line ${lineNo} is not a quoted CSV record (truncated?): ${shown}`);
    out.push(m[1] as string);
    pos = re.lastIndex;
    if (m[2] === '') break;
  }
  return out;
}

/** Every test of a --csv run, in the order printed; a ParseError when the output is not complete. */
export function parseRedisBenchmarkCsv(text: string): RedisBenchmarkTest[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const headerAt = lines.findIndex((l) => l.startsWith('"test"'));
  if (headerAt === -1)
    throw new ParseError(TOOL, 'no CSV header ("test","rps",...): not --csv output, or it failed before any test');
  const header = fields(lines[headerAt] as string, headerAt + 1);
  const index = COLUMNS.map((c) => header.indexOf(c));
  const missing = COLUMNS.filter((_, i) => index[i] === -1);
  if (missing.length) throw new ParseError(TOOL, `CSV header lacks ${missing.join(', ')}`);
  const out: RedisBenchmarkTest[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const f = fields(lines[i] as string, i + 1);
    if (f.length !== header.length)
      throw new ParseError(TOOL, `line ${i + 1} has ${f.length} fields, the header ${header.length} (truncated?)`);
    const at = (c: Column): string => f[index[COLUMNS.indexOf(c)] as number] as string;
    const num = (c: Column): number => {
      const v = finite(TOOL, `${at('test')} ${c}`, at(c) === '' ? undefined : at(c));
      if (v < 0) throw new ParseError(TOOL, `${at('test')} ${c} is negative (${v})`);
      return v;
    };
    out.push({
      test: at('test'),
      requestsPerSecond: num('rps'),
      avgMs: num('avg_latency_ms'),
      minMs: num('min_latency_ms'),
      p50Ms: num('p50_latency_ms'),
      p95Ms: num('p95_latency_ms'),
      p99Ms: num('p99_latency_ms'),
      maxMs: num('max_latency_ms'),
    });
  }
  if (out.length === 0) throw new ParseError(TOOL, 'CSV header but no test line (truncated?)');
  return out;
}

/** The named test of a run, or a ParseError saying which tests were there. */
export function redisTest(tests: readonly RedisBenchmarkTest[], name: string): RedisBenchmarkTest {
  const t = tests.find((x) => x.test.toUpperCase() === name.toUpperCase());
  if (!t) throw new ParseError(TOOL, `no ${name} line (tests: ${tests.map((x) => x.test).join(', ') || 'none'})`);
  if (!(t.requestsPerSecond > 0)) throw new ParseError(TOOL, `${name}: ${t.requestsPerSecond} requests/s`);
  return t;
}
