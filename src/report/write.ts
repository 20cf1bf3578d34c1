/**
 * Writes a run's report: reports/<runId>/index.html, *.png and summary.md.
 * The renderers are pure; this is the only place that touches the disk. The
 * report is built in a temporary directory next to its final place and
 * renamed into place, so a reader never sees half a report and an older
 * report of the same run is replaced whole.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunResults } from '../results/types.js';
import { assertRunId, writeFileAtomic } from '../results/io.js';
import { parseHostSpec, type HostSpec } from '../capacity/index.js';
import { renderHtmlFromModel } from './html.js';
import { renderMarkdownFromModel } from './markdown.js';
import { buildModel } from './model.js';
import { renderPngsFromModel } from './png.js';

/** Link prefix from the report directory to the run directory, POSIX separators, ending in "/". */
export function rawBaseFor(reportDir: string, runDir: string): string {
  const rel = path.relative(path.resolve(reportDir), path.resolve(runDir)).split(path.sep).join('/');
  return rel === '' ? './' : `${rel}/`;
}

/** The host profile the report's capacity section uses (scenarios/hosts/<name>.yaml). */
export const DEFAULT_CAPACITY_HOST = 'example-64c-256g';

/**
 * Loads the capacity section's host profile. A missing or broken profile costs
 * the section, never the report: the section then says how to run
 * `isobench capacity` by hand.
 */
export function loadCapacityHost(name: string = DEFAULT_CAPACITY_HOST, hostsDir?: string): HostSpec | undefined {
  try {
    return parseHostSpec(name, hostsDir !== undefined ? { hostsDir } : {});
  } catch {
    return undefined;
  }
}

export interface WriteReportOptions {
  /** Host for the capacity section (default: the example-64c-256g profile); null leaves the section out. */
  capacityHost?: HostSpec | null;
}

export async function writeReport(results: RunResults, runDir: string, reportsRoot: string, opts: WriteReportOptions = {}): Promise<{ dir: string; index: string }> {
  const root = path.resolve(reportsRoot);
  const dir = path.join(root, assertRunId(results.runId, `${path.join(runDir, 'results.json')}: runId`));
  await fs.mkdir(root, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(root, `.${results.runId}.tmp-`));
  try {
    const host = opts.capacityHost === null ? undefined : (opts.capacityHost ?? loadCapacityHost());
    const model = buildModel(results, host ? { capacityHost: host } : {});
    const html = renderHtmlFromModel(model, { rawBase: rawBaseFor(dir, runDir) });
    const md = renderMarkdownFromModel(model);
    const pngs = await renderPngsFromModel(model);
    await fs.chmod(tmp, 0o755); // mkdtemp makes it 0700; a report is meant to be read
    await fs.writeFile(path.join(tmp, 'index.html'), html);
    await fs.writeFile(path.join(tmp, 'summary.md'), md);
    for (const p of pngs) await fs.writeFile(path.join(tmp, path.basename(p.name)), p.data);

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
  return { dir, index: path.join(dir, 'index.html') };
}

/**
 * Writes reports/compare-<A>-vs-<B>/ (index.html, compare.md). Both ids come
 * from the results files compared and pass the run-id rule first, so a
 * crafted file cannot place the folder outside reportsRoot.
 */
export async function writeCompareReport(idA: string, idB: string, files: { html: string; markdown: string }, reportsRoot: string): Promise<{ dir: string; index: string }> {
  const name = `compare-${assertRunId(idA, 'compare: first run')}-vs-${assertRunId(idB, 'compare: second run')}`;
  const root = path.resolve(reportsRoot);
  const dir = path.join(root, name);
  if (path.dirname(dir) !== root) throw new Error(`compare folder ${dir} is not directly under ${root}`);
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, 'index.html'), files.html);
  await writeFileAtomic(path.join(dir, 'compare.md'), files.markdown);
  return { dir, index: path.join(dir, 'index.html') };
}
