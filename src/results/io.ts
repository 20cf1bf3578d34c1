/**
 * Reading and writing a run directory. Writes are atomic (temp file, fsync,
 * rename, fsync of the folder) and happen after every measured cell, so a
 * crash or power loss loses nothing already measured and never leaves a
 * corrupt results.json. samples.jsonl is written first and results.json
 * names its hash, so a reader can tell whether the pair it read matches.
 */
import { promises as fs, constants as fsConstants, existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { IsobenchError } from '../errors.js';
import { READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, type RunResults, type SampleRow } from './types.js';
import { upgradeResults } from './upgrade.js';
import { resultsFileV1Schema, runResultsSchema } from './schema.js';
import { writeFileAtomic } from '../util/atomic-file.js';

// Reports and fleet files write through the same durable helper.
export { writeFileAtomic };

/**
 * The run-id rule: a plain folder name (letters, digits, ".", "_", "-", starting
 * with a letter or digit, at most 81 characters). Every path built from a run
 * id, including ids read from results files, passes through here.
 */
export const RUN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/;

export function assertRunId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !RUN_ID_RE.test(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}...` : id) : String(id);
    throw new IsobenchError(
      'BAD_ARGS',
      `${where}: run id ${shown} is not a plain name: use 1-81 letters, digits, ".", "_" and "-", ` +
        `starting with a letter or digit (no "/" or "..")`,
    );
  }
  return id;
}

/** Largest file isobench reads as input (a scenario or a results file). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * Read a regular file as text without ever blocking on a FIFO or a device:
 * it is opened non-blocking and checked with fstat on the same descriptor.
 */
export async function readRegularFile(file: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
  const fh = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      const what = st.isFIFO()
        ? 'a FIFO'
        : st.isDirectory()
          ? 'a directory'
          : st.isCharacterDevice() || st.isBlockDevice()
            ? 'a device'
            : st.isSocket()
              ? 'a socket'
              : 'not a regular file';
      throw Object.assign(new Error(`${what}, not a regular file`), { code: 'ENOTREG' });
    }
    if (st.size > maxBytes)
      throw Object.assign(
        new Error(`${(st.size / 1048576).toFixed(1)} MiB, more than the ${maxBytes / 1048576} MiB isobench reads`),
        { code: 'EFBIG' },
      );
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
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
          ...(m.rounds?.[i] ? { round: m.rounds[i] } : {}),
          ...(m.starts?.[i] ? { startedAt: m.starts[i] } : {}),
          ...(m.ends?.[i] ? { endedAt: m.ends[i] } : {}),
          ...(typeof hostname === 'string' ? { host: hostname } : {}),
        });
      });
    }
  }
  return rows;
}

const writeQueues = new Map<string, Promise<void>>();

export function samplesText(results: RunResults): string {
  const lines = sampleRows(results).map((r) => JSON.stringify(r));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Write samples.jsonl, then results.json naming its hash. Writes to one run
 * directory are serialised (a forced exit may write while the run's last
 * write is under way), so the newest snapshot is the one that stays.
 */
export function writeResults(runDir: string, results: RunResults): Promise<void> {
  const key = path.resolve(runDir);
  const prev = writeQueues.get(key) ?? Promise.resolve();
  const next = prev
    .catch(() => undefined)
    .then(async () => {
      const samples = samplesText(results);
      await writeFileAtomic(path.join(runDir, 'samples.jsonl'), samples);
      const withHash: RunResults = {
        ...results,
        samples: {
          file: 'samples.jsonl',
          rows: samples ? samples.split('\n').length - 1 : 0,
          sha256: createHash('sha256').update(samples).digest('hex'),
        },
      };
      await writeFileAtomic(path.join(runDir, 'results.json'), `${JSON.stringify(withHash, null, 2)}\n`);
    });
  writeQueues.set(key, next);
  void next
    .finally(() => {
      if (writeQueues.get(key) === next) writeQueues.delete(key);
    })
    .catch(() => undefined);
  return next;
}

/**
 * results.json and the samples.jsonl that matches it. A writer may replace
 * both between the two reads; the hash tells, and the pair is read again.
 */
export async function loadResultsWithSamples(runDir: string): Promise<{ results: RunResults; samples: string }> {
  for (let attempt = 0; ; attempt++) {
    const results = await loadResults(runDir);
    const samples = await readRegularFile(path.join(runDir, 'samples.jsonl')).catch(() => '');
    const want = results.samples?.sha256;
    if (!want || createHash('sha256').update(samples).digest('hex') === want) return { results, samples };
    if (attempt >= 20)
      throw new IsobenchError(
        'BAD_RESULTS',
        `${runDir}: samples.jsonl does not match results.json (a writer is still running, ` +
          `or the files were edited by hand)`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolve "run id or run dir" to a directory holding results.json. */
export function resolveRunDir(ref: string, resultsRoot: string): string {
  const candidates = [ref, ...(RUN_ID_RE.test(ref) ? [path.join(resultsRoot, ref)] : [])];
  for (const c of candidates) {
    try {
      if (existsSync(c) && statSync(c).isDirectory() && existsSync(path.join(c, 'results.json')))
        return path.resolve(c);
      if (existsSync(c) && statSync(c).isFile() && path.basename(c) === 'results.json')
        return path.resolve(path.dirname(c));
    } catch {
      /* ENAMETOOLONG and friends: not a run */
    }
  }
  throw new IsobenchError(
    'BAD_ARGS',
    `no run "${ref}": expected a run id under ${resultsRoot}/ or a run ` +
      `directory holding results.json (see ls ${resultsRoot})`,
  );
}

/** Load and check a results.json; a corrupt or foreign file is one clear error (exit 2). */
export async function loadResults(runDir: string): Promise<RunResults> {
  return loadResultsFile(path.join(runDir, 'results.json'));
}

/** A run id, a run directory, or a path to any results JSON file (e.g. a recorded one). */
export async function loadResultsRef(ref: string, resultsRoot: string): Promise<RunResults> {
  if (ref.endsWith('.json') && existsSync(ref)) return loadResultsFile(ref);
  return loadResults(resolveRunDir(ref, resultsRoot));
}

/**
 * The one results loader: every reader (report, compare, capacity, resume,
 * fleet) gets its RunResults here. Reads the file without blocking, parses it
 * with the one schema (schema.ts) and upgrades a version-1 file; a corrupt,
 * foreign or mistyped file is one BAD_RESULTS error (exit 2) naming the path of
 * the first wrong field.
 */
export async function loadResultsFile(file: string): Promise<RunResults> {
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOTREG' || err.code === 'EFBIG' ? err.message : (err.code ?? String(e));
    throw new IsobenchError('BAD_RESULTS', `${file}: cannot read (${why})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new IsobenchError(
      'BAD_RESULTS',
      `${file}: not valid JSON (${(e as Error).message}); the file is corrupt: re-run or restore it`,
    );
  }
  return parseResults(data, file);
}

