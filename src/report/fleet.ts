/**
 * The fleet report: HTML (self-contained, the single-run report's stylesheet
 * and chart runtime), one PNG per headline figure and a Markdown summary.
 * Hosts stand side by side: their state (a failed or unreachable host is a
 * column with its stage, error and log, not a gap), their facts, and per
 * figure each host's value with its CI, the spread across hosts and the
 * outlier hosts. Capacity is per hardware model. Pure renderers plus one
 * writer, like the single-run report.
 */
import type { CapacityPlan, HostSpec, InstanceDemand } from '../capacity/index.js';
import { planCapacity } from '../capacity/index.js';
import {
  fleetSampleRows,
  type FleetFigure,
  type FleetHost,
  type FleetModel,
  type HardwareGroup,
} from '../fleet/merge.js';
import type { ArmOverhead } from '../fleet/arms.js';
import { fmtPct, fmtPctCi } from './format.js';
import { BOOT_JS, chartJsSource, documentHead } from './html/page.js';
import { canvasFor, escapeHtml, jsonForScript, rawBaseFor } from './html/parts.js';
import { mdEscape } from './markdown.js';
import {
  CHART_RUNTIME_JS,
  categoryTitle,
  chartConfig,
  fmtCi,
  fmtNum,
  instanceFromScenario,
  type BarChartSpec,
} from './model.js';
import { pngRenderer } from './png.js';
import { loadCapacityHost } from '../capacity/host-profile.js';
import type { ReportFile } from './report-file.js';

const HOST_COLOURS = ['#0f766e', '#b45309', '#7c3aed', '#be123c', '#1d4ed8', '#4d7c0f', '#c2410c', '#0e7490'];

const FLEET_CSS = `table.hosts td,table.figures td{vertical-align:top}
td.outlier{background:#fff1f2}
td.problem{color:#9f1239}
.flag{color:#be123c;font-weight:600;font-size:12px}
.ci,.unit{color:var(--muted);font-size:12px}`;

export interface GroupCapacity {
  group: HardwareGroup;
  /**
   * Per backend: the smallest expected instances per host among the group's hosts (the conservative figure),
   * and each host's.
   */
  backends: {
    label: string;
    accelerator: string;
    minExpected: number;
    perHost: { host: string; expected: number; best: number; worst: number }[];
  }[];
  error: string | undefined;
}

/** Capacity per hardware model: every measured host planned with the same host spec and instance, grouped. */
export function fleetCapacity(model: FleetModel, host: HostSpec, instance: InstanceDemand): GroupCapacity[] {
  return model.groups.map((group) => {
    const plans: { host: string; plan: CapacityPlan }[] = [];
    let error: string | undefined;
    for (const name of group.hosts) {
      const r = model.hosts.find((h) => h.name === name)?.results;
      if (!r) continue;
      try {
        plans.push({ host: name, plan: planCapacity(r, { host, instance }) });
      } catch (e) {
        error = `${name}: ${(e as Error).message}`;
      }
    }
    const labels = [...new Set(plans.flatMap((p) => p.plan.backends.map((b) => b.label)))];
    const backends = labels.map((label) => {
      const perHost = plans.flatMap((p) => {
        const b = p.plan.backends.find((x) => x.label === label);
        return b
          ? [
              {
                host: p.host,
                expected: b.instancesPerHost.value,
                best: b.instancesPerHost.best,
                worst: b.instancesPerHost.worst,
              },
            ]
          : [];
      });
      const accelerator =
        plans.flatMap((p) => p.plan.backends.filter((x) => x.label === label).map((x) => x.accelerator))[0] ?? '';
      return { label, accelerator, minExpected: Math.min(...perHost.map((p) => p.expected)), perHost };
    });
    return { group, backends, error };
  });
}

