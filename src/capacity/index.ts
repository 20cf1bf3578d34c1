/**
 * `isobench capacity`: load a run's results.json, build the capacity plan, render it.
 * The model lives in model.ts (formulas in its header and docs/capacity.md).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IsobenchError, EXIT_OK } from '../errors.js';
import type { RunResults } from '../results/types.js';
import { loadResultsFile } from '../results/io.js';
import { buildPlan, type CapacityPlan, type PlanOptions } from './model.js';
import { parseHostSpec, parseInstanceDemand, parseReserve } from './spec.js';
import { renderJson, renderMarkdown, renderText } from './render.js';

export type { CapacityPlan } from './model.js';
export { buildPlan, metricLookup, DEFAULT_SWEEP_MIB, DEFAULT_BREAK_EVEN_PCT } from './model.js';
export { parseHostSpec, parseInstanceDemand, parseReserve, loadHostProfile, DEFAULT_RESERVE } from './spec.js';
export type { HostSpec, InstanceDemand, ReserveSpec } from './spec.js';
export {
  renderText,
  renderJson,
  renderMarkdown,
  renderRuntimeClassYaml,
  capacityChartData,
  capacitySweepChartData,
} from './render.js';
export type { CapacityChartData, SweepChartData } from './render.js';

/** Options of planCapacity: the model's own (host, demand, target, reserve, sweep, break-even). */
export type PlanCapacityOptions = PlanOptions;

/** Build the capacity plan of a run (pure). */
export function planCapacity(results: RunResults, opts: PlanCapacityOptions): CapacityPlan {
  return buildPlan(results, opts);
}

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
      throw new IsobenchError(
        'BAD_RESULTS',
        `run directory ${c} has no results.json: it is not a finished isobench run (re-run it or pick another run id)`,
      );
    }
  }
  throw new IsobenchError(
    'BAD_ARGS',
    `--run ${run}: no such run id under ${resultsRoot} and no such directory: ` +
      `give a run id listed in ${resultsRoot}/ or a run directory`,
  );
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
    if (!/^\d+$/.test(t) || Number(t) <= 0)
      throw new IsobenchError('BAD_ARGS', `--target must be a whole number of instances > 0, got "${args.target}"`);
    target = Number(t);
  }
  if (!args.run || args.run.trim() === '')
    throw new IsobenchError(
      'BAD_ARGS',
      '--run is required: give a run id (a directory under results/) or a run directory',
    );
  // The one results loader (results/io.ts): the same schema and upgrade as report and compare.
  const results = await loadResultsFile(resolveResultsFile(args.run, args.resultsRoot));
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
