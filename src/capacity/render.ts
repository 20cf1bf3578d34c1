/**
 * Renders a CapacityPlan: aligned plain-text table (terminal), JSON, Markdown,
 * the Kubernetes RuntimeClass YAML snippet, and chart data for the report.
 * Every figure shown keeps its source ids (‹m1›), listed under "Sources".
 */
import type { BackendPlan, CapacityPlan, Figure, Resource, RuntimeClassOverhead, SourceRef } from './model.js';
import { RESOURCES } from './model.js';

// --- Number formatting --------------------------------------------------------

function fmtNum(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined) return '-';
  if (n === Number.POSITIVE_INFINITY) return '∞';
  if (!Number.isFinite(n)) return '-';
  if (Number.isInteger(n)) return String(n);
  return n.toFixed(digits);
}

function digitsFor(r: Resource): number {
  return r === 'cpu' ? 3 : r === 'memory' ? 1 : 0;
}

function fmtFig(f: Figure | null, digits = 2): string {
  if (!f) return '-';
  const v = fmtNum(f.value, digits);
  if (f.best === f.value && f.worst === f.value) return v;
  return `${v} (${fmtNum(f.best, digits)}–${fmtNum(f.worst, digits)})`;
}

function measuredIds(plan: CapacityPlan, ids: string[]): string[] {
  return ids.filter((id) => {
    const s = plan.sources[id];
    return s !== undefined && (s.kind === 'measured' || s.kind === 'derived');
  });
}

function refs(plan: CapacityPlan, ids: string[]): string {
  const m = measuredIds(plan, ids);
  return m.length > 0 ? ` ‹${m.join(',')}›` : '';
}