/** Rows of the spread within each hardware model: headline value figures, one row per model and figure. */
export function modelSpreadRows(model: FleetModel): {
  key: string;
  hosts: string[];
  figure: FleetFigure;
  n: number;
  median: number;
  cvPct: number | null;
  bandPct: number;
  outside: { host: string; devPct: number }[];
}[] {
  return model.models.flatMap((m) =>
    m.figures.flatMap((s) => {
      const figure = model.figures.find((f) => f.id === s.figureId);
      return figure?.headline
        ? [
            {
              key: m.key,
              hosts: m.hosts,
              figure,
              n: s.n,
              median: s.median,
              cvPct: s.cvPct,
              bandPct: s.bandPct,
              outside: s.outside,
            },
          ]
        : [];
    }),
  );
}

const SPREAD_NOTE = [
  'Hosts of one hardware model (same CPU model, core count and memory).',
  "Per figure: the median of the hosts' means, the coefficient of variation across them, and the hosts",
  "further from the median than the metric's equivalence threshold " +
    '(the difference the single-run report calls practical).',
].join(' ');

function outsideText(o: { host: string; devPct: number }[]): string {
  return o.map((x) => `${x.host} (${fmtPct(x.devPct)})`).join(', ');
}

const ARMS_NOTE = [
  "Each arm (a pod under the runc, runsc or kata RuntimeClass, a KubeVirt VM) ran the CPU workload's probes;",
  'its log was parsed by the same parsers. The arms of a node take turns in time slots, so each round pairs',
  'the arm with runc measured just before or after it: "interleaved" rows are the paired estimator over rounds',
  '(the log ratio per round, t interval). Rows whose rounds overlapped, or with fewer than 2 rounds in common,',
  'are unpaired (Welch on the ratio of means) and say so.',
].join(' ');

function armDesignText(r: ArmOverhead): string {
  if (r.design === 'interleaved') return `interleaved, paired by round (n=${String(r.n)})`;
  const n = r.n as [number, number];
  return `${r.design === 'overlapping' ? 'overlapping in time' : 'not paired'}: unpaired (n=${n[0]}, ${n[1]})`;
}

function armArmTitle(arm: string): string {
  return arm === 'kubevirt' ? 'KubeVirt VM' : arm.startsWith('kata') ? `kata (${arm})` : arm;
}

function figureTitle(f: FleetFigure): string {
  return `${categoryTitle(f.workload)} · ${f.metric} · ${f.backend}${f.kind === 'overhead' ? ' vs native' : ''}`;
}

function fmtValue(f: FleetFigure, v: number): string {
  return f.kind === 'overhead' ? `${v >= 0 ? '+' : ''}${fmtNum(v)}%` : fmtNum(v);
}

/** One bar per host with its 95% CI whisker: the figure side by side across the fleet. */
export function figureChart(f: FleetFigure, hosts: string[], index: number): BarChartSpec {
  const vals = hosts.map((h) => f.perHost.find((p) => p.host === h) ?? null);
  const all = vals.flatMap((v) => (v ? [v.value, ...(v.ci95 ?? [])] : []));
  const lo = Math.min(0, ...all);
  const hi = Math.max(0, ...all);
  return {
    type: 'bar',
    id: `fleet-chart-${index}`,
    title: figureTitle(f),
    subtitle:
      'per host: mean with 95% CI' +
      (f.spread?.spreadPct != null ? ` · spread across hosts ${fmtNum(f.spread.spreadPct)}%` : '') +
      (f.outliers.length ? ` · outliers: ${f.outliers.join(', ')}` : ''),
    axisTitle: f.unit,
    labels: hosts,
    series: [
      {
        label: f.kind === 'overhead' ? `${f.backend} overhead vs native` : f.backend,
        colour: HOST_COLOURS[index % HOST_COLOURS.length]!,
        values: vals.map((v) => v?.value ?? null),
        lo: vals.map((v) => v?.ci95?.[0] ?? null),
        hi: vals.map((v) => v?.ci95?.[1] ?? null),
        text: vals.map((v) =>
          v ? `${fmtValue(f, v.value)} ${f.unit} ${fmtCi(v.ci95)}${v.n ? `, n=${v.n}` : ''}` : null,
        ),
      },
    ],
    log: false,
    horizontal: false,
    base: 0,
    suggestedMin: lo,
    suggestedMax: hi === lo ? lo + 1 : hi,
    suffix: '',
  };
}

