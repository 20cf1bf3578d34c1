/**
 * Plausibility checks on a run's overheads: a backend that beats native is a bug
 * until explained (ARCHITECTURE "Rules that keep results honest").
 *
 *  - CPU, memory and syscall figures (workloads cpu and memory): isolation adds
 *    work, it cannot remove it. An overhead whose whole 95% CI lies more than
 *    MARGIN_PCT on the "better" side is flagged `implausible`, with the raw logs
 *    of both sides and a hint (usually different work or different placement:
 *    the environment check in cells[].extra.environment says what differed).
 *  - Disk figures: every metric of a disk cell whose device check
 *    (`device-read-bytes-per-fio-byte`) is outside [DEVICE_CHECK_MIN, DEVICE_CHECK_MAX] gets a
 *    note, and its overheads (and those against a native cell that fails the
 *    check) are flagged: reads that a cache served describe memory, not the
 *    disk. A check that could not be made (no counter source on the host) is a
 *    note and a warning, "device reach not checked": missing evidence is shown
 *    as missing, never as a failed check. gVisor (runsc) drops O_DIRECT (gvisor#3626): its disk metrics carry
 *    that note, and pass only when the check shows the reads reached the device.
 *  - The device check itself is not a cost: it is dropped from the overheads.
 *
 * Flagged overheads stay in results.json (so every report can show them, marked),
 * and capacity never uses them. Pure: cells, backends and overheads in, the same
 * with notes/flags plus warnings out.
 */
import type { BackendResult, Cell, Implausible, MetricResult, Overhead, Warning } from '../results/types.js';
import { variantDeclaration, workloadDeclaration } from '../core/declarations.js';

// ---- What the workloads and providers declare (src/core/declarations.ts); no workload or backend named here. ----

/** The workload's declared measurement check (the disk device check), if any. */
function checkOf(workload: string): { metric: string; min: number; max: number } | undefined {
  return workloadDeclaration(workload)?.check;
}

/** Workloads whose figures isolation can only make worse (cpu holds the syscall figure). */
function cannotBeatNative(workload: string): boolean {
  return workloadDeclaration(workload)?.judgement.cannotBeatNative === true;
}

/** Notes a backend's variant declares for a workload's figures (gVisor's O_DIRECT caveat on disk). */
function caveatNotes(variant: string | undefined, workload: string): string[] {
  const caveats = variantDeclaration(variant)?.caveats ?? [];
  return caveats.filter((c) => c.workloads?.includes(workload) ?? true).map((c) => c.note);
}

// ----

/** How far beyond its CI a backend may beat native before the figure is flagged, percent. */
export const MARGIN_PCT = 5;

export interface PlausibilityOutcome {
  cells: Cell[];
  overheads: Overhead[];
  warnings: Warning[];
}

