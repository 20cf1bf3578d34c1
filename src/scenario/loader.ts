/**
 * Load and validate a scenario file. Every problem becomes one line:
 *   <file>:<line>: <field.path>: <what is wrong and what is allowed>
 * and the whole set is thrown as one IsobenchError (exit 2); nothing runs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { IsobenchError } from '../errors.js';
import { scenarioSchema, resolveBackend, backendKey, RUN_KEYS, type Scenario } from './schema.js';
import { allWorkloads } from '../workloads/registry.js';

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  /** The source text as run, for the results. */
  source: string;
}

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, p: readonly PropertyKey[]): number | undefined {
  // Walk down as far as the path exists; report the deepest node found.
  for (let len = p.length; len >= 0; len--) {
    const node = doc.getIn(p.slice(0, len) as unknown[], true) as YamlNode | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return counter.linePos(node.range[0]).line;
    if (len === 0) break;
  }
  return undefined;
}

/** Position of a key (not its value) in a map, for unknown-key errors. */
function keyLine(doc: ReturnType<typeof parseDocument>, counter: LineCounter, parent: readonly PropertyKey[], key: string): number | undefined {
  const node = parent.length === 0 ? doc.contents : doc.getIn(parent as unknown[], true);
  if (isMap(node)) {
    for (const pair of node.items) {
      const k = pair.key as YamlNode | null;
      if (k && 'value' in k && String((k as { value: unknown }).value) === key && k.range) return counter.linePos(k.range[0]).line;
    }
  }
  return lineOf(doc, counter, parent);
}

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
      return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}, got ${got}`;
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}, got ${got}`;
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
  const nested = (issue.errors as z.core.$ZodIssue[][]).flat().filter((i) => i.path.length > 0 || i.code === 'invalid_union');
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
  const result = scenarioSchema().safeParse(raw);
  if (!result.success) {
    const unknownAt = new Set(result.error.issues.filter((i) => i.code === 'unrecognized_keys').map((i) => i.path.join('.')));
    for (const issue of result.error.issues) {
      // "at least one workload" is noise when the only workload given was misspelt.
      if (issue.code === 'custom' && unknownAt.has(issue.path.join('.'))) continue;
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const isWorkloads = issue.path.length === 1 && issue.path[0] === 'workloads';
          const allowed = isWorkloads ? allWorkloads().map((w) => w.name) : knownKeys(raw, issue.path);
          const hint = nearest(key, allowed);
          const line = doc && counter ? keyLine(doc, counter, issue.path, key) : undefined;
          problems.push(
            `${at(line)}: ${fieldPath([...issue.path, key])}: unknown ${isWorkloads ? 'workload' : 'key'} "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`,
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
    if (seen.has(key)) problems.push(`${at(doc && counter ? lineOf(doc, counter, ['backends', i]) : undefined)}: backends[${i}]: "${key}" is listed twice; list each backend variant once`);
    seen.add(key);
  });
  if (scenario.adaptive && scenario.adaptive.maxRepetitions < scenario.repetitions)
    problems.push(`${at(doc && counter ? lineOf(doc, counter, ['adaptive', 'maxRepetitions']) : undefined)}: adaptive.maxRepetitions: must be >= repetitions (${scenario.repetitions})`);
  if (Array.isArray(scenario.instance.cpus) && new Set(scenario.instance.cpus).size !== scenario.instance.cpus.length)
    problems.push(`${at(doc && counter ? lineOf(doc, counter, ['instance', 'cpus']) : undefined)}: instance.cpus: lists a CPU twice`);
  return problems.length ? { problems } : { scenario, problems };
}

/** Keys the schema knows at a path, for "allowed:" hints. */
function knownKeys(_raw: unknown, p: readonly PropertyKey[]): string[] {
  const tables: Record<string, string[]> = {
    '': ['name', 'description', 'backends', 'instance', 'repetitions', 'warmup', 'adaptive', 'thresholds', 'order', 'timeouts', 'workloads'],
    instance: ['vcpus', 'cpus', 'memoryMiB', 'pidsLimit', 'disk'],
    'instance.disk': ['sizeMiB', 'mode'],
    adaptive: ['targetCiPct', 'maxRepetitions', 'maxMinutes'],
    timeouts: ['bootSeconds', 'execSeconds', 'workloadSeconds', 'runMinutes'],
  };
  const key = p.filter((s) => typeof s === 'string').join('.');
  if (tables[key]) return tables[key];
  if (p[0] === 'workloads' && typeof p[1] === 'string') {
    const w = allWorkloads().find((x) => x.name === p[1]);
    const shape = (w?.params as unknown as { shape?: Record<string, unknown>; _def?: { innerType?: { shape?: Record<string, unknown> } } }) ?? {};
    const s = shape.shape ?? shape._def?.innerType?.shape;
    if (s) return [...Object.keys(s), ...RUN_KEYS];
  }
  if (p[0] === 'backends') return ['kind', 'runtime', 'runscPlatform', 'machine', 'accel'];
  return [];
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

/** Parse YAML text; returns problems (YAML syntax errors, then schema problems). */
export function parseScenarioText(text: string, file: string): { scenario?: Scenario; problems: string[] } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const line = e.linePos?.[0]?.line ?? (e.pos ? counter.linePos(e.pos[0]).line : undefined);
        const msg = e.message.split('\n')[0] ?? e.message;
        return `${file}${line ? `:${line}` : ''}: invalid YAML: ${msg.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    };
  }
  const raw = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !isMap(doc.contents) || isSeq(doc.contents)) {
    return { problems: [`${file}:1: (top level): expected a mapping with name, backends and workloads`] };
  }
  return validateScenarioData(raw, file, doc, counter);
}

export async function loadScenario(file: string): Promise<LoadedScenario> {
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IsobenchError('BAD_SCENARIO', `${shown}: cannot read scenario file (${code ?? String(e)}); see 'isobench scenarios list'`);
  }
  const { scenario, problems } = parseScenarioText(text, shown);
  if (!scenario || problems.length > 0) {
    throw new IsobenchError('BAD_SCENARIO', `${shown}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, { details: problems });
  }
  return { file, scenario, source: text };
}