function hostCell(f: FleetFigure, h: FleetHost): string {
  const v = f.perHost.find((p) => p.host === h.name);
  if (!v) {
    const why = h.state === 'complete' ? 'not measured' : h.state;
    return `<td class="na" data-host="${escapeHtml(h.name)}">${escapeHtml(why)}</td>`;
  }
  const out = f.outliers.includes(h.name);
  return (
    `<td class="${out ? 'outlier' : ''}" ` +
    `data-host="${escapeHtml(h.name)}">${escapeHtml(fmtValue(f, v.value))}<div ` +
    `class="ci">${escapeHtml(fmtCi(v.ci95))}</div>${out ? '<div class="flag">outlier</div>' : ''}</td>`
  );
}

function logLink(model: FleetModel, log: string | undefined, reportDir: string): string {
  if (!log) return '';
  const href = encodeURI(rawBaseFor(reportDir, model.fleetDir) + log);
  return ` <a href="${escapeHtml(href)}">log</a>`;
}

/** A table row: cells already HTML (escape what goes in), optional attributes on <tr> and per cell. */
const tr = (cells: string[], attrs = ''): string => `<tr${attrs}>${cells.join('')}</tr>`;
const td = (html: string, attrs = ''): string => `<td${attrs}>${html}</td>`;
const thead = (heads: string[]): string =>
  `<thead><tr>${heads.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
const unitDiv = (u: string): string => `<div class="unit">${escapeHtml(u)}</div>`;

/** "Spread within each hardware model": one row per model and headline value figure. */
export function renderSpreadSection(model: FleetModel): string {
  if (!model.models.length) return '';
  const heads = ['hardware model', 'figure', 'hosts', 'median', 'CV across hosts', 'band', 'hosts outside'];
  const rows = modelSpreadRows(model).map((r) => {
    const outside = r.outside.map((o) => o.host).join(',');
    return tr(
      [
        td(escapeHtml(r.key)),
        td(escapeHtml(figureTitle(r.figure)) + unitDiv(r.figure.unit)),
        td(escapeHtml(`${r.n}: ${r.hosts.join(', ')}`)),
        td(escapeHtml(fmtNum(r.median))),
        td(r.cvPct === null ? 'one host' : escapeHtml(`${fmtNum(r.cvPct)}%`)),
        td(`±${escapeHtml(fmtNum(r.bandPct))}%`),
        td(
          escapeHtml(outsideText(r.outside) || '—'),
          ` class="${r.outside.length ? 'outlier' : ''}" data-outside="${escapeHtml(outside)}"`,
        ),
      ],
      ` data-model="${escapeHtml(r.key)}"`,
    );
  });
  return `<section id="hardware-spread"><h2>Spread within each hardware model</h2>
<p class="meta">${escapeHtml(SPREAD_NOTE)}</p>
<table class="spread" id="spread-table">${thead(heads)}<tbody>${rows.join('')}</tbody></table></section>`;
}

/** "Kubernetes arms": overhead rows per arm vs runc, then each arm log with its rounds and problems. */
export function renderArmsSection(model: FleetModel, reportDir: string): string {
  const a = model.arms;
  if (!a.logs.length) return '';
  const heads = ['node', 'arm vs runc', 'figure', 'design', 'arm', 'runc', 'overhead (95% CI)', 'verdict'];
  const rows = a.rows.map((r) =>
    tr(
      [
        td(escapeHtml(r.node)),
        td(escapeHtml(armArmTitle(r.arm))),
        td(escapeHtml(r.metric) + unitDiv(r.unit)),
        td(escapeHtml(armDesignText(r)) + (r.note ? `<div class="ci">${escapeHtml(r.note)}</div>` : '')),
        td(escapeHtml(fmtNum(r.armMean))),
        td(escapeHtml(fmtNum(r.baselineMean))),
        td(escapeHtml(`${fmtPct(r.overheadPct)} ${fmtPctCi(r.overheadPctCi95)}`)),
        td(escapeHtml(r.verdict)),
      ],
      ` data-arm="${escapeHtml(r.arm)}" data-node="${escapeHtml(r.node)}"`,
    ),
  );
  const base = rawBaseFor(reportDir, model.fleetDir);
  const logRows = a.logs.map((l) => {
    const problem = l.error ?? (l.log && !l.log.done ? 'log ends before the arm finished' : '—');
    return tr([
      td(`<a href="${escapeHtml(encodeURI(base + l.file))}">${escapeHtml(l.file)}</a>`),
      td(escapeHtml(armArmTitle(l.arm))),
      td(escapeHtml(l.node)),
      td(l.log ? String(l.log.measured.length) : '—'),
      td(escapeHtml(l.log ? l.log.missed.join(', ') || '—' : '—')),
      td(escapeHtml(problem), l.error ? ' class="problem"' : ''),
    ]);
  });
  const logHeads = ['arm log', 'arm', 'node', 'rounds measured', 'missed', 'problem'];
  return `<section id="arms"><h2>Kubernetes arms: runc vs runsc vs kata vs KubeVirt</h2>
