/**
 * Reads a fleet directory (layout.ts) into one model: every host's state (a
 * host that could not be reached, set up or measured is named with its log,
 * never dropped), its facts side by side, the hosts grouped by hardware model
 * (CPU model, kernel, accelerator), and per figure each host's value, the
 * spread across hosts and the outlier hosts. Every figure comes from a host's
 * own results.json: nothing is estimated here, only gathered. Two more views:
 * the spread within each hardware model (CPU model, core count, memory: are
 * hosts of one model alike?), and the Kubernetes arms' logs (arms/*.log),
 * parsed by the CPU workload's parsers into values and overheads vs runc.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadResults, sampleRows } from '../results/io.js';
import type { RunResults, SampleRow } from '../results/types.js';
import { outlierIndices } from '../stats/index.js';
import { primaryMetric } from '../report/categories.js';
import { declaredThresholdPct } from '../stats/equivalence.js';
import { armOverheads, metricInfo, parseArmLog, type ArmLog, type ArmOverhead } from './arms.js';
import { PLATFORM_CLASSES } from './runtime-classes.js';
import { FLEET_LOGS, hostLogDir, readFleetManifest, runIdFor, type FleetManifest } from './layout.js';

export type HostState = 'complete' | 'partial' | 'failed' | 'setup-failed' | 'unreachable' | 'not-run';

export interface HostProblem {
  stage: string;
  message: string;
  /** Log file relative to the fleet directory. */
  log: string | undefined;
}

export interface HostFactsView {
  hostname: string;
  cpuModel: string;
  cpus: number | null;
  memoryGiB: number | null;
  kernel: string;
  os: string;
  /** The VM backends' accelerators, or what KVM is on the host when no VM ran. */
  accelerator: string;
}

export interface FleetHost {
  name: string;
  state: HostState;
  runId: string;
  /** Run directory inside the fleet directory (when results came back). */
  runDir: string | undefined;
  results: RunResults | undefined;
  problem: HostProblem | undefined;
  facts: HostFactsView | undefined;
  /** Failed `isobench doctor` checks: the host is reported with them, not dropped. */
  doctorFailures: string[];
}

export interface HardwareGroup {
  key: string;
  cpuModel: string;
  kernel: string;
  accelerator: string;
  hosts: string[];
}

export interface HostValue {
  host: string;
  value: number;
  ci95: [number, number] | null;
  n: number;
}

export interface FleetFigure {
  id: string;
  backend: string;
  workload: string;
  metric: string;
  /** 'value': the backend's own mean; 'overhead': percent cost vs native on the same host. */
  kind: 'value' | 'overhead';
  unit: string;
  higherIsBetter: boolean;
  /** The workload's primary metric (the report's headline). */
  headline: boolean;
  perHost: HostValue[];
  /** Across hosts: min, median, max of the host values and (max-min)/|median| in percent. */
  spread: { min: number; median: number; max: number; spreadPct: number | null } | null;
  /** Hosts whose value is an outlier among the fleet (modified z-score > 3.5; needs >= 4 hosts). */
  outliers: string[];
}

/** One figure within one hardware model: how alike its hosts are. */
export interface ModelFigureSpread {
  figureId: string;
  n: number;
  median: number;
  /** Coefficient of variation across the hosts' means (sample SD / mean), percent; null for one host. */
  cvPct: number | null;
  /** The band: a host further than this from the group median (percent) is outside it. */
  bandPct: number;
  /** Hosts outside the band, with their deviation from the median in percent. */
  outside: { host: string; value: number; devPct: number }[];
}

/** Hosts of one hardware model: same CPU model, core count and memory (GiB, rounded). */
export interface HardwareModel {
  key: string;
  cpuModel: string;
  cpus: number | null;
  memoryGiB: number | null;
  hosts: string[];
  figures: ModelFigureSpread[];
}

export interface ArmLogView {
  /** Relative to the fleet directory. */
  file: string;
  arm: string;
  node: string;
  log: ArmLog | undefined;
  error: string | undefined;
}

export interface FleetArms {
  logs: ArmLogView[];
  rows: ArmOverhead[];
  notes: string[];
}

