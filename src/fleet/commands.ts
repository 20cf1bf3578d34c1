/**
 * The fleet side of `report`, `compare` and `capacity`, and the `fleet`
 * commands. cli.ts asks isFleetRef() once per argument and hands fleet
 * directories here; single runs keep their own code paths untouched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EXIT_FAILED, EXIT_OK, IsobenchError } from '../errors.js';
import { loadResultsRef, writeFileAtomic } from '../results/io.js';
import type { RunResults } from '../results/types.js';
import { resolveFleetDir } from './layout.js';
import { fleetSummaryLines, loadFleet } from './merge.js';

export function isFleetRef(ref: string, resultsRoot: string): boolean {
  return resolveFleetDir(ref, resultsRoot) !== null;
}

function fleetDirOf(ref: string, resultsRoot: string): string {
  const d = resolveFleetDir(ref, resultsRoot);
  if (!d) throw new IsobenchError('BAD_ARGS', `no fleet "${ref}": expected a fleet id under ${resultsRoot}/ or a fleet directory holding fleet.json`);
  return d;
}

export async function fleetReport(ref: string, resultsRoot: string, reportsRoot: string): Promise<{ index: string; summary: string[]; allComplete: boolean }> {
  const { writeFleetReport } = await import('../report/fleet.js');
  const model = await loadFleet(fleetDirOf(ref, resultsRoot));
  const { index } = await writeFleetReport(model, reportsRoot);
  return { index, summary: fleetSummaryLines(model), allComplete: model.hosts.length > 0 && model.hosts.every((h) => h.state === 'complete') };
}

/** A side of a fleet comparison: one (host, results) per measured host, or a single run. */
async function side(ref: string, resultsRoot: string): Promise<{ id: string; runs: { host: string | null; results: RunResults }[] }> {
  if (isFleetRef(ref, resultsRoot)) {
    const m = await loadFleet(fleetDirOf(ref, resultsRoot));
    return { id: m.manifest.fleetId, runs: m.hosts.flatMap((h) => (h.results ? [{ host: h.name, results: h.results }] : [])) };
  }
  const r = await loadResultsRef(ref, resultsRoot);
  return { id: r.runId, runs: [{ host: null, results: r }] };
}

/**
 * Compare where a side is a fleet: host by host (same inventory name), or every
 * host of a fleet against one run. Each pair goes through the single-run
 * comparison unchanged.
 */
export async function fleetCompare(a: string, b: string, o: { resultsRoot: string; reportsRoot: string; failPct?: number; json?: boolean }): Promise<{ text: string; exitCode: number }> {
  const cmp = await import('../report/compare.js');
  const sa = await side(a, o.resultsRoot);
  const sb = await side(b, o.resultsRoot);
  const pairs: { host: string; ra: RunResults; rb: RunResults }[] = [];
  for (const x of sa.runs) {
    for (const y of sb.runs) {
      if (x.host !== null && y.host !== null && x.host !== y.host) continue;
      pairs.push({ host: x.host ?? y.host ?? 'run', ra: x.results, rb: y.results });
    }
  }
  if (pairs.length === 0) throw new IsobenchError('BAD_ARGS', `compare ${a} ${b}: no host is in both fleets (hosts are paired by inventory name)`);
  const dir = path.join(o.reportsRoot, `compare-${sa.id}-vs-${sb.id}`);
  await fs.mkdir(dir, { recursive: true });
  const md: string[] = [`# Fleet comparison ${sa.id} vs ${sb.id}`, ''];
  const json: Record<string, unknown> = {};
  let regressed = 0;
  for (const p of pairs) {
    const c = cmp.compareRuns(p.ra, p.rb);
    const hostDir = path.join(dir, p.host);
    await fs.mkdir(hostDir, { recursive: true });
    await writeFileAtomic(path.join(hostDir, 'index.html'), cmp.renderCompareHtml(c));
    md.push(`## host ${p.host}`, '', cmp.renderCompareMarkdown(c));
    json[p.host] = c;
    if (o.failPct !== undefined) {
      const regs = cmp.regressions(c, o.failPct);
      if (regs.length) md.push(`host ${p.host}: ${regs.length} regression(s) beyond ${o.failPct}%`, '');
      regressed += regs.length;
    }
  }
  await writeFileAtomic(path.join(dir, 'compare.md'), md.join('\n'));
  return { text: o.json ? JSON.stringify(json, null, 2) : md.join('\n'), exitCode: regressed ? EXIT_FAILED : EXIT_OK };
}

/** `capacity --run <fleet>`: the plan of every measured host, grouped by hardware model. */
export async function fleetCapacityCommand(o: { run: string; host: string; instance: string; resultsRoot: string; json?: boolean }): Promise<{ text: string; exitCode: number }> {
  const { parseHostSpec, parseInstanceDemand } = await import('../capacity/index.js');
  const { fleetCapacity } = await import('../report/fleet.js');
  const host = parseHostSpec(o.host);
  const instance = parseInstanceDemand(o.instance);
  const model = await loadFleet(fleetDirOf(o.run, o.resultsRoot));
  const groups = fleetCapacity(model, host, instance);
  if (o.json) return { text: JSON.stringify(groups.map((g) => ({ hardwareModel: g.group.key, hosts: g.group.hosts, backends: g.backends, error: g.error })), null, 2), exitCode: EXIT_OK };
  const lines = [`fleet ${model.manifest.fleetId}: instances per host by hardware model (host ${host.cores} cores, ${host.memoryGiB} GiB; instance ${instance.vcpus} vCPU, ${instance.memoryMiB} MiB)`];
  for (const g of groups) {
    lines.push(`${g.group.key}  (${g.group.hosts.join(', ')})`);
    if (g.error) lines.push(`  error: ${g.error}`);
    for (const b of g.backends) lines.push(`  ${b.label.padEnd(20)} ${String(b.minExpected).padStart(6)}  smallest host; ${b.perHost.map((p) => `${p.host} ${p.expected} [${p.worst}, ${p.best}]`).join('; ')}`);
  }
  const unmeasured = model.hosts.filter((h) => !h.results);
  for (const h of unmeasured) lines.push(`not planned: ${h.name} (${h.state}${h.problem ? `: ${h.problem.message}` : ''})`);
  return { text: lines.join('\n'), exitCode: EXIT_OK };
}
