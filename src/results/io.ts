/**
 * Reading and writing a run directory. Writes are atomic (temp file + rename)
 * and happen after every measured cell, so a crash loses nothing already
 * measured and never leaves a corrupt results.json.
 */
import { promises as fs, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { IsobenchError } from '../errors.js';
import { READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, type RunResults, type SampleRow } from './types.js';
import { upgradeResults } from './upgrade.js';

export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

export function sampleRows(results: RunResults): SampleRow[] {
  const rows: SampleRow[] = [];
  const hostname = (results.host as { hostname?: unknown } | undefined)?.hostname;
  for (const cell of results.cells) {
    const backend = results.backends.find((b) => b.label === cell.backend);
    for (const m of cell.metrics) {
      m.values.forEach((value, i) => {
        rows.push({
          runId: results.runId,
          backend: backend?.kind ?? cell.backend,
          variant: backend?.variant ?? '',
          workload: cell.workload,
          metric: m.metric,
          unit: m.unit,
          higherIsBetter: m.higherIsBetter,
          repetition: m.repetitions[i] ?? i + 1,
          value,
          rawLog: m.rawLogs[i] ?? '',
          ...(typeof hostname === 'string' ? { host: hostname } : {}),
        });
      });
    }
  }
  return rows;
}

export async function writeResults(runDir: string, results: RunResults): Promise<void> {
  await writeFileAtomic(path.join(runDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const lines = sampleRows(results).map((r) => JSON.stringify(r));
  await writeFileAtomic(path.join(runDir, 'samples.jsonl'), lines.length ? `${lines.join('\n')}\n` : '');
}

const resultsShape = z
  .object({
    schemaVersion: z.number().refine((v) => READABLE_SCHEMA_VERSIONS.includes(v), { message: `unsupported schemaVersion (this isobench reads ${READABLE_SCHEMA_VERSIONS.join(', ')})` }),
    tool: z.object({ name: z.literal('isobench'), version: z.string() }),
    runId: z.string(),
    status: z.enum(['complete', 'partial', 'failed']),
    startedAt: z.string(),
    backends: z.array(z.object({ label: z.string(), kind: z.enum(['native', 'container', 'vm']), accelerator: z.string() }).passthrough()),
    cells: z.array(
      z
        .object({
          backend: z.string(),
          workload: z.string(),
          state: z.enum(['complete', 'partial', 'failed', 'skipped']),
          metrics: z.array(
            z.object({ metric: z.string(), unit: z.string(), higherIsBetter: z.boolean(), values: z.array(z.number()), repetitions: z.array(z.number()), rawLogs: z.array(z.string()) }).passthrough(),
          ),
        })
        .passthrough(),
    ),
    overheads: z.array(z.unknown()),
  })
  .passthrough();

/** Resolve "run id or run dir" to a directory holding results.json. */
export function resolveRunDir(ref: string, resultsRoot: string): string {
  const candidates = [ref, path.join(resultsRoot, ref)];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isDirectory() && existsSync(path.join(c, 'results.json'))) return path.resolve(c);
    if (existsSync(c) && statSync(c).isFile() && path.basename(c) === 'results.json') return path.resolve(path.dirname(c));
  }
  throw new IsobenchError('BAD_ARGS', `no run "${ref}": expected a run id under ${resultsRoot}/ or a run directory holding results.json (see ls ${resultsRoot})`);
}

/** Load and check a results.json; a corrupt or foreign file is one clear error (exit 2). */
export async function loadResults(runDir: string): Promise<RunResults> {
  return loadResultsFile(path.join(runDir, 'results.json'));
}

/** A run id, a run directory, or a path to any results JSON file (e.g. a recorded one). */
export async function loadResultsRef(ref: string, resultsRoot: string): Promise<RunResults> {
  if (ref.endsWith('.json') && existsSync(ref) && statSync(ref).isFile()) return loadResultsFile(ref);
  return loadResults(resolveRunDir(ref, resultsRoot));
}

export async function loadResultsFile(file: string): Promise<RunResults> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new IsobenchError('BAD_RESULTS', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new IsobenchError('BAD_RESULTS', `${file}: not valid JSON (${(e as Error).message}); the file is corrupt: re-run or restore it`);
  }
  if (data && typeof data === 'object' && 'schemaVersion' in data && !READABLE_SCHEMA_VERSIONS.includes((data as { schemaVersion: number }).schemaVersion)) {
    throw new IsobenchError(
      'BAD_RESULTS',
      `${file}: schemaVersion ${JSON.stringify((data as { schemaVersion: unknown }).schemaVersion)} is not supported (this isobench reads ${READABLE_SCHEMA_VERSIONS.join(' and ')}; version ${SCHEMA_VERSION} is written, older ones are upgraded on read)`,
    );
  }
  const parsed = resultsShape.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') || '(top level)' : '(top level)';
    throw new IsobenchError('BAD_RESULTS', `${file}: not an isobench results file: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  // Version 1: comparisons, verdicts and the headline are recomputed from the measured values.
  return upgradeResults(data as { schemaVersion: number } & Record<string, unknown>);
}