export interface FleetModel {
  fleetDir: string;
  manifest: FleetManifest;
  hosts: FleetHost[];
  groups: HardwareGroup[];
  /** Spread within each hardware model (CPU model, cores, memory). */
  models: HardwareModel[];
  figures: FleetFigure[];
  /** The Kubernetes arms' logs and their overheads vs runc (empty without an arms/ directory). */
  arms: FleetArms;
  notes: string[];
}

interface StatusFile {
  stage?: string;
  task?: string;
  error?: string;
  rc?: number | null;
  stdout?: string;
  stderr?: string;
  runRc?: number;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A problem's message on one line: ssh's own text ends in "\r\n", which would split the host's summary line. */
function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** `fatal: [host]: UNREACHABLE! => {...}` lines of ansible's log, last one per host. */
export function unreachableFromLog(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of log.split('\n')) {
    const m = /(?:fatal|failed): \[([^\]]+)\]: UNREACHABLE! => (.*)$/.exec(line);
    if (!m) continue;
    let msg = m[2] ?? '';
    try {
      const j = JSON.parse(msg) as { msg?: string };
      if (j.msg) msg = j.msg;
    } catch {
      /* keep the raw text */
    }
    out.set(m[1]!, oneLine(msg));
  }
  return out;
}

function factsOf(r: RunResults): HostFactsView {
  const h = r.host as Record<string, unknown>;
  const kvm = (h.kvm ?? {}) as { hardware?: boolean; devicePresent?: boolean; modules?: string[] };
  const vmAccels = [...new Set(r.backends.filter((b) => b.kind === 'vm').map((b) => b.accelerator))];
  const accelerator = vmAccels.length
    ? vmAccels.join(', ')
    : kvm.hardware
      ? 'kvm (hardware)'
      : kvm.devicePresent
        ? `no hardware KVM (${(kvm.modules ?? []).join(', ') || 'software /dev/kvm'})`
        : 'no KVM';
  const mem = typeof h.memTotalBytes === 'number' ? Math.round((h.memTotalBytes / 2 ** 30) * 10) / 10 : null;
  return {
    hostname: String(h.hostname ?? 'unknown'),
    cpuModel: String(h.cpuModel ?? 'unknown'),
    cpus: typeof h.cpus === 'number' ? h.cpus : null,
    memoryGiB: mem,
    kernel: String(h.kernel ?? 'unknown'),
    os: String(h.os ?? ''),
    accelerator,
  };
}