<p class="meta">${escapeHtml(ARMS_NOTE)}</p>
<table id="arms-table">${thead(heads)}<tbody>${rows.join('')}</tbody></table>
<table>${thead(logHeads)}<tbody>${logRows.join('')}</tbody></table>
${a.notes.map((n) => `<p class="meta">${escapeHtml(n)}</p>`).join('')}</section>`;
}

export interface FleetHtmlOptions {
  reportDir: string;
  capacity: GroupCapacity[] | null;
}

const FLEET_FOOTER =
  "Each host's values are the mean and the 95% CI of the mean of its own run (see that run's report); " +
  "the spread is across host means. The fleet's samples, one row per value with its host, " +
  'are in samples.jsonl of the fleet directory.';

/** An outlier host's row: host, figure, its value, the model's median, and the host facts that may explain it. */
function outlierCells(o: { host: FleetHost; figure: FleetFigure; value: number }): string[] {
  return [
    o.host.name,
    figureTitle(o.figure),
    fmtValue(o.figure, o.value),
    fmtValue(o.figure, o.figure.spread?.median ?? Number.NaN),
    o.host.facts?.cpuModel ?? '',
    o.host.facts?.kernel ?? '',
    o.host.facts?.accelerator ?? '',
  ];
}

function outlierRow(o: { host: FleetHost; figure: FleetFigure; value: number }): string {
  const cells = outlierCells(o);
  return tr(cells.map((x) => td(escapeHtml(x))));
}

export function renderFleetHtml(model: FleetModel, opts: FleetHtmlOptions): string {
  const hosts = model.hosts;
  const names = hosts.map((h) => h.name);
  const headline = model.figures.filter((f) => f.headline);
  const charts = headline.map((f, i) => figureChart(f, names, i));
  const th = names.map((n) => `<th data-host="${escapeHtml(n)}">${escapeHtml(n)}</th>`).join('');
  const factRow = (label: string, pick: (h: FleetHost) => string): string =>
    tr([
      `<th>${escapeHtml(label)}</th>`,
      ...hosts.map((h) => td(escapeHtml(pick(h)), ` data-host="${escapeHtml(h.name)}"`)),
    ]);
  const problemCell = (h: FleetHost): string => {
    const text = h.problem
      ? `${escapeHtml(`${h.problem.stage}: ${h.problem.message}`)}${logLink(model, h.problem.log, opts.reportDir)}`
      : '—';
    return td(text, ` data-host="${escapeHtml(h.name)}" class="${h.problem ? 'problem' : ''}"`);
  };
  const problemRow = tr(['<th>problem</th>', ...hosts.map(problemCell)]);
  const factsHead = `<table class="hosts"><thead><tr><th></th>${th}</tr></thead><tbody>`;
  const facts = `<section id="hosts"><h2>Hosts side by side</h2>${factsHead}
