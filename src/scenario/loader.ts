/**
 * Load and validate a scenario file. Every problem becomes one line:
 *   <file>:<line>: <field.path>: <what is wrong and what is allowed>
 * and the whole set is thrown as one IsobenchError (exit 2); nothing runs.
 */
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { IsobenchError } from '../errors.js';
import { scenarioSchema, resolveBackend, backendKey, splitWorkloadEntry, type Scenario } from './schema.js';
import { allWorkloads } from '../workloads/registry.js';
import { probesOf } from '../workloads/types.js';
import { allProviders } from '../backends/providers/index.js';
import { readRegularFile } from '../results/io.js';

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  /** The source text as run, for the results. */
  source: string;
}

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  p: readonly PropertyKey[],
): number | undefined {
  // Walk down as far as the path exists; report the deepest node found.
  for (let len = p.length; len >= 0; len--) {
    const node = doc.getIn(p.slice(0, len) as unknown[], true) as YamlNode | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return counter.linePos(node.range[0]).line;
    if (len === 0) break;
  }
  return undefined;
}

/**
 * Line of each key (not its value) in the map at `parent`, built once per map
 * so reporting many unknown keys stays linear.
 */
function keyLines(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  parent: readonly PropertyKey[],
): Map<string, number> {
  const lines = new Map<string, number>();
  const node = parent.length === 0 ? doc.contents : doc.getIn(parent as unknown[], true);
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = pair.key as YamlNode | null;
      if (k && 'value' in k && k.range) {
        const name = String((k as { value: unknown }).value);
        if (!lines.has(name)) lines.set(name, counter.linePos(k.range[0]).line);
      }
    }
  }
  return lines;
}

/** Beyond this many unknown keys in one map, they are summarised in one line. */
const MAX_UNKNOWN_LINES = 10;

function fieldPath(p: readonly PropertyKey[]): string {
  if (p.length === 0) return '(top level)';
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join('');
}

function describeInput(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const k of p) {
    if (cur && typeof cur === 'object') cur = (cur as Record<PropertyKey, unknown>)[k as string];
    else return undefined;
  }
  return cur;
}

function issueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  const got = describeInput(valueAt(raw, issue.path));
  switch (issue.code) {
    case 'invalid_type':
      if (valueAt(raw, issue.path) === undefined) return `required (expected ${issue.expected})`;
      return `expected ${issue.expected === 'int' ? 'a whole number' : issue.expected}, got ${got}`;
    case 'too_small':
      return (
        `must be ${issue.inclusive === false ? '>' : '>='} ` +
        `${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}, got ${got}`
      );
    case 'too_big':
      return (
        `must be ${issue.inclusive === false ? '<' : '<='} ` +
        `${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}, got ${got}`
      );
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    case 'invalid_union':
      return `${issue.message === 'Invalid input' ? 'not a valid value' : issue.message}, got ${got}`;
    default:
      return `${issue.message}${got !== 'nothing' ? `, got ${got}` : ''}`;
  }
}

/**
 * A union (e.g. backend shorthand | backend object) fails as a whole; when the
 * input was an object, the object branch's own issue says what is wrong.
 */
function deepestUnionIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || !Array.isArray(issue.errors)) return issue;
  const nested = (issue.errors as z.core.$ZodIssue[][])
    .flat()
    .filter((i) => i.path.length > 0 || i.code === 'invalid_union');
  const first = nested[0];
  if (!first) return issue;
  return deepestUnionIssue({ ...first, path: [...issue.path, ...first.path] } as z.core.$ZodIssue);
}