/** Pad columns to the widest cell; `r` columns right-aligned. */
function table(rows: string[][], align: ('l' | 'r')[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows.map((row) =>
    row
      .map((c, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - [...c].length);
        return align[i] === 'r' ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

function hostLine(plan: CapacityPlan): string {
  const h = plan.host;
  const parts = [`${fmtNum(h.cores)} cores`, `${fmtNum(h.memoryGiB)} GiB`];
  if (h.diskIops !== undefined) parts.push(`disk ${fmtNum(h.diskIops)} IOPS`);
  if (h.netGbps !== undefined) parts.push(`net ${fmtNum(h.netGbps)} Gbit/s`);
  return `Host ${h.name}: ${parts.join(', ')}`;
}

function reserveLine(plan: CapacityPlan): string {
  const r = plan.reserve;
  const u = plan.usable;
  const mem = u.memory ?? 0;
  return (
    `reserve ${fmtNum(r.cores)} core(s) + ${fmtNum(r.memoryPct)}% ` +
    `memory${r.memoryMiB ? ` + ${fmtNum(r.memoryMiB)} MiB` : ''} → usable ${fmtNum(u.cpu)} cores, ` +
    `${fmtNum(mem, 1)} MiB (${fmtNum(mem / 1024, 2)} GiB)`
  );
}

function instanceLine(plan: CapacityPlan): string {
  const d = plan.instance;
  const parts = [`${fmtNum(d.vcpus)} vCPU`, `${fmtNum(d.memoryMiB)} MiB`];
  if (d.iops !== undefined) parts.push(`${fmtNum(d.iops)} IOPS`);
  if (d.mbps !== undefined) parts.push(`${fmtNum(d.mbps)} Mbit/s`);
  return `Instance: ${parts.join(', ')}${plan.target !== null ? `; target ${plan.target} instances` : ''}`;
}

function costCell(plan: CapacityPlan, b: BackendPlan, r: Resource): string {
  const rc = b.resources[r];
  if (rc.status === 'not-constrained') return '-';
  const s = fmtFig(rc.cost, digitsFor(r)) + refs(plan, rc.cost?.sources ?? []);
  return rc.status === 'not-measured' ? `${s} (not measured)` : s;
}

function hostsCell(b: BackendPlan): string {
  if (!b.hostsNeeded) return '-';
  const f = b.hostsNeeded;
  const show = (n: number): string => (Number.isFinite(n) ? String(n) : 'does not fit');
  if (f.best === f.value && f.worst === f.value) return show(f.value);
  return `${show(f.value)} (${show(f.best)}–${show(f.worst)})`;
}

function bindingCell(b: BackendPlan): string {
  const e = b.expected.binding.join('+');
  const w = b.worst.binding.join('+');
  const s = w !== e ? `${e} (worst: ${w})` : e;
  const cpuBound = b.expected.binding.includes('cpu') || b.worst.binding.includes('cpu');
  return b.emulated && cpuBound ? `${s} [TCG: emulated CPU, not a KVM figure]` : s;
}

function sourceLine(s: SourceRef): string {
  switch (s.kind) {
    case 'measured': {
      const stat = s.stat === 'overhead.ratio' ? 'overhead ratio backend/native' : 'mean (95% t CI)';
      const logs =
        s.rawLogs.length > 0
          ? `; raw: ${s.rawLogs.slice(0, 3).join(', ')}` +
            (s.rawLogs.length > 3 ? ` (+${s.rawLogs.length - 3} more)` : '')
          : '';
      return (
        `run ${s.runId}, backend ${s.backend}, ${s.workload}/${s.metric}: ${stat} ${fmtNum(s.value, 4)} ` +
        `${s.stat === 'overhead.ratio' ? '' : s.unit + ' '}(95% CI ` +
        `${fmtNum(s.ci95[0], 4)}–${fmtNum(s.ci95[1], 4)}${s.n !== null ? `, n=${s.n}` : ''})${logs}`
      );
    }
    case 'derived':
      return (
        `run ${s.runId}, backend ${s.backend}, ${s.workload}/${s.metric}: ratio of means backend/native ` +
        `${fmtNum(s.value, 4)} (CI ${fmtNum(s.ci95[0], 4)}–${fmtNum(s.ci95[1], 4)}) from ${s.from.join(', ')}`
      );
    case 'input':
      return `input ${s.field} = ${fmtNum(s.value)} (from ${s.origin})`;
    case 'default':
      return `default ${s.field} = ${fmtNum(s.value)} (${s.note})`;
  }
}

function usedSourceIds(plan: CapacityPlan): string[] {
  const ids = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'sources' && Array.isArray(v)) v.forEach((id) => typeof id === 'string' && ids.add(id));
        else if (k !== 'sources') walk(v);
      }
    }
  };
  walk({ ...plan, sources: undefined });
  // Derived sources point at their inputs.
  for (const id of [...ids]) {
    const s = plan.sources[id];
    if (s?.kind === 'derived') s.from.forEach((f) => ids.add(f));
  }
  return Object.keys(plan.sources).filter((id) => ids.has(id));
}

// --- Kubernetes RuntimeClass --------------------------------------------------

function rcBlock(plan: CapacityPlan, rc: RuntimeClassOverhead): string {
  const lines: string[] = [];
  lines.push(`# ${rc.backend} — from isobench run ${plan.runId}, for ${fmtNum(plan.instance.vcpus)} vCPU per pod`);
  const b = plan.backends.find((x) => x.label === rc.backend);
  const fp = b?.resources.memory.overhead;
  if (rc.memoryMi !== null && fp) {
    lines.push(
      `# memory: idle-instance PSS minus native = ${fmtNum(fp.value, 1)} MiB ` +
        `(95% CI ${fmtNum(fp.best, 1)}–${fmtNum(fp.worst, 1)}) → upper end, rounded up${refs(plan, fp.sources)}`,
    );
  }
  const cpu = b?.resources.cpu.overhead;
  if (rc.cpuMillicores !== null && cpu) {
    lines.push(
      `# cpu: cost factor ${fmtNum(cpu.value, 3)}× (95% CI ${fmtNum(cpu.best, 3)}–${fmtNum(cpu.worst, 3)}) ` +
        `→ ${fmtNum(plan.instance.vcpus)} × (${fmtNum(cpu.worst, 3)} − 1) cores = ${rc.cpuMillicores}m ` +
        `(expected ${rc.cpuExpectedMillicores}m)${refs(plan, cpu.sources)}`,
    );
  }
  for (const n of rc.notes) lines.push(`# NOTE: ${n}`);
  lines.push('apiVersion: node.k8s.io/v1');
  lines.push('kind: RuntimeClass');
  lines.push('metadata:');
  lines.push(`  name: ${rc.name}`);
  lines.push(
    `handler: ${rc.handler}${rc.handlerIsGuess ? '   # set to the CRI runtime handler configured on your nodes' : ''}`,
  );
  if (rc.memoryMi === null && rc.cpuMillicores === null) {
    lines.push('# overhead: not measured in this run');
    return lines.join('\n');
  }
  lines.push('overhead:');
  lines.push('  podFixed:');
  if (rc.memoryMi !== null)
    lines.push(
      `    memory: "${rc.memoryMi}Mi"${rc.memoryExpectedMi !== null ? `   # expected ${rc.memoryExpectedMi}Mi` : ''}`,
    );
  if (rc.cpuMillicores !== null)
    lines.push(
      `    cpu: "${rc.cpuMillicores}m"` +
        (rc.cpuExpectedMillicores !== null ? `   # expected ${rc.cpuExpectedMillicores}m` : ''),
    );
  return lines.join('\n');
}