${factRow('state', (h) => h.state)}
${problemRow}
${factRow('run id', (h) => h.runId)}
${factRow('hostname', (h) => h.facts?.hostname ?? '—')}
${factRow('CPU model', (h) => h.facts?.cpuModel ?? '—')}
${factRow('CPUs', (h) => String(h.facts?.cpus ?? '—'))}
${factRow('memory GiB', (h) => String(h.facts?.memoryGiB ?? '—'))}
${factRow('kernel', (h) => h.facts?.kernel ?? '—')}
${factRow('accelerator', (h) => h.facts?.accelerator ?? '—')}
${factRow('doctor failures', (h) => (h.doctorFailures.length ? h.doctorFailures.join('; ') : 'none'))}
</tbody></table></section>`;
  const groupRows = model.groups
    .map((g) => tr([g.cpuModel, g.kernel, g.accelerator, g.hosts.join(', ')].map((x) => td(escapeHtml(x)))))
    .join('');
  const groups =
    '<section id="hardware"><h2>Hardware models</h2><table><thead><tr>' +
    '<th>CPU model</th><th>kernel</th><th>accelerator</th><th>hosts</th>' +
    `</tr></thead><tbody>${groupRows}</tbody></table></section>`;
  const spreadCell = (f: FleetFigure): string => {
    if (!f.spread) return '—';
    const pct =
      f.spread.spreadPct != null
        ? `<div class="ci">${escapeHtml(fmtNum(f.spread.spreadPct))}% of the median</div>`
        : '';
    return `${escapeHtml(fmtValue(f, f.spread.min))} … ${escapeHtml(fmtValue(f, f.spread.max))}${pct}`;
  };
  const figRows = (figs: FleetFigure[]): string =>
    figs
      .map((f) =>
        tr([
          `<th>${escapeHtml(figureTitle(f))}<div class="unit">${escapeHtml(f.unit)}</div></th>`,
          ...hosts.map((h) => hostCell(f, h)),
          td(spreadCell(f)),
          td(escapeHtml(f.outliers.join(', ') || '—')),
        ]),
      )
      .join('\n');
  const figHead = `<thead><tr><th>figure</th>${th}<th>spread across hosts</th><th>outlier hosts</th></tr></thead>`;
  const outliers = outlierRows(model);
  const outlierSection = outliers.length
    ? '<section id="outliers"><h2>Outlier hosts</h2><table><thead><tr>' +
      '<th>host</th><th>figure</th><th>host value</th><th>fleet median</th><th>CPU model</th><th>kernel</th>' +
      `<th>accelerator</th></tr></thead><tbody>${outliers.map(outlierRow).join('')}</tbody></table>` +
      '<p class="meta">The other hosts\' facts are in "Hosts side by side".</p></section>'
    : '';
  const spreadSection = renderSpreadSection(model);
  const armsSection = renderArmsSection(model, opts.reportDir);
  const capRows = (opts.capacity ?? [])
    .flatMap((g) =>
      g.backends.map((b) => {
        const perHost = b.perHost.map(
          (p) => `${p.host}: ${fmtNum(p.expected)} [${fmtNum(p.worst)}, ${fmtNum(p.best)}]`,
        );
        return tr([
          td(escapeHtml(g.group.key)),
          td(`${escapeHtml(b.label)} (${escapeHtml(b.accelerator)})`),
          td(escapeHtml(fmtNum(b.minExpected))),
          td(escapeHtml(perHost.join('; '))),
        ]);
      }),
    )
    .join('');
  const cap = opts.capacity
    ? '<section id="capacity"><h2>Capacity per hardware model</h2><p class="meta">' +
      "Instances per host from each host's measured overheads (the same host profile and instance for all); " +
      "the group figure is its smallest host's (conservative).</p><table><thead><tr>" +
      '<th>hardware model</th><th>backend</th><th>instances per host (group)</th><th>per host</th>' +
      `</tr></thead><tbody>${capRows}</tbody></table></section>`
    : '';
  const complete = hosts.filter((h) => h.state === 'complete').length;
  const meta =
    `scenario ${escapeHtml(model.manifest.scenarioName)} · ${escapeHtml(model.manifest.engine)} · ` +
    `${hosts.length} host(s): ${escapeHtml(names.join(', '))}`;
  const pill =
    `<span class="pill ${hosts.every((h) => h.state === 'complete') ? 'complete' : 'partial'}" id="status-pill">` +
    `${complete}/${hosts.length} complete</span>`;
  const canvases = charts.map((c) => canvasFor(c)).join('\n');
  const allFigures =
    `<details><summary>${model.figures.length} figures</summary>` +
    `<table class="figures">${figHead}<tbody>${figRows(model.figures)}</tbody></table></details>`;
  const chartJson = charts.map((c) => ({ id: c.id, config: chartConfig(c) }));
  return `${documentHead(`isobench fleet report: ${model.manifest.fleetId}`, FLEET_CSS)}