/** Validate parsed data; returns problem lines (empty when valid). */
export function validateScenarioData(
  raw: unknown,
  file: string,
  doc?: ReturnType<typeof parseDocument>,
  counter?: LineCounter,
): { scenario?: Scenario; problems: string[] } {
  const problems: string[] = [];
  const at = (line: number | undefined): string => (line ? `${file}:${line}` : file);
  const schema = scenarioSchema();
  const result = schema.safeParse(raw);
  if (!result.success) {
    const unknownAt = new Set(
      result.error.issues.filter((i) => i.code === 'unrecognized_keys').map((i) => i.path.join('.')),
    );
    for (const issue of result.error.issues) {
      // "at least one workload" is noise when the only workload given was misspelt.
      if (issue.code === 'custom' && unknownAt.has(issue.path.join('.'))) continue;
      if (issue.code === 'unrecognized_keys') {
        const isWorkloads = issue.path.length === 1 && issue.path[0] === 'workloads';
        const allowed = knownKeys(schema, issue.path);
        const lines = doc && counter ? keyLines(doc, counter, issue.path) : undefined;
        const what = isWorkloads ? 'workload' : 'key';
        if (issue.keys.length > MAX_UNKNOWN_LINES) {
          const first = issue.keys[0] ?? '';
          const shownKeys = issue.keys
            .slice(0, 3)
            .map((k) => `"${k.length > 40 ? `${k.slice(0, 40)}...` : k}"`)
            .join(', ');
          problems.push(
            `${at(lines?.get(first) ?? (doc && counter ? lineOf(doc, counter, issue.path) : undefined))}: ` +
              `${fieldPath(issue.path)}: ${issue.keys.length} unknown ${what}s (${shownKeys}, ` +
              `...); allowed: ${allowed.join(', ')}`,
          );
          continue;
        }
        for (const key of issue.keys) {
          const hint = nearest(key, allowed);
          const line = lines?.get(key) ?? (doc && counter ? lineOf(doc, counter, issue.path) : undefined);
          problems.push(
            `${at(line)}: ${fieldPath([...issue.path, key])}: ` +
              `unknown ${what} "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`,
          );
        }
        continue;
      }
      const shown = deepestUnionIssue(issue);
      const line = doc && counter ? lineOf(doc, counter, shown.path) : undefined;
      problems.push(`${at(line)}: ${fieldPath(shown.path)}: ${issueMessage(shown, raw)}`);
    }
    return { problems };
  }
  const scenario = result.data;
  // Semantic checks the schema cannot express.
  const seen = new Set<string>();
  scenario.backends.forEach((b, i) => {
    const key = backendKey(resolveBackend(b));
    if (seen.has(key))
      problems.push(
        `${at(doc && counter ? lineOf(doc, counter, ['backends', i]) : undefined)}: backends[${i}]: ` +
          `"${key}" is listed twice; list each backend variant once`,
      );
    seen.add(key);
  });
  if (scenario.adaptive && scenario.adaptive.maxRepetitions < scenario.repetitions)
    problems.push(
      `${at(doc && counter ? lineOf(doc, counter, ['adaptive', 'maxRepetitions']) : undefined)}: ` +
        `adaptive.maxRepetitions: must be >= repetitions (${scenario.repetitions})`,
    );
  if (Array.isArray(scenario.instance.cpus) && new Set(scenario.instance.cpus).size !== scenario.instance.cpus.length)
    problems.push(
      `${at(doc && counter ? lineOf(doc, counter, ['instance', 'cpus']) : undefined)}: ` +
        `instance.cpus: lists a CPU twice`,
    );
  // More vCPUs than pinned CPUs would time-share them and measure contention, not isolation.
  if (Array.isArray(scenario.instance.cpus) && scenario.instance.vcpus > scenario.instance.cpus.length)
    problems.push(
      `${at(doc && counter ? lineOf(doc, counter, ['instance', 'vcpus']) : undefined)}: instance.vcpus: ` +
        `${scenario.instance.vcpus} vCPUs on ${scenario.instance.cpus.length} pinned CPU(s) (instance.cpus); ` +
        `list at least ${scenario.instance.vcpus} CPUs or lower vcpus`,
    );
  problems.push(
    ...probeChoiceProblems(scenario, (path) => at(doc && counter ? lineOf(doc, counter, path) : undefined)),
  );
  return problems.length ? { problems } : { scenario, problems };
}

/** A workload entry's `probes` must name probes the workload has (with the scenario's parameters and shape). */
function probeChoiceProblems(scenario: Scenario, at: (path: Array<string | number>) => string): string[] {
  const problems: string[] = [];
  const shape = { vcpus: scenario.instance.vcpus, memoryMiB: scenario.instance.memoryMiB };
  for (const w of allWorkloads()) {
    const e = splitWorkloadEntry((scenario.workloads as Record<string, unknown>)[w.name], scenario);
    if (!e.probes) continue;
    const names = probesOf(w, e.params, shape).map((p) => p.name);
    const field = `workloads.${w.name}.probes`;
    if (!w.probes) {
      problems.push(`${at(['workloads', w.name, 'probes'])}: ${field}: ${w.name} runs as one probe; remove the key`);
      continue;
    }
    e.probes.forEach((name, i) => {
      if (!names.includes(name))
        problems.push(
          `${at(['workloads', w.name, 'probes', i])}: ${field}[${i}]: unknown probe "${name}"; ` +
            `${w.name} has ${names.join(', ')}`,
        );
    });
  }
  return problems;
}

/** Keys the schema knows at a path, for "allowed:" hints: read from the schema itself, so they cannot drift. */
function knownKeys(schema: z.ZodType, p: readonly PropertyKey[]): string[] {
  // A backend entry's keys are its provider's: the union of every provider's object schema.
  if (p[0] === 'backends') return [...new Set(allProviders().flatMap((x) => Object.keys(x.objectSchema.shape)))];
  let s: z.ZodType | undefined = schema;
  for (const seg of p) {
    const t = unwrap(s);
    if (t instanceof z.ZodArray) s = t.element as z.ZodType;
    else s = typeof seg === 'string' ? objectShape(t)?.[seg] : undefined;
  }
  return Object.keys(objectShape(s) ?? {});
}

