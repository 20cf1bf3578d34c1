/**
 * Kernel samepage merging (KSM) control for the density workload: read its state,
 * turn it on for a measurement, wait until it has settled, and ALWAYS put the host's
 * settings back (run, pages_to_scan), also when the measurement fails. The sysfs
 * root is a parameter so tests run on a fake directory.
 *
 * Note: restoring run=0 stops ksmd but leaves already merged pages shared until they
 * are written (run=2 would unmerge them all); the host's own setting is what we put
 * back, nothing more.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sleep } from '../util/proc.js';
import { changeHostSetting } from './settings.js';

export const KSM_ROOT = '/sys/kernel/mm/ksm';

export interface KsmState {
  run: number;
  pagesSharing: number;
  pagesShared: number;
  pagesToScan: number;
  fullScans: number;
  /** Pages ksmd looked at so far; undefined on kernels without the counter. */
  pagesScanned: number | undefined;
}

export class Ksm {
  constructor(readonly root: string = KSM_ROOT) {}

  private async num(file: string): Promise<number> {
    const v = Number((await fs.readFile(path.join(this.root, file), 'utf8')).trim());
    if (!Number.isFinite(v)) throw new Error(`${path.join(this.root, file)} is not a number`);
    return v;
  }

  async available(): Promise<boolean> {
    try {
      await fs.access(path.join(this.root, 'run'));
      return true;
    } catch {
      return false;
    }
  }

  async read(): Promise<KsmState> {
    const opt = (f: string): Promise<number> => this.num(f).catch(() => 0);
    const scanned = await this.num('pages_scanned').catch(() => undefined);
    return {
      run: await this.num('run'),
      pagesSharing: await opt('pages_sharing'),
      pagesShared: await opt('pages_shared'),
      pagesToScan: await opt('pages_to_scan'),
      fullScans: await opt('full_scans'),
      pagesScanned: scanned,
    };
  }

  async setRun(v: 0 | 1 | 2 | number): Promise<void> {
    await fs.writeFile(path.join(this.root, 'run'), String(v));
  }

  async setPagesToScan(v: number): Promise<void> {
    await fs.writeFile(path.join(this.root, 'pages_to_scan'), String(Math.max(1, Math.round(v))));
  }
}

/**
 * Run fn with KSM on (and pages_to_scan raised if asked); restores the saved run and
 * pages_to_scan in `finally`. During a run the changes go through the run's host
 * setting guard: the originals are in the state file before the first write, so a
 * forced exit, a signal or `doctor --cleanup` after a SIGKILL puts them back too.
 */
export async function withKsmOn<T>(
  ksm: Ksm,
  opts: { pagesToScan?: number },
  fn: (before: KsmState) => Promise<T>,
): Promise<{ result: T; before: KsmState; restored: { run: number; pagesToScan: number } }> {
  const before = await ksm.read();
  const restores: Array<() => Promise<void>> = [];
  try {
    if (opts.pagesToScan !== undefined)
      restores.push(
        await changeHostSetting(
          path.join(ksm.root, 'pages_to_scan'),
          String(Math.max(1, Math.round(opts.pagesToScan))),
        ),
      );
    restores.push(await changeHostSetting(path.join(ksm.root, 'run'), '1'));
    const result = await fn(before);
    return { result, before, restored: { run: before.run, pagesToScan: before.pagesToScan } };
  } finally {
    // Newest first (run, then pages_to_scan), each on its own: one failing must not skip the other.
    for (const r of restores.reverse()) await r().catch(() => undefined);
  }
}

/**
 * Settled: the last `stableReads` pages_sharing readings differ by at most
 * `tolerance` (relative) or 16 pages, and either ksmd finished at least
 * `minFullScans` full scans since the start, or it is idle: its pages_scanned
 * counter did not move over those readings (nothing is marked mergeable, e.g.
 * containers only), which `scannedHistory` tells when the kernel has the counter.
 */
export function isKsmSettled(
  history: readonly number[],
  fullScansSinceStart: number,
  o: { stableReads?: number; tolerance?: number; minFullScans?: number; scannedHistory?: readonly number[] } = {},
): boolean {
  const n = o.stableReads ?? 3;
  if (history.length < n) return false;
  const last = history.slice(-n);
  const lo = Math.min(...last);
  const hi = Math.max(...last);
  if (hi - lo > Math.max(16, (o.tolerance ?? 0.01) * hi)) return false;
  if (fullScansSinceStart >= (o.minFullScans ?? 2)) return true;
  const sc = o.scannedHistory;
  if (sc && sc.length >= n + 1) {
    const tail = sc.slice(-(n + 1));
    return tail.every((v) => v === tail[0]);
  }
  return false;
}

/** Polls until KSM settles or timeoutMs; an abort (o.signal) ends the wait at once with an AbortError. */
export async function waitKsmSettled(
  ksm: Ksm,
  o: { timeoutMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<{ settled: boolean; waitedMs: number; state: KsmState; history: number[] }> {
  const t0 = performance.now();
  const start = await ksm.read();
  const history: number[] = [];
  const scanned: number[] = [];
  let state = start;
  for (;;) {
    state = await ksm.read();
    history.push(state.pagesSharing);
    if (state.pagesScanned !== undefined) scanned.push(state.pagesScanned);
    if (
      isKsmSettled(
        history,
        state.fullScans - start.fullScans,
        scanned.length === history.length ? { scannedHistory: scanned } : {},
      )
    )
      return { settled: true, waitedMs: performance.now() - t0, state, history };
    if (performance.now() - t0 > o.timeoutMs)
      return { settled: false, waitedMs: performance.now() - t0, state, history };
    await sleep(o.pollMs ?? 1000, o.signal);
  }
}
