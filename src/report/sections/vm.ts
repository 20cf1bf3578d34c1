/**
 * The report's VM section: what each VM backend's guest was (CPU model, machine
 * and device set, virtio-net backend, I/O thread, where QEMU's threads ran),
 * what its self-check found beside the host, and every backend's THP mode.
 * A view built from results.json (pure) and two small renderers; html.ts and
 * markdown.ts only call them.
 */
import type { BackendResult } from '../../results/types.js';
import type { Finding, MitigationRow, VmSelfCheck } from '../../results/vm-selfcheck.js';

export interface VmBackendView {
  label: string;
  accelerator: string;
  rows: Array<[string, string]>;
  selfCheck: {
    status: VmSelfCheck['status'] | 'failed' | 'not run';
    summary: string;
    findings: Finding[];
    mitigationDiffs: MitigationRow[];
    rawLogs: string[];
  };
}

export interface VmSectionView {
  vms: VmBackendView[];
  /** Every backend's THP mode: [label, enabled, defrag, where it was read]. */
  thp: Array<[string, string, string, string]>;
}

type Rec = Record<string, unknown>;
const str = (v: unknown, d = '—'): string =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : d;
const obj = (v: unknown): Rec => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});

/** Pure: the section's content; null when the run has no VM backend. */
export function vmSectionView(backends: BackendResult[]): VmSectionView | null {
  const vmBackends = backends.filter((b) => b.kind === 'vm');
  if (vmBackends.length === 0) return null;
  const vms = vmBackends.map((b): VmBackendView => {
    const d = b.details ?? {};
    const c = obj(d.choices);
    const cpu = obj(c.cpuModel);
    const machine = obj(c.machine);
    const vhost = obj(c.vhost);
    const io = obj(c.iothread);
    const rec = obj(b.vmSelfCheck);
    const sc = (rec.check ?? null) as VmSelfCheck | null;
    const placement = obj(rec.placement);
    const rows: Array<[string, string]> = [
      ['accelerator', `${b.accelerator}: ${b.acceleratorReason}`],
      ['CPU model', `${str(cpu.model)}${cpu.why ? ` (${str(cpu.why)})` : ''}`],
      [
        'machine / device set',
        `${str(machine.arg, str(d.machine))}: ${str(machine.deviceSet)}${machine.why ? ` (${str(machine.why)})` : ''}`,
      ],
      [
        'virtio-net',
        sc?.net.backend === 'none'
          ? 'none (this run needs no network: no virtio-net device)'
          : sc
            ? `${sc.net.backend}${vhost.why ? ` (${str(vhost.why)})` : ''}`
            : `${vhost.on ? 'vhost=on' : 'served by QEMU'}${vhost.why ? ` (${str(vhost.why)})` : ''}`,
      ],
      [
        'virtio-blk I/O thread',
        io.on
          ? `${str(io.id)} for ${Array.isArray(io.disks) ? io.disks.join(', ') : '?'}` +
            (sc ? ` (running: ${sc.iothreads.running.map((t) => t.id).join(', ') || 'none'})` : '')
          : 'none (main loop)',
      ],
      ['thread placement', placement.note ? str(placement.note) : str(d.placementPolicy)],
      ['scratch disk cache', str(d.scratchCache)],
      ['guest kernel command line', sc?.guestCmdline ?? str(d.kernelArgs)],
    ];
    if (sc) {
      rows.push([
        'guest vs host CPU',
        `${sc.cpu.guestModel ?? '?'} (${sc.cpu.guestFlags} flags) vs ${sc.cpu.hostModel ?? '?'} ` +
          `(${sc.cpu.hostFlags} ` +
          `flags)${sc.cpu.missingRelevant.length ? `; missing in the guest: ${sc.cpu.missingRelevant.join(' ')}` : ''}`,
      ]);
      rows.push(['clocksource', `guest ${sc.clocksource.guest ?? '?'}, host ${sc.clocksource.host ?? '?'}`]);
    }
    return {
      label: b.label,
      accelerator: b.accelerator,
      rows,
      selfCheck: {
        status: sc ? sc.status : rec.error ? 'failed' : 'not run',
        summary: sc ? sc.summary : str(rec.error, 'no self-check recorded in this run'),
        findings: sc ? sc.findings.filter((f) => f.severity !== 'info') : [],
        mitigationDiffs: sc
          ? sc.mitigations.filter(
              (m) => m.comparison === 'guest-extra' || m.comparison === 'guest-fewer' || m.comparison === 'different',
            )
          : [],
        rawLogs: Array.isArray(rec.rawLogs) ? (rec.rawLogs as unknown[]).map((x) => String(x)) : [],
      },
    };
  });
  const thp = backends.map((b): [string, string, string, string] => {
    const t = obj(b.details?.thp);
    return [b.label, str(t.enabled), str(t.defrag), str(t.source, 'not recorded')];
  });
  return { vms, thp };
}