/** A schema under its defaults and optionals. */
function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let t = s;
  for (let inner = innerOf(t); inner; inner = innerOf(t)) t = inner;
  return t;
}

function innerOf(s: z.ZodType | undefined): z.ZodType | undefined {
  return (s?._zod.def as { innerType?: z.ZodType } | undefined)?.innerType;
}

function objectShape(s: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  const t = unwrap(s);
  return t instanceof z.ZodObject ? (t.shape as Record<string, z.ZodType>) : undefined;
}

function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

/** Offset of the first key repeated within one map, walking the document without recursion. */
function firstDuplicateKey(doc: ReturnType<typeof parseDocument>): number | undefined {
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null;
        const v = k && typeof k === 'object' && 'value' in k ? (k as { value: unknown }).value : k;
        if (v !== null && typeof v !== 'object') {
          if (seen.has(v)) return k?.range?.[0] ?? 0;
          seen.add(v);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) stack.push(item);
  }
  return undefined;
}

/** Aliases one document may expand (YAML's own "billion laughs" guard). */
const MAX_ALIAS_COUNT = 100;

/** Parse YAML text; returns problems (YAML syntax errors, then schema problems). Never throws on bad input. */
export function parseScenarioText(text: string, file: string): { scenario?: Scenario; problems: string[] } {
  try {
    return parseScenarioTextUnguarded(text, file);
  } catch (e) {
    // Deep nesting overflows the parser's or validator's stack; anything else unforeseen is still one line.
    const why = e instanceof RangeError ? 'nested too deeply' : String((e as Error).message ?? e).split('\n')[0];
    return { problems: [`${file}: cannot read this scenario: ${why}`] };
  }
}

/** Deepest flow nesting ([ and {) outside quotes: a cheap scan before the parser recurses. */
export function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
    else if (c === '\n') quote = undefined;
  }
  return max;
}

/** Flow nesting a scenario may use; real ones use two or three levels. */
const MAX_FLOW_DEPTH = 64;

function parseScenarioTextUnguarded(text: string, file: string): { scenario?: Scenario; problems: string[] } {
  if (flowDepth(text) > MAX_FLOW_DEPTH)
    return { problems: [`${file}: invalid YAML: nested deeper than ${MAX_FLOW_DEPTH} levels of [ ] or { }`] };
  const counter = new LineCounter();
  // yaml's own duplicate-key check compares each key with every earlier one (quadratic: 400k keys never end); ours is
  // linear.
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: false, logLevel: 'error' });
  if (doc.errors.length === 0) {
    const dup = firstDuplicateKey(doc);
    if (dup !== undefined)
      return { problems: [`${file}:${counter.linePos(dup).line}: invalid YAML: Map keys must be unique`] };
  }
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.slice(0, 20).map((e) => {
        const line = e.linePos?.[0]?.line ?? (e.pos ? counter.linePos(e.pos[0]).line : undefined);
        const msg = e.message.split('\n')[0] ?? e.message;
        return `${file}${line ? `:${line}` : ''}: invalid YAML: ${msg.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError || /alias/i.test(String((e as Error).message)))
      return {
        problems: [
          `${file}: invalid YAML: aliases expand too far (more than ${MAX_ALIAS_COUNT}); ` +
            `write the values out instead of nesting aliases`,
        ],
      };
    throw e;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !isMap(doc.contents) || isSeq(doc.contents)) {
    return { problems: [`${file}:1: (top level): expected a mapping with name, backends and workloads`] };
  }
  return validateScenarioData(raw, file, doc, counter);
}

/** Largest scenario file read: real ones are a few KiB. */
export const MAX_SCENARIO_BYTES = 1024 * 1024;

export async function loadScenario(file: string): Promise<LoadedScenario> {
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = await readRegularFile(file, MAX_SCENARIO_BYTES);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOTREG' || err.code === 'EFBIG' ? err.message : (err.code ?? String(e));
    throw new IsobenchError(
      'BAD_SCENARIO',
      `${shown.length > 200 ? `${shown.slice(0, 200)}...` : shown}: ` +
        `cannot read scenario file (${why}); see 'isobench scenarios list'`,
    );
  }
  const { scenario, problems } = parseScenarioText(text, shown);
  if (!scenario || problems.length > 0) {
    throw new IsobenchError('BAD_SCENARIO', `${shown}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      details: problems,
    });
  }
  return { file, scenario, source: text };
}