/** Check parsed JSON against the results schema (upgrading version 1); `where` names the source in errors. */
export function parseResults(data: unknown, where: string): RunResults {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new IsobenchError(
      'BAD_RESULTS',
      `${where}: not an isobench results file: (top level): expected a JSON object`,
    );
  const version = (data as { schemaVersion?: unknown }).schemaVersion;
  if ('schemaVersion' in data && (typeof version !== 'number' || !READABLE_SCHEMA_VERSIONS.includes(version))) {
    throw new IsobenchError(
      'BAD_RESULTS',
      `${where}: schemaVersion ${JSON.stringify(version)} is not supported (this isobench reads ` +
        `${READABLE_SCHEMA_VERSIONS.join(' and ')}; version ${SCHEMA_VERSION} is written, ` +
        `older ones are upgraded on read)`,
    );
  }
  // Version 1: comparisons and verdicts are recomputed from the measured values.
  const parsed = version === 1 ? resultsFileV1Schema.safeParse(data) : runResultsSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue ? issue.path.map(String).join('.') || '(top level)' : '(top level)';
    // One line (bad input is reported in one line): the first problem, and how many more there are.
    const more = parsed.error.issues.length - 1;
    throw new IsobenchError(
      'BAD_RESULTS',
      `${where}: not an isobench results file: ${path}: ` +
        `${issue?.message ?? 'invalid'}${more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''}`,
    );
  }
  return parsed.data.schemaVersion === 1 ? upgradeResults(parsed.data) : parsed.data;
}