/** Kubernetes RuntimeClass manifests (one YAML document per non-native backend) with their overhead.podFixed. */
export function renderRuntimeClassYaml(plan: CapacityPlan): string {
  return plan.runtimeClasses.map((rc) => rcBlock(plan, rc)).join('\n---\n') + '\n';
}

// --- Text ---------------------------------------------------------------------

export function renderText(plan: CapacityPlan): string {
  const out: string[] = [];
  out.push(`isobench capacity · run ${plan.runId} (${plan.runStatus})`);
  out.push(hostLine(plan));
  out.push(`  ${reserveLine(plan)}`);
  out.push(instanceLine(plan));
  if (plan.warnings.length > 0) {
    out.push('');
    for (const w of plan.warnings) out.push(`WARNING: ${w}`);
  }
  out.push('');
  out.push('Per-instance host cost: expected (best–worst) ‹sources›');
  const costRows = [['backend', 'accel', 'cpu cores', 'memory MiB', 'disk IOPS', 'net Mbit/s']];
  for (const b of plan.backends) costRows.push([b.label, b.accelerator, ...RESOURCES.map((r) => costCell(plan, b, r))]);
  out.push(...table(costRows, ['l', 'l', 'r', 'r', 'r', 'r']));

  out.push('');
  out.push('Instances per host');
  const head = ['backend', 'expected', 'best', 'worst', 'binding'];
  if (plan.target !== null) head.push(`hosts for ${plan.target}`);
  const rows = [head];
  for (const b of plan.backends) {
    const row = [
      b.label,
      String(b.expected.instancesPerHost),
      String(b.best.instancesPerHost),
      String(b.worst.instancesPerHost),
      bindingCell(b),
    ];
    if (plan.target !== null) row.push(hostsCell(b));
    rows.push(row);
  }
  out.push(...table(rows, ['l', 'r', 'r', 'r', 'l', 'r']));

  if (plan.densityRatios.length > 0) {
    out.push('');
    for (const d of plan.densityRatios) {
      out.push(
        `Density ${d.container} : ${d.vm} = ${fmtNum(d.expected, 2)} ` +
          `(range ${fmtNum(d.range[0], 2)}–${fmtNum(d.range[1], 2)})`,
      );
    }
  }

  if (plan.sweep.length > 0) {
    out.push('');
    out.push(`What if: instances per host as memory per instance grows (other demands fixed), expected [binding]`);
    const labels = plan.sweep[0]!.backends.map((b) => b.label);
    const sRows = [['memory/instance', ...labels]];
    for (const row of plan.sweep) {
      sRows.push([fmtMiB(row.memoryMiB), ...row.backends.map((b) => `${b.expected} [${b.binding.join('+')}]`)]);
    }
    out.push(...table(sRows, ['r', ...labels.map(() => 'r' as const)]));
  }

  if (plan.breakEven.length > 0) {
    out.push('');
    for (const be of plan.breakEven) {
      out.push(
        `Break-even: ${be.vm}'s extra fixed footprint vs ${be.reference} is ${fmtFig(be.extraFootprintMiB, 1)} MiB; ` +
          `it costs ≤ ${fmtNum(be.thresholdPct)}% of memory capacity from ${fmtMiB(be.memoryMiB.value)} per ` +
          `instance (best ${fmtMiB(be.memoryMiB.best)}, worst ${fmtMiB(be.memoryMiB.worst)}); ` +
          `at ${fmtMiB(plan.instance.memoryMiB)} it costs ` +
          `${fmtFig(be.lossAtDemandPct, 1)}%${refs(plan, be.memoryMiB.sources)}`,
      );
    }
  }

  const notes = plan.backends.flatMap((b) =>
    b.notes.filter((n) => !plan.warnings.includes(n)).map((n) => `${b.label}: ${n}`),
  );
  if (notes.length > 0) {
    out.push('');
    out.push('Notes');
    for (const n of notes) out.push(`  - ${n}`);
  }

  if (plan.runtimeClasses.length > 0) {
    out.push('');
    out.push('Kubernetes RuntimeClass overhead (podFixed from the upper CI ends):');
    out.push(renderRuntimeClassYaml(plan).trimEnd());
  }

  out.push('');
  out.push('Sources');
  for (const id of usedSourceIds(plan)) out.push(`  ${id}: ${sourceLine(plan.sources[id]!)}`);
  out.push('');
  out.push('Model and formulas: docs/capacity.md');
  return out.join('\n') + '\n';
}

