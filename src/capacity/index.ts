/**
 * `isobench capacity`: load a run's results.json, build the capacity plan, render it.
 * The model lives in model.ts (formulas in its header and docs/capacity.md).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { IsobenchError, EXIT_OK } from '../errors.js';
import { READABLE_SCHEMA_VERSIONS, type RunResults } from '../results/types.js';
import { upgradeResults } from '../results/upgrade.js';
import { BACKEND_KINDS } from '../backends/types.js';
import { buildPlan, type CapacityPlan, type PlanOptions } from './model.js';
import { parseHostSpec, parseInstanceDemand, parseReserve } from './spec.js';
import { renderJson, renderMarkdown, renderText } from './render.js';

export type { CapacityPlan } from './model.js';
export { buildPlan, METRIC_LOOKUP, DEFAULT_SWEEP_MIB, DEFAULT_BREAK_EVEN_PCT } from './model.js';
export { parseHostSpec, parseInstanceDemand, parseReserve, loadHostProfile, DEFAULT_RESERVE } from './spec.js';
export type { HostSpec, InstanceDemand, ReserveSpec } from './spec.js';
export { renderText, renderJson, renderMarkdown, renderRuntimeClassYaml, capacityChartData, capacitySweepChartData } from './render.js';
export type { CapacityChartData, SweepChartData } from './render.js';

/** Options of planCapacity: the model's own (host, demand, target, reserve, sweep, break-even). */
export type PlanCapacityOptions = PlanOptions;

/** Build the capacity plan of a run (pure). */
export function planCapacity(results: RunResults, opts: PlanCapacityOptions): CapacityPlan {
  return buildPlan(results, opts);
}

/** Minimal shape check: enough for the capacity model to read safely. Extra fields pass. */
const MinimalResults = z.looseObject({
  schemaVersion: z.number(),
  runId: z.string(),
  status: z.string(),
  backends: z.array(
    z.looseObject({ label: z.string(), kind: z.enum(BACKEND_KINDS), variant: z.string(), accelerator: z.string() }),
  ),
  cells: z.array(z.looseObject({ backend: z.string(), workload: z.string(), metrics: z.array(z.looseObject({ metric: z.string(), values: z.array(z.number()) })) })),
  overheads: z.array(
    z.looseObject({ backend: z.string(), workload: z.string(), metric: z.string(), ratio: z.number(), ratioCi95: z.tuple([z.number(), z.number()]), higherIsBetter: z.boolean() }),
  ),
});

/** Resolve `--run`: a run id under resultsRoot, a run directory, or a results.json path. */
export function resolveResultsFile(run: string, resultsRoot: string): string {
  const candidates = [resolve(run), join(resultsRoot, run)];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const st = statSync(c);
    if (st.isFile()) return c;
    if (st.isDirectory()) {
      const f = join(c, 'results.json');
      if (existsSync(f)) return f;
      throw new IsobenchError('BAD_RESULTS', `run directory ${c} has no results.json: it is not a finished isobench run (re-run it or pick another run id)`);
    }
  }
  throw new IsobenchError('BAD_ARGS', `--run ${run}: no such run id under ${resultsRoot} and no such directory: give a run id listed in ${resultsRoot}/ or a run directory`);
}

/** Read and minimally validate results.json. Corrupt or foreign files throw BAD_RESULTS. */
export function loadRunResults(file: string): RunResults {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new IsobenchError('BAD_RESULTS', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IsobenchError('BAD_RESULTS', `${file} is not valid JSON (${e instanceof Error ? e.message : String(e)}): the run may have been interrupted while writing it`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new IsobenchError('BAD_RESULTS', `${file} is not an isobench results file (expected a JSON object)`);
  const sv = (doc as Record<string, unknown>).schemaVersion;
  if (typeof sv !== 'number' || !READABLE_SCHEMA_VERSIONS.includes(sv)) {
    throw new IsobenchError(
      'BAD_RESULTS',
      sv === undefined
        ? `${file} has no schemaVersion: it is not an isobench results file`
        : `${file} has schemaVersion ${JSON.stringify(sv)}; this isobench reads schemaVersion ${READABLE_SCHEMA_VERSIONS.join(' and ')}`,
    );
  }
  const r = MinimalResults.safeParse(doc);
  if (!r.success) {
    const details = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new IsobenchError('BAD_RESULTS', `${file} is not a valid schemaVersion ${String(sv)} results file (${details[0]})`, { details });
  }
  // A version-1 file gets its comparisons recomputed from its cells with today's estimator.
  return upgradeResults(doc as { schemaVersion: number } & Record<string, unknown>);
}

export interface CapacityCommandArgs {
  run: string;
  host: string;
  instance: string;
  target?: string;
  reserve?: string;
  json?: boolean;
  markdown?: boolean;
  resultsRoot: string;
  /** Where host profile names are looked up (default <package>/scenarios/hosts). */
  hostsDir?: string;
}

/**
 * The `isobench capacity` command. Returns the text to print on stdout and the exit code.
 * Bad input (specs, run id, results file) throws IsobenchError with exitCode 2
 * (BAD_ARGS / BAD_RESULTS), which the CLI prints without a stack.
 */
export async function runCapacityCommand(args: CapacityCommandArgs): Promise<{ text: string; exitCode: number }> {
  // Validate all arguments before touching the results.
  const host = parseHostSpec(args.host, args.hostsDir !== undefined ? { hostsDir: args.hostsDir } : {});
  const instance = parseInstanceDemand(args.instance);
  const reserve = args.reserve !== undefined ? parseReserve(args.reserve) : undefined;
  let target: number | undefined;
  if (args.target !== undefined) {
    const t = args.target.trim();
    if (!/^\d+$/.test(t) || Number(t) <= 0) throw new IsobenchError('BAD_ARGS', `--target must be a whole number of instances > 0, got "${args.target}"`);
    target = Number(t);
  }
  if (!args.run || args.run.trim() === '') throw new IsobenchError('BAD_ARGS', '--run is required: give a run id (a directory under results/) or a run directory');
  const results = loadRunResults(resolveResultsFile(args.run, args.resultsRoot));
  const opts: PlanCapacityOptions = { host, instance };
  if (target !== undefined) opts.target = target;
  if (reserve !== undefined) opts.reserve = reserve;
  const plan = planCapacity(results, opts);
  let text: string;
  if (args.json) text = renderJson(plan);
  else if (args.markdown) text = renderMarkdown(plan);
  else text = renderText(plan);
  return { text, exitCode: EXIT_OK };
}
