/**
 * Helpers shared by the pure parsers: every one of them turns a tool's text
 * into typed numbers or throws a ParseError naming the tool. None returns NaN.
 */
import { ParseError, finite } from '../types.js';

export { ParseError, finite };

/** Remove ANSI colour sequences (sockperf colours its summary lines). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** The first capture group of `re` in `text` as a finite number, or a ParseError. */
export function matchNumber(tool: string, what: string, text: string, re: RegExp): number {
  const m = re.exec(text);
  if (!m) throw new ParseError(tool, `${what} not found in output (truncated or not ${tool} output?)`);
  return finite(tool, what, m[1]);
}

/**
 * The JSON document in a tool's output. fio prints notes ("note: both iodepth >= 1
 * and synchronous I/O engine are selected ...") and warnings before its JSON on the
 * same stream, so the document starts at the first line that opens with `{` and ends
 * at the last `}`.
 */
export function extractJson(tool: string, text: string): unknown {
  const start = /^\{/m.exec(text);
  const end = text.lastIndexOf('}');
  if (!start || end < start.index) throw new ParseError(tool, 'no JSON document in output');
  try {
    return JSON.parse(text.slice(start.index, end + 1));
  } catch (e) {
    throw new ParseError(tool, `JSON output is truncated or garbled (${e instanceof Error ? e.message : String(e)})`);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** obj[key] as a record, or a ParseError saying which part of the document is missing. */
export function record(tool: string, where: string, v: unknown): Record<string, unknown> {
  if (!isRecord(v)) throw new ParseError(tool, `${where} missing or not an object`);
  return v;
}