function fmtMiB(m: number): string {
  if (!Number.isFinite(m)) return '-';
  if (m >= 1024 && Number.isInteger(m / 1024)) return `${m / 1024} GiB`;
  return `${fmtNum(Math.round(m * 10) / 10, 1)} MiB`;
}

// --- JSON ---------------------------------------------------------------------

/** The plan as JSON. Infinity (does not fit / unbounded) becomes null. */
export function renderJson(plan: CapacityPlan): string {
  return JSON.stringify(plan, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

// --- Markdown -----------------------------------------------------------------

function mdRow(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

export function renderMarkdown(plan: CapacityPlan): string {
  const out: string[] = [];
  out.push(`## Capacity plan (run \`${plan.runId}\`)`);
  out.push('');
  out.push(`- ${hostLine(plan)}; ${reserveLine(plan)}`);
  out.push(`- ${instanceLine(plan)}`);
  out.push('');
  for (const w of plan.warnings) out.push(`> **Warning:** ${w}`);
  if (plan.warnings.length > 0) out.push('');
  const head = ['Backend', 'Accel', 'Instances/host (best–worst)', 'Binding'];
  if (plan.target !== null) head.push(`Hosts for ${plan.target}`);
  head.push('CPU cores/instance', 'Memory MiB/instance');
  out.push(mdRow(head));
  out.push(mdRow(head.map(() => '---')));
  for (const b of plan.backends) {
    const row = [
      b.label,
      b.accelerator,
      `${b.expected.instancesPerHost} (${b.best.instancesPerHost}–${b.worst.instancesPerHost})`,
      bindingCell(b),
    ];
    if (plan.target !== null) row.push(hostsCell(b));
    row.push(costCell(plan, b, 'cpu'), costCell(plan, b, 'memory'));
    out.push(mdRow(row));
  }
  if (plan.densityRatios.length > 0) {
    out.push('');
    for (const d of plan.densityRatios)
      out.push(
        `- Density ${d.container} : ${d.vm} = **${fmtNum(d.expected, 2)}** ` +
          `(range ${fmtNum(d.range[0], 2)}–${fmtNum(d.range[1], 2)})`,
      );
  }
  if (plan.sweep.length > 0) {
    out.push('');
    out.push('### What if: memory per instance grows');
    out.push('');
    const labels = plan.sweep[0]!.backends.map((b) => b.label);
    out.push(mdRow(['Memory/instance', ...labels]));
    out.push(mdRow(['---:', ...labels.map(() => '---:')]));
    for (const row of plan.sweep)
      out.push(mdRow([fmtMiB(row.memoryMiB), ...row.backends.map((b) => `${b.expected} (${b.binding.join('+')})`)]));
  }
  if (plan.breakEven.length > 0) {
    out.push('');
    for (const be of plan.breakEven) {
      out.push(
        `- Break-even: ${be.vm}'s extra fixed footprint vs ${be.reference} (${fmtFig(be.extraFootprintMiB, 1)} MiB) ` +
          `costs ≤ ${fmtNum(be.thresholdPct)}% of memory capacity from **${fmtMiB(be.memoryMiB.value)}** per ` +
          `instance (worst ${fmtMiB(be.memoryMiB.worst)}).`,
      );
    }
  }
  if (plan.runtimeClasses.length > 0) {
    out.push('');
    out.push('### Kubernetes RuntimeClass overhead');
    out.push('');
    out.push('```yaml');
    out.push(renderRuntimeClassYaml(plan).trimEnd());
    out.push('```');
  }
  out.push('');
  out.push('<details><summary>Sources</summary>');
  out.push('');
  for (const id of usedSourceIds(plan)) out.push(`- \`${id}\`: ${sourceLine(plan.sources[id]!)}`);
  out.push('');
  out.push('</details>');
  return out.join('\n') + '\n';
}

// --- Chart data ---------------------------------------------------------------

export const RESOURCE_COLORS: Record<Resource, string> = {
  cpu: '#4e79a7',
  memory: '#f28e2b',
  disk: '#59a14f',
  network: '#b07aa1',
};

export interface CapacityChartData {
  title: string;
  /** Backend labels (x axis). */
  labels: string[];
  /** One dataset per binding resource, stacked: a backend's bar sits in the dataset of its (first) binding resource. */
  datasets: { label: Resource; stack: 'instances'; data: number[]; backgroundColor: string }[];
  /** Best and worst instances per host, for error bars. */
  ranges: { label: string; best: number; worst: number; expected: number }[];
  yLabel: string;
  notes: string[];
}

/** Data for a stacked bar chart: instances per host by backend, coloured by binding resource (Chart.js shape). */
export function capacityChartData(plan: CapacityPlan): CapacityChartData {
  const labels = plan.backends.map((b) => b.label);
  const used = RESOURCES.filter((r) => plan.backends.some((b) => b.expected.binding[0] === r));
  const datasets = used.map((r) => ({
    label: r,
    stack: 'instances' as const,
    data: plan.backends.map((b) => (b.expected.binding[0] === r ? b.expected.instancesPerHost : 0)),
    backgroundColor: RESOURCE_COLORS[r],
  }));
  return {
    title:
      `Instances per host (${plan.host.name}: ${fmtNum(plan.host.cores)} cores, ${fmtNum(plan.host.memoryGiB)} ` +
      `GiB; instance ${fmtNum(plan.instance.vcpus)} vCPU, ${fmtNum(plan.instance.memoryMiB)} MiB)`,
    labels,
    datasets,
    ranges: plan.backends.map((b) => ({
      label: b.label,
      expected: b.expected.instancesPerHost,
      best: b.best.instancesPerHost,
      worst: b.worst.instancesPerHost,
    })),
    yLabel: 'instances per host',
    notes: plan.warnings,
  };
}

export interface SweepChartData {
  title: string;
  /** Memory per instance (MiB), x axis. */
  labels: number[];
  datasets: { label: string; data: number[] }[];
}

/** Data for a line chart of the what-if sweep: instances per host vs memory per instance. */
export function capacitySweepChartData(plan: CapacityPlan): SweepChartData {
  const backends = plan.sweep[0]?.backends.map((b) => b.label) ?? [];
  return {
    title: 'Instances per host as memory per instance grows',
    labels: plan.sweep.map((r) => r.memoryMiB),
    datasets: backends.map((label) => ({
      label,
      data: plan.sweep.map((r) => r.backends.find((b) => b.label === label)?.expected ?? 0),
    })),
  };
}