function doctorFailures(file: string): string[] {
  const d = readJson<{ checks?: { name: string; status: string; detail?: string }[] }>(file);
  return (d?.checks ?? []).filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.detail ?? 'failed'}`);
}

function firstLine(s: string | undefined): string {
  return (
    (s ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-1)[0] ?? ''
  );
}

async function loadHost(
  fleetDir: string,
  manifest: FleetManifest,
  name: string,
  unreachable: Map<string, string>,
): Promise<FleetHost> {
  const logs = hostLogDir(fleetDir, name);
  const rel = (f: string): string | undefined =>
    existsSync(path.join(logs, f)) ? path.posix.join(FLEET_LOGS, name, f) : undefined;
  const status = readJson<StatusFile>(path.join(logs, 'status.json'));
  const runDir = path.join(fleetDir, name);
  const host: FleetHost = {
    name,
    state: 'not-run',
    runId: runIdFor(manifest.fleetId, name),
    runDir: undefined,
    results: undefined,
    problem: undefined,
    facts: undefined,
    doctorFailures: doctorFailures(path.join(logs, 'doctor.json')),
  };
  if (existsSync(path.join(runDir, 'results.json'))) {
    const r = await loadResults(runDir);
    host.results = r;
    host.runDir = runDir;
    host.runId = r.runId;
    host.facts = factsOf(r);
    host.state = r.status;
    if (r.status !== 'complete')
      host.problem = { stage: 'run', message: r.statusReason ?? `run ${r.status}`, log: rel('run.log') };
  }
  if (status && status.stage && status.stage !== 'done') {
    // A failed stage after an earlier fetch (e.g. a rerun whose setup broke) is still reported.
    const message = oneLine(
      [status.error, firstLine(status.stderr) || firstLine(status.stdout)].filter(Boolean).join(': ') ||
        `failed in ${status.task ?? status.stage}`,
    );
    const ansibleLog = existsSync(path.join(fleetDir, FLEET_LOGS, 'ansible.log'))
      ? path.posix.join(FLEET_LOGS, 'ansible.log')
      : undefined;
    const log =
      status.stage === 'setup'
        ? rel('setup.log')
        : status.stage === 'run'
          ? rel('run.log')
          : status.stage === 'connect'
            ? ansibleLog
            : undefined;
    host.problem = { stage: status.stage, message, log: log ?? rel('status.json') };
    if (!host.results)
      host.state =
        status.stage === 'connect'
          ? 'unreachable'
          : status.stage === 'run' || status.stage === 'fetch'
            ? 'failed'
            : 'setup-failed';
  } else if (!host.results) {
    const u = unreachable.get(name);
    host.state = u !== undefined ? 'unreachable' : 'not-run';
    host.problem = {
      stage: u !== undefined ? 'connect' : 'not started',
      message:
        u ??
        (manifest.engine === 'k8s'
          ? 'no results collected yet: run k8s/collect.sh once its Job logs "isobench: done"'
          : 'no results and no recorded failure: ' +
            'the fleet was interrupted before this host, or it was left out by --limit'),
      log: existsSync(path.join(fleetDir, FLEET_LOGS, 'ansible.log'))
        ? path.posix.join(FLEET_LOGS, 'ansible.log')
        : undefined,
    };
  }
  return host;
}

/** Host names: those the manifest lists, then any directory with results or logs. */
function hostNames(fleetDir: string, manifest: FleetManifest): string[] {
  const names = new Set(manifest.hosts ?? []);
  for (const e of readdirSync(fleetDir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name !== FLEET_LOGS && existsSync(path.join(fleetDir, e.name, 'results.json')))
      names.add(e.name);
  }
  const logs = path.join(fleetDir, FLEET_LOGS);
  if (existsSync(logs)) for (const e of readdirSync(logs)) if (statSync(path.join(logs, e)).isDirectory()) names.add(e);
  return [...names];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The workload's headline metric as the single-run report picks it: a preferred one, else the first declared. */
function headlineMetric(workload: string, metrics: string[]): string | undefined {
  const preferred = primaryMetric(workload, metrics);
  return preferred ?? metrics[0];
}

export function buildFigures(hosts: FleetHost[]): FleetFigure[] {
  const figs = new Map<string, FleetFigure>();
  const get = (key: string, init: () => FleetFigure): FleetFigure => {
    let f = figs.get(key);
    if (!f) figs.set(key, (f = init()));
    return f;
  };
  for (const h of hosts) {
    const r = h.results;
    if (!r) continue;
    for (const cell of r.cells) {
      const head = headlineMetric(
        cell.workload,
        cell.metrics.map((m) => m.metric),
      );
      for (const m of cell.metrics) {
        if (!m.summary) continue;
        const id = `value:${cell.backend}:${cell.workload}:${m.metric}`;
        const f = get(id, () => ({
          id,
          backend: cell.backend,
          workload: cell.workload,
          metric: m.metric,
          kind: 'value',
          unit: m.unit,
          higherIsBetter: m.higherIsBetter,
          headline: m.metric === head,
          perHost: [],
          spread: null,
          outliers: [],
        }));
        f.perHost.push({ host: h.name, value: m.summary.mean, ci95: m.summary.ci95, n: m.summary.n });
      }
    }
    for (const o of r.overheads) {
      if (!Number.isFinite(o.overheadPct)) continue;
      const id = `overhead:${o.backend}:${o.workload}:${o.metric}`;
      const f = get(id, () => ({
        id,
        backend: o.backend,
        workload: o.workload,
        metric: o.metric,
        kind: 'overhead',
        unit: '% vs native',
        higherIsBetter: false,
        headline:
          o.metric ===
          headlineMetric(
            o.workload,
            r.cells.find((c) => c.backend === o.backend && c.workload === o.workload)?.metrics.map((m) => m.metric) ??
              [],
          ),
        perHost: [],
        spread: null,
        outliers: [],
      }));
      f.perHost.push({ host: h.name, value: o.overheadPct, ci95: o.overheadPctCi95, n: 0 });
    }
  }
  for (const f of figs.values()) {
    const vals = f.perHost.map((p) => p.value);
    if (vals.length) {
      const med = median(vals);
      const min = Math.min(...vals);
      const max = Math.max(...vals);
      f.spread = {
        min,
        median: med,
        max,
        spreadPct: f.kind === 'value' && med !== 0 ? ((max - min) / Math.abs(med)) * 100 : null,
      };
    }
    f.outliers = outlierIndices(vals).map((i) => f.perHost[i]!.host);
  }
  return [...figs.values()];
}

export function groupHosts(hosts: FleetHost[]): HardwareGroup[] {
  const groups = new Map<string, HardwareGroup>();
  for (const h of hosts) {
    if (!h.facts) continue;
    const { cpuModel, kernel, accelerator } = h.facts;
    const key = `${cpuModel} · ${kernel} · ${accelerator}`;
    const g = groups.get(key) ?? { key, cpuModel, kernel, accelerator, hosts: [] };
    g.hosts.push(h.name);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** The band a host must stay within around its model's median: the metric's equivalence threshold. */
function bandPctOf(workload: string): number {
  return declaredThresholdPct(workload);
}

/**
 * Hosts grouped by hardware model (CPU model, core count, memory rounded to a
 * GiB), and per group and value figure: the median of the host means, their
 * coefficient of variation, and the hosts further from the median than the
 * metric's equivalence threshold (the difference the report calls practical).
 */
export function hardwareModels(hosts: FleetHost[], figures: FleetFigure[]): HardwareModel[] {
  const models = new Map<string, HardwareModel>();
  for (const h of hosts) {
    if (!h.facts || !h.results) continue;
    const mem = h.facts.memoryGiB === null ? null : Math.round(h.facts.memoryGiB);
    const key = `${h.facts.cpuModel} · ${h.facts.cpus ?? '?'} CPUs · ${mem ?? '?'} GiB`;
    const m = models.get(key) ?? {
      key,
      cpuModel: h.facts.cpuModel,
      cpus: h.facts.cpus,
      memoryGiB: mem,
      hosts: [],
      figures: [],
    };
    m.hosts.push(h.name);
    models.set(key, m);
  }
  for (const m of models.values()) {
    for (const f of figures) {
      if (f.kind !== 'value') continue;
      const vals = f.perHost.filter((p) => m.hosts.includes(p.host));
      if (!vals.length) continue;
      const xs = vals.map((v) => v.value);
      const med = median(xs);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : null;
      const bandPct = bandPctOf(f.workload);
      const outside =
        med === 0 || xs.length < 2
          ? []
          : vals.flatMap((v) => {
              const devPct = ((v.value - med) / Math.abs(med)) * 100;
              return Math.abs(devPct) > bandPct ? [{ host: v.host, value: v.value, devPct }] : [];
            });
      m.figures.push({
        figureId: f.id,
        n: xs.length,
        median: med,
        cvPct: sd !== null && mean !== 0 ? (sd / Math.abs(mean)) * 100 : null,
        bandPct,
        outside,
      });
    }
  }
  return [...models.values()];
}

const ARMS_DIR = 'arms';
const ARM_NAMES = [...PLATFORM_CLASSES.map((c) => c.name), 'kubevirt'];

/** arms/<arm>-<node>.log, parsed; the node is the file's (collect names it by the node the pod ran on). */
export function loadArms(fleetDir: string): FleetArms {
  const dir = path.join(fleetDir, ARMS_DIR);
  const logs: ArmLogView[] = [];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith('.log'))
      .sort()) {
      const arm = ARM_NAMES.find((a) => f.startsWith(`${a}-`));
      const file = path.posix.join(ARMS_DIR, f);
      const text = readFileSync(path.join(dir, f), 'utf8');
      try {
        const log = parseArmLog(text);
        logs.push({ file, arm: log.arm, node: f.slice(log.arm.length + 1, -'.log'.length), log, error: undefined });
      } catch (e) {
        logs.push({
          file,
          arm: arm ?? f,
          node: arm ? f.slice(arm.length + 1, -4) : '',
          log: undefined,
          error: (e as Error).message,
        });
      }
    }
  }
  const parsed = logs.flatMap((l) => (l.log ? [{ ...l.log, node: l.node || l.log.node }] : []));
  const { rows, notes } = armOverheads(parsed);
  for (const l of logs) if (l.error) notes.push(`${l.file}: ${l.error}`);
  for (const node of [...new Set(parsed.map((l) => l.node))]) {
    const expected = parsed.find((l) => l.node === node)?.arms ?? 0;
    const have = parsed.filter((l) => l.node === node).map((l) => l.arm);
    const missing = ARM_NAMES.filter((a) => !have.includes(a));
    if (missing.length && have.length < expected)
      notes.push(`node ${node}: no log from ${missing.join(', ')} (${have.length} of ${expected} arms collected)`);
  }
  return { logs, rows, notes };
}

/** The arms' values as sample rows: backend k8s, the arm as variant, the node as host, the round as repetition. */
export function armSampleRows(model: FleetModel): SampleRow[] {
  return model.arms.logs.flatMap((l) =>
    (l.log?.measured ?? []).flatMap((r) =>
      Object.entries(r.values).map(([metric, value]) => ({
        runId: model.manifest.fleetId,
        backend: 'k8s',
        variant: l.arm,
        workload: 'cpu',
        metric,
        ...metricInfo(metric),
        repetition: r.round,
        value,
        rawLog: l.file,
        host: l.node,
      })),
    ),
  );
}

export async function loadFleet(fleetDir: string): Promise<FleetModel> {
  const manifest = readFleetManifest(fleetDir);
  const logFile = path.join(fleetDir, FLEET_LOGS, 'ansible.log');
  const unreachable = existsSync(logFile)
    ? unreachableFromLog(readFileSync(logFile, 'utf8'))
    : new Map<string, string>();
  const hosts: FleetHost[] = [];
  for (const name of hostNames(fleetDir, manifest)) hosts.push(await loadHost(fleetDir, manifest, name, unreachable));
  const figures = buildFigures(hosts);
  const measured = hosts.filter((h) => h.results).length;
  const notes: string[] = [];
  if (measured < 4)
    notes.push(
      `Outlier hosts need at least 4 measured hosts (modified z-score on the host values); this fleet has ${measured}.`,
    );
  const models = hardwareModels(hosts, figures);
  return { fleetDir, manifest, hosts, groups: groupHosts(hosts), models, figures, arms: loadArms(fleetDir), notes };
}

/** The fleet as one tidy table: every host's samples with its inventory name in `host`. */
export function fleetSampleRows(model: FleetModel): SampleRow[] {
  return [
    ...model.hosts.flatMap((h) => (h.results ? sampleRows(h.results).map((r) => ({ ...r, host: h.name })) : [])),
    ...armSampleRows(model),
  ];
}

/** One line per host for the terminal: state, and for a problem its stage, message and log. */
export function fleetSummaryLines(model: FleetModel): string[] {
  const lines = [
    `fleet ${model.manifest.fleetId}: ` +
      `${model.hosts.filter((h) => h.state === 'complete').length}/${model.hosts.length} hosts complete`,
  ];
  for (const h of model.hosts) {
    const p = h.problem;
    const logNote = p?.log ? ` (log: ${path.join(model.fleetDir, p.log)})` : '';
    const detail = p ? ` ${p.stage}: ${p.message}${logNote}` : ` ${h.runDir ?? ''}`;
    lines.push(`  ${h.name.padEnd(20)} ${h.state.padEnd(12)}${detail}`);
    if (h.doctorFailures.length) lines.push(`    doctor: ${h.doctorFailures.join('; ')}`);
  }
  return lines;
}