<body>
<main>
<header class="top"><div>
<h1>isobench fleet report: <span id="fleet-id">${escapeHtml(model.manifest.fleetId)}</span></h1>
<div class="meta">${meta}</div>
</div><div>${pill}</div></header>
${facts}
${groups}
${spreadSection}
${armsSection}
<section id="headline"><h2>Headline figures across hosts</h2>
${model.notes.map((n) => `<p class="meta">${escapeHtml(n)}</p>`).join('')}
<table class="figures" id="headline-table">${figHead}<tbody>${figRows(headline)}</tbody></table>
${canvases}
</section>
${outlierSection}
${cap}
<section id="all"><h2>Every figure</h2>${allFigures}</section>
<footer>${FLEET_FOOTER}</footer>
</main>
<script type="application/json" id="isobench-charts">${jsonForScript(chartJson)}</script>
<script>${chartJsSource()}</script>
<script>${BOOT_JS(CHART_RUNTIME_JS)}</script>
</body>
</html>
`;
}

/** Every (host, headline figure) where the host is an outlier, with the host for its facts. */
export function outlierRows(model: FleetModel): { host: FleetHost; figure: FleetFigure; value: number }[] {
  return model.figures
    .filter((f) => f.headline)
    .flatMap((f) =>
      f.outliers.flatMap((name) => {
        const host = model.hosts.find((h) => h.name === name);
        const v = f.perHost.find((p) => p.host === name);
        return host && v ? [{ host, figure: f, value: v.value }] : [];
      }),
    );
}

export function renderFleetMarkdown(model: FleetModel, capacity: GroupCapacity[] | null): string {
  const names = model.hosts.map((h) => h.name);
  const row = (cells: string[]): string => `| ${cells.map((c) => mdEscape(c)).join(' | ')} |`;
  const lines = [
    `# isobench fleet ${model.manifest.fleetId}`,
    '',
    `Scenario ${model.manifest.scenarioName}, ${model.hosts.length} host(s), engine ${model.manifest.engine}.`,
    '',
    '## Hosts',
    '',
  ];
  lines.push(
    row(['host', 'state', 'problem', 'CPU model', 'kernel', 'accelerator']),
    row(['---', '---', '---', '---', '---', '---']),
  );
  for (const h of model.hosts) {
    lines.push(
      row([
        h.name,
        h.state,
        h.problem ? `${h.problem.stage}: ${h.problem.message}${h.problem.log ? ` (${h.problem.log})` : ''}` : '',
        h.facts?.cpuModel ?? '',
        h.facts?.kernel ?? '',
        h.facts?.accelerator ?? '',
      ]),
    );
  }
  lines.push('', '## Headline figures across hosts', '', ...model.notes.map((n) => `${n}\n`));
  lines.push(row(['figure', ...names, 'spread', 'outliers']), row(['---', ...names.map(() => '---:'), '---', '---']));
  for (const f of model.figures.filter((x) => x.headline)) {
    lines.push(
      row([
        `${figureTitle(f)} (${f.unit})`,
        ...model.hosts.map((h) => {
          const v = f.perHost.find((p) => p.host === h.name);
          return v ? `${fmtValue(f, v.value)} ${fmtCi(v.ci95)}` : h.state === 'complete' ? 'not measured' : h.state;
        }),
        f.spread
          ? `${fmtValue(f, f.spread.min)} … ${fmtValue(f, f.spread.max)}` +
            (f.spread.spreadPct != null ? ` (${fmtNum(f.spread.spreadPct)}%)` : '')
          : '',
        f.outliers.join(', '),
      ]),
    );
  }
  const spread = modelSpreadRows(model);
  if (spread.length) {
    lines.push(
      '',
      '## Spread within each hardware model',
      '',
      SPREAD_NOTE,
      '',
      row(['hardware model', 'figure', 'hosts', 'median', 'CV across hosts', 'band', 'hosts outside']),
      row(['---', '---', '---:', '---:', '---:', '---:', '---']),
    );
    for (const r of spread)
      lines.push(
        row([
          r.key,
          `${figureTitle(r.figure)} (${r.figure.unit})`,
          String(r.n),
          fmtNum(r.median),
          r.cvPct === null ? 'one host' : `${fmtNum(r.cvPct)}%`,
          `±${fmtNum(r.bandPct)}%`,
          outsideText(r.outside),
        ]),
      );
  }
  if (model.arms.logs.length) {
    lines.push(
      '',
      '## Kubernetes arms: runc vs runsc vs kata vs KubeVirt',
      '',
      ARMS_NOTE,
      '',
      row(['node', 'arm vs runc', 'figure', 'design', 'arm', 'runc', 'overhead (95% CI)', 'verdict']),
      row(['---', '---', '---', '---', '---:', '---:', '---:', '---']),
    );
    for (const r of model.arms.rows)
      lines.push(
        row([
          r.node,
          armArmTitle(r.arm),
          `${r.metric} (${r.unit})`,
          armDesignText(r),
          fmtNum(r.armMean),
          fmtNum(r.baselineMean),
          `${fmtPct(r.overheadPct)} ${fmtPctCi(r.overheadPctCi95)}`,
          r.verdict,
        ]),
      );
    for (const n of model.arms.notes) lines.push('', n);
  }
  const outliers = outlierRows(model);
  if (outliers.length) {
    lines.push(
      '',
      '## Outlier hosts',
      '',
      row(['host', 'figure', 'host value', 'fleet median', 'CPU model', 'kernel', 'accelerator']),
      row(['---', '---', '---:', '---:', '---', '---', '---']),
    );
    for (const o of outliers) lines.push(row(outlierCells(o)));
  }
  if (capacity) {
    lines.push(
      '',
      '## Capacity per hardware model',
      '',
      row(['hardware model', 'backend', 'instances per host (smallest host)']),
      row(['---', '---', '---:']),
    );
    for (const g of capacity)
      for (const b of g.backends) lines.push(row([g.group.key, b.label, fmtNum(b.minExpected)]));
  }
  return `${lines.join('\n')}\n`;
}

