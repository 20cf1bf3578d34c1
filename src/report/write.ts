/**
 * The one writer of report output: a run's report (reports/<runId>/), a
 * comparison (reports/compare-<A>-vs-<B>/, per host for fleets) and a fleet's
 * report (reports/<fleetId>/). The renderers are pure; this is the only place
 * in src/report that touches the disk. A report folder is built in a
 * temporary directory next to its final place and renamed into place, so a
 * reader never sees half a report and an older report of the same name is
 * replaced whole (no stale PNG of a figure the new report no longer has).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunResults } from '../results/types.js';
import { assertRunId, writeFileAtomic } from '../results/io.js';
import type { HostSpec } from '../capacity/index.js';
import type { FleetModel } from '../fleet/merge.js';
import { loadCapacityHost } from '../capacity/host-profile.js';
import { renderFleetReport } from './fleet.js';
import { renderHtmlFromModel } from './html.js';
import { rawBaseFor } from './html/parts.js';
import { renderMarkdownFromModel } from './markdown.js';
import { buildModel } from './model.js';
import { renderPngsFromModel } from './png.js';
import type { ReportFile } from './report-file.js';

export { DEFAULT_CAPACITY_HOST, loadCapacityHost } from '../capacity/host-profile.js';
export { rawBaseFor } from './html/parts.js';
export type { ReportFile } from './report-file.js';

/**
 * Writes reportsRoot/<name>/ holding exactly `files`, atomically: built in a
 * temporary sibling, then an older folder is moved aside, the new one moved
 * in, and the old one deleted. `name` must be a plain folder name and every
 * file must stay inside it.
 */
export async function writeReportDir(reportsRoot: string, name: string, files: readonly ReportFile[]): Promise<string> {
  const root = path.resolve(reportsRoot);
  const dir = path.join(root, name);
  if (path.dirname(dir) !== root) throw new Error(`report folder ${dir} is not directly under ${root}`);
  await fs.mkdir(root, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(root, `.${name}.tmp-`));
  try {
    await fs.chmod(tmp, 0o755); // mkdtemp makes it 0700; a report is meant to be read
    for (const f of files) {
      const file = path.resolve(tmp, f.name);
      if (!file.startsWith(`${tmp}${path.sep}`)) throw new Error(`report file ${f.name} is not inside its folder`);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, f.data);
    }

    // Replace an older report: move it aside, move the new one in, then delete the old one.
    let old: string | null = null;
    try {
      await fs.access(dir);
      old = `${tmp}.old`;
      await fs.rename(dir, old);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await fs.rename(tmp, dir);
    } catch (e) {
      if (old) await fs.rename(old, dir).catch(() => undefined);
      throw e;
    }
    if (old) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

export interface WriteReportOptions {
  /** Host for the capacity section (default: the example-64c-256g profile); null leaves the section out. */
  capacityHost?: HostSpec | null;
}

/** Writes reports/<runId>/ (index.html, *.png, summary.md). */
export async function writeReport(
  results: RunResults,
  runDir: string,
  reportsRoot: string,
  opts: WriteReportOptions = {},
): Promise<{ dir: string; index: string }> {
  const name = assertRunId(results.runId, `${path.join(runDir, 'results.json')}: runId`);
  const host = opts.capacityHost === null ? undefined : (opts.capacityHost ?? loadCapacityHost());
  const model = buildModel(results, host ? { capacityHost: host } : {});
  const html = renderHtmlFromModel(model, { rawBase: rawBaseFor(path.join(path.resolve(reportsRoot), name), runDir) });
  const md = renderMarkdownFromModel(model);
  const pngs = await renderPngsFromModel(model);
  const dir = await writeReportDir(reportsRoot, name, [
    { name: 'index.html', data: html },
    { name: 'summary.md', data: md },
    ...pngs.map((p) => ({ name: path.basename(p.name), data: p.data })),
  ]);
  return { dir, index: path.join(dir, 'index.html') };
}

/** The folder a comparison of A and B is written to: compare-<A>-vs-<B>. */
function compareName(idA: string, idB: string): string {
  return `compare-${assertRunId(idA, 'compare: first run')}-vs-${assertRunId(idB, 'compare: second run')}`;
}

/**
 * Writes reports/compare-<A>-vs-<B>/ (index.html, compare.md). Both ids come
 * from the results files compared and pass the run-id rule first, so a
 * crafted file cannot place the folder outside reportsRoot.
 */
export async function writeCompareReport(
  idA: string,
  idB: string,
  files: { html: string; markdown: string },
  reportsRoot: string,
): Promise<{ dir: string; index: string }> {
  const dir = await writeReportDir(reportsRoot, compareName(idA, idB), [
    { name: 'index.html', data: files.html },
    { name: 'compare.md', data: files.markdown },
  ]);
  return { dir, index: path.join(dir, 'index.html') };
}

/**
 * Writes a fleet comparison: reports/compare-<A>-vs-<B>/<host>/index.html per
 * host pair and one compare.md. A side may be a fleet, whose id follows the
 * fleet-id rule rather than the run-id one; writeReportDir keeps the folder
 * and every host's file inside reportsRoot.
 */
export async function writeFleetCompareReport(
  idA: string,
  idB: string,
  hosts: readonly { host: string; html: string }[],
  markdown: string,
  reportsRoot: string,
): Promise<{ dir: string }> {
  const dir = await writeReportDir(reportsRoot, `compare-${idA}-vs-${idB}`, [
    ...hosts.map((h) => ({ name: `${h.host}/index.html`, data: h.html })),
    { name: 'compare.md', data: markdown },
  ]);
  return { dir };
}

/** Writes reports/<fleetId>/ and the fleet's samples.jsonl (next to its fleet.json, like a run's). */
export async function writeFleetReport(
  model: FleetModel,
  reportsRoot: string,
): Promise<{ dir: string; index: string }> {
  const name = model.manifest.fleetId;
  const { files, samples } = await renderFleetReport(model, path.join(path.resolve(reportsRoot), name));
  const dir = await writeReportDir(reportsRoot, name, files);
  await writeFileAtomic(path.join(model.fleetDir, 'samples.jsonl'), samples);
  return { dir, index: path.join(dir, 'index.html') };
}