function median(xs: readonly number[]): number | undefined {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The check's median, or undefined when the cell has no check value (it could not be made). */
function deviceCheckMedian(cell: Cell): number | undefined {
  const DEVICE_CHECK_METRIC = checkOf(cell.workload)?.metric;
  const check = cell.metrics.find((m) => m.metric === DEVICE_CHECK_METRIC);
  return check ? median(check.values) : undefined;
}

/**
 * Why a disk cell's figures did not reach the device, or undefined when they did or
 * when the check could not be made: missing evidence is not a failure (see
 * deviceCheckMissing), only a measured ratio outside the band is.
 */
export function deviceCheckFailure(cell: Cell): string | undefined {
  const decl = checkOf(cell.workload);
  const med = deviceCheckMedian(cell);
  if (!decl || med === undefined) return undefined;
  const { min: DEVICE_CHECK_MIN, max: DEVICE_CHECK_MAX } = decl;
  if (med < DEVICE_CHECK_MIN)
    return (
      `reads did not reach the device: ${med.toFixed(2)} bytes read from the device ` +
      `per byte fio read (median; < ${DEVICE_CHECK_MIN})`
    );
  if (med > DEVICE_CHECK_MAX)
    return (
      `the device read ${med.toFixed(2)} bytes per byte fio read (median; > ${DEVICE_CHECK_MAX}): ` +
      `a buffered path with readahead, not the direct reads the other backends did`
    );
  return undefined;
}

/** "device reach not checked: <why>" for a disk cell whose check could not be made, else undefined. */
export function deviceCheckMissing(cell: Cell): string | undefined {
  if (!checkOf(cell.workload) || cell.metrics.length === 0 || deviceCheckMedian(cell) !== undefined) return undefined;
  const recorded = cell.extra?.deviceCheck;
  const first = Array.isArray(recorded)
    ? (recorded[0] as { data?: { why?: unknown } } | undefined)?.data?.why
    : undefined;
  const why = typeof first === 'string' ? `: ${first}` : ' (no block-I/O evidence was recorded for this cell)';
  return `device reach not checked${why}`;
}

function rawLogsOf(cells: Cell[], backend: string, workload: string, metric: string): string[] {
  const c = cells.find((x) => x.backend === backend && x.workload === workload);
  return (c?.metrics.find((m) => m.metric === metric)?.rawLogs ?? []).filter(Boolean);
}

function addNote(m: MetricResult, note: string): MetricResult {
  const notes = m.notes ?? [];
  return notes.includes(note) ? m : { ...m, notes: [...notes, note] };
}

export function checkPlausibility(
  cells: Cell[],
  backends: BackendResult[],
  overheads: Overhead[],
): PlausibilityOutcome {
  const native = backends.find((b) => b.kind === 'native')?.label;
  const variantOf = new Map(backends.map((b) => [b.label, b.variant]));
  // Disk cells: notes on every figure of a cell whose reads did not reach the device.
  const diskFailure = new Map<string, string>();
  const notChecked = new Map<string, { workload: string; text: string }>();
  const outCells = cells.map((c) => {
    const decl = checkOf(c.workload);
    if (!decl || c.metrics.length === 0) return c;
    const why = deviceCheckFailure(c);
    if (why) diskFailure.set(c.backend, why);
    const unchecked = deviceCheckMissing(c);
    if (unchecked) notChecked.set(c.backend, { workload: c.workload, text: unchecked });
    const caveats = caveatNotes(variantOf.get(c.backend), c.workload);
    // A declared caveat (gVisor drops O_DIRECT): without a check that shows otherwise the figures are not comparable.
    if (caveats.length > 0 && unchecked) diskFailure.set(c.backend, `${caveats.join('; ')}; ${unchecked}`);
    if (!why && caveats.length === 0 && !unchecked) return c;
    return {
      ...c,
      metrics: c.metrics.map((m) => {
        if (m.metric === decl.metric) return m;
        let out = m;
        for (const note of caveats) out = addNote(out, note);
        if (why) out = addNote(out, `not comparable: ${why}`);
        if (unchecked) out = addNote(out, unchecked);
        return out;
      }),
    };
  });

  const warnings: Warning[] = [];
  const outOverheads: Overhead[] = [];
  for (const o of overheads) {
    if (checkOf(o.workload)?.metric === o.metric) continue;
    let flag: Implausible | undefined;
    const logs = (): string[] => [
      ...rawLogsOf(outCells, o.backend, o.workload, o.metric),
      ...(native ? rawLogsOf(outCells, native, o.workload, o.metric) : []),
    ];
    if (cannotBeatNative(o.workload) && o.verdict === 'better' && o.overheadPctCi95[1] < -MARGIN_PCT) {
      flag = {
        reason:
          `${o.backend} beats native by ${(-o.overheadPct).toFixed(1)}% ` +
          `(95% CI ${(-o.overheadPctCi95[1]).toFixed(1)}% to ${(-o.overheadPctCi95[0]).toFixed(1)}%, ` +
          `beyond the ${MARGIN_PCT}% margin) on a ${o.workload} figure: isolation adds work, it cannot remove it`,
        hint:
          `compare cells[].extra.environment of both backends (mount count, /etc, THP mode, seccomp, CPUs, ` +
          `cgroup) and the raw logs: a backend that beats native usually does ` +
          `different work or runs with different placement`,
        rawLogs: logs(),
      };
    } else if (checkOf(o.workload)) {
      const why = diskFailure.get(o.backend) ?? (native ? diskFailure.get(native) : undefined);
      if (why) {
        const side = diskFailure.has(o.backend) ? o.backend : 'native';
        flag = {
          reason: `${side}: ${why}`,
          hint:
            `the figure describes a cache, not the disk: check the disk mode (image needs a direct-I/O loop ` +
            `device), O_DIRECT support (gVisor drops it), and the disk-device-check raw log`,
          rawLogs: logs(),
        };
      }
    }
    if (!flag) {
      outOverheads.push(o);
      continue;
    }
    outOverheads.push({ ...o, implausible: flag });
    warnings.push({
      code: 'IMPLAUSIBLE',
      backend: o.backend,
      workload: o.workload,
      message:
        `${o.backend} ${o.workload} ${o.metric}: implausible, kept out of capacity: ${flag.reason}. Hint: ` +
        `${flag.hint}. Raw logs: ${flag.rawLogs.slice(0, 4).join(', ') || 'none'}`,
    });
  }
  for (const [backend, { workload, text }] of notChecked)
    warnings.push({
      code: 'DEVICE_REACH_NOT_CHECKED',
      backend,
      workload,
      message: `${backend} ${workload}: ${text}; the figures stand, unchecked (not implausible)`,
    });
  return {
    cells: outCells,
    overheads: outOverheads,
    warnings: [
      ...warnings,
      ...environmentWarnings(outCells, native),
      ...metricFailureWarnings(outCells),
      ...skippedPartWarnings(outCells),
    ],
  };
}

interface EnvLike {
  thp?: string;
  seccomp?: number | null;
  mounts?: number;
}

function firstEnvironment(c: Cell): EnvLike | undefined {
  const list = c.extra?.environment;
  if (!Array.isArray(list)) return undefined;
  for (const e of list as Array<{ data?: EnvLike }>) if (e?.data && typeof e.data.thp === 'string') return e.data;
  return undefined;
}

/** A warning per backend and workload whose THP mode or seccomp mode differs from native's. */
export function environmentWarnings(cells: Cell[], native: string | undefined): Warning[] {
  if (!native) return [];
  const out: Warning[] = [];
  for (const c of cells) {
    if (c.backend === native) continue;
    const mine = firstEnvironment(c);
    const base = cells.find((n) => n.backend === native && n.workload === c.workload);
    const theirs = base ? firstEnvironment(base) : undefined;
    if (!mine || !theirs) continue;
    const diffs: string[] = [];
    if (mine.thp !== theirs.thp) diffs.push(`transparent huge pages "${mine.thp}" vs native "${theirs.thp}"`);
    if (mine.seccomp !== theirs.seccomp)
      diffs.push(`seccomp mode ${mine.seccomp ?? 'unknown'} vs native ${theirs.seccomp ?? 'unknown'}`);
    if (diffs.length)
      out.push({
        code: 'ENVIRONMENT_DIFFERS',
        backend: c.backend,
        workload: c.workload,
        message:
          `${c.backend} ${c.workload} ran in a different environment than native: ` +
          `${diffs.join('; ')} (cells[].extra.environment)`,
      });
  }
  return out;
}

/**
 * One warning per cell and failed probe (cells[].extra.metricFailures, written by
 * workloads that keep their other metrics when one probe fails): which metrics
 * are missing, in how many repetitions, the first error and its raw log.
 */
export function metricFailureWarnings(cells: Cell[]): Warning[] {
  const out: Warning[] = [];
  for (const c of cells) {
    const list = c.extra?.metricFailures;
    if (!Array.isArray(list)) continue;
    const byMetrics = new Map<string, { reps: number[]; error: string; rawLog?: string }>();
    for (const e of list as Array<{
      repetition?: number;
      data?: { metrics?: string[]; error?: string; rawLog?: string };
    }>) {
      const d = e?.data;
      if (!d?.metrics?.length) continue;
      const key = d.metrics.join(', ');
      const cur = byMetrics.get(key) ?? {
        reps: [],
        error: d.error ?? 'unknown error',
        ...(d.rawLog ? { rawLog: d.rawLog } : {}),
      };
      if (typeof e.repetition === 'number') cur.reps.push(e.repetition);
      byMetrics.set(key, cur);
    }
    for (const [metrics, f] of byMetrics)
      out.push({
        code: 'METRIC_FAILED',
        backend: c.backend,
        workload: c.workload,
        message:
          `${c.backend} ${c.workload}: ${metrics} not measured in repetition(s) ${f.reps.join(', ') || '?'} ` +
          `(the cell's other metrics stand): ${f.error.split('\n')[0]}${f.rawLog ? ` (raw log: ${f.rawLog})` : ''}`,
      });
  }
  return out;
}

/**
 * One warning per cell and skipped part (cells[].extra.skippedParts, written by workloads
 * whose part needs a host capability this host lacks): what was skipped, why and the fix.
 */
export function skippedPartWarnings(cells: Cell[]): Warning[] {
  const out: Warning[] = [];
  for (const c of cells) {
    const list = c.extra?.skippedParts;
    if (!Array.isArray(list)) continue;
    const seen = new Set<string>();
    for (const e of list as Array<{ data?: { part?: string; reason?: string; fix?: string } }>) {
      const d = e?.data;
      if (!d?.part || seen.has(d.part)) continue;
      seen.add(d.part);
      out.push({
        code: 'PART_SKIPPED',
        backend: c.backend,
        workload: c.workload,
        message:
          `${c.backend} ${c.workload}: ${d.part} skipped: ` +
          `${d.reason ?? 'no reason recorded'}${d.fix ? ` (fix: ${d.fix})` : ''}`,
      });
    }
  }
  return out;
}