/** `cpu-events_per_s-native.png`, `cpu-events_per_s-vm-q35-tcg-overhead.png`: a file name per figure. */
export function pngNameOf(f: FleetFigure): string {
  const stem = [f.workload, f.metric, f.backend].join('-').replace(/[^A-Za-z0-9_.-]+/g, '-');
  return `${stem}${f.kind === 'overhead' ? '-overhead' : ''}.png`;
}

/**
 * The fleet report's files (index.html, summary.md, one PNG per headline
 * figure) and the fleet's samples.jsonl; write.ts writes them. `reportDir` is
 * the folder the report will live in (its log links are relative to it).
 */
export async function renderFleetReport(
  model: FleetModel,
  reportDir: string,
): Promise<{ files: ReportFile[]; samples: string }> {
  const host = loadCapacityHost();
  const scenarioOf = model.hosts.find((h) => h.results)?.results?.scenario;
  const instance = instanceFromScenario(scenarioOf);
  const capacity = host && instance ? fleetCapacity(model, host, instance) : null;
  const files: ReportFile[] = [
    { name: 'index.html', data: renderFleetHtml(model, { reportDir, capacity }) },
    { name: 'summary.md', data: renderFleetMarkdown(model, capacity) },
  ];
  const render = pngRenderer();
  const names = model.hosts.map((h) => h.name);
  const headline = model.figures.filter((f) => f.headline);
  for (const [i, f] of headline.entries())
    files.push({ name: pngNameOf(f), data: await render(figureChart(f, names, i), []) });
  const rows = fleetSampleRows(model).map((r) => JSON.stringify(r));
  return { files, samples: rows.length ? `${rows.join('\n')}\n` : '' };
}