const STATUS_TEXT: Record<VmBackendView['selfCheck']['status'], string> = {
  ok: 'ok: the guest matches the host',
  'expected-differences': 'differences expected (TCG emulation)',
  warnings: 'warnings',
  errors: "ERRORS: the guest is not the host's machine; VM figures understate what a tuned VM does",
  failed: 'failed',
  'not run': 'not run',
};

export function renderVmSectionHtml(
  v: VmSectionView | null,
  esc: (s: unknown) => string,
  rawHref: (rel: string) => string = (r) => r,
): string {
  if (!v) return '';
  const tableRow = (cells: readonly string[]): string => `<tr>${cells.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`;
  const parts = v.vms.map((vm) => {
    const rows = vm.rows.map(([k, val]) => `<tr><th>${esc(k)}</th><td>${esc(val)}</td></tr>`).join('');
    const sc = vm.selfCheck;
    const findings = sc.findings
      .map(
        (f) =>
          `<li class="sc-${esc(f.severity)}"><strong>${esc(f.severity)}</strong> ${esc(f.area)}: ` +
          esc(f.message) +
          (f.fix && f.severity === 'error' ? `<br><span class="unit">fix: ${esc(f.fix)}</span>` : '') +
          '</li>',
      )
      .join('');
    const mitRows = sc.mitigationDiffs
      .map((m) => tableRow([m.name, m.guest ?? '—', m.host ?? '—', m.comparison]))
      .join('');
    const mit = sc.mitigationDiffs.length
      ? '<table><thead><tr><th>Vulnerability</th><th>Guest</th><th>Host</th><th></th></tr></thead>' +
        `<tbody>${mitRows}</tbody></table>`
      : '';
    const links = sc.rawLogs.map((r) => `<a href="${esc(rawHref(r))}">${esc(r.split('/').pop() ?? r)}</a>`);
    const raw = sc.rawLogs.length ? `<br><span class="unit">raw snapshots: ${links.join(' · ')}</span>` : '';
    const check = `<strong>Self-check: ${esc(STATUS_TEXT[sc.status])}.</strong> ${esc(sc.summary)}${raw}`;
    return `<h3>${esc(vm.label)}</h3><table class="vm-choices"><tbody>${rows}</tbody></table>
<p>${check}</p>${findings ? `<ul class="vm-findings">${findings}</ul>` : ''}${mit}`;
  });
  const thp =
    '<h3>Transparent huge pages per backend</h3>' +
    '<table><thead><tr><th>Backend</th><th>enabled</th><th>defrag</th><th>Read from</th></tr></thead>' +
    `<tbody>${v.thp.map(tableRow).join('')}</tbody></table>`;
  return (
    '<section class="card" id="vm"><h2>VM: what the guest was</h2><p class="lead">' +
    'CPU model, device set, virtio-net backend, I/O thread and thread placement of each VM backend, ' +
    "and its self-check (the guest booted with the run's accelerator, compared with the host) " +
    `at the start of the run.</p>${parts.join('\n')}${thp}</section>`
  );
}

export function renderVmSectionMd(v: VmSectionView | null, esc: (s: string) => string): string[] {
  if (!v) return [];
  const out: string[] = ['## VM: what the guest was', ''];
  for (const vm of v.vms) {
    out.push(`### ${esc(vm.label)}`, '', '| | |', '|---|---|');
    for (const [k, val] of vm.rows) out.push(`| ${esc(k)} | ${esc(val)} |`);
    out.push('', `**Self-check: ${esc(STATUS_TEXT[vm.selfCheck.status])}.** ${esc(vm.selfCheck.summary)}`, '');
    for (const f of vm.selfCheck.findings)
      out.push(
        `- **${f.severity}** ${esc(f.area)}: ` +
          `${esc(f.message)}${f.fix && f.severity === 'error' ? ` (fix: ${esc(f.fix)})` : ''}`,
      );
    if (vm.selfCheck.findings.length) out.push('');
    if (vm.selfCheck.mitigationDiffs.length) {
      out.push('| Vulnerability | Guest | Host | |', '|---|---|---|---|');
      for (const m of vm.selfCheck.mitigationDiffs)
        out.push(`| ${esc(m.name)} | ${esc(m.guest ?? '—')} | ${esc(m.host ?? '—')} | ${m.comparison} |`);
      out.push('');
    }
  }
  out.push(
    '### Transparent huge pages per backend',
    '',
    '| Backend | enabled | defrag | Read from |',
    '|---|---|---|---|',
  );
  for (const r of v.thp) out.push(`| ${r.map(esc).join(' | ')} |`);
  out.push('');
  return out;
}
