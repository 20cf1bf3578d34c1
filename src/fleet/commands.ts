/**
 * The fleet side of `report`, `compare` and `capacity`, and the `fleet ansible` / `fleet k8s` commands (cli.ts only
 * parses their options). cli.ts asks isFleetRef() once per argument and hands fleet directories here; single runs
 * keep their own code paths untouched.
 */
import path from 'node:path';
import { EXIT_FAILED, EXIT_OK, IsobenchError } from '../errors.js';
import { loadResultsRef } from '../results/io.js';
import type { RunResults } from '../results/types.js';
import { resolveFleetDir } from './layout.js';
import { fleetSummaryLines, loadFleet } from './merge.js';

export function isFleetRef(ref: string, resultsRoot: string): boolean {
  return resolveFleetDir(ref, resultsRoot) !== null;
}

function fleetDirOf(ref: string, resultsRoot: string): string {
  const d = resolveFleetDir(ref, resultsRoot);
  if (!d)
    throw new IsobenchError(
      'BAD_ARGS',
      `no fleet "${ref}": expected a fleet id under ${resultsRoot}/ or a fleet directory holding fleet.json`,
    );
  return d;
}

export async function fleetReport(
  ref: string,
  resultsRoot: string,
  reportsRoot: string,
): Promise<{ index: string; summary: string[]; allComplete: boolean }> {
  const { writeFleetReport } = await import('../report/write.js');
  const model = await loadFleet(fleetDirOf(ref, resultsRoot));
  const { index } = await writeFleetReport(model, reportsRoot);
  return {
    index,
    summary: fleetSummaryLines(model),
    allComplete: model.hosts.length > 0 && model.hosts.every((h) => h.state === 'complete'),
  };
}

/** A side of a fleet comparison: one (host, results) per measured host, or a single run. */
async function side(
  ref: string,
  resultsRoot: string,
): Promise<{ id: string; runs: { host: string | null; results: RunResults }[] }> {
  if (isFleetRef(ref, resultsRoot)) {
    const m = await loadFleet(fleetDirOf(ref, resultsRoot));
    return {
      id: m.manifest.fleetId,
      runs: m.hosts.flatMap((h) => (h.results ? [{ host: h.name, results: h.results }] : [])),
    };
  }
  const r = await loadResultsRef(ref, resultsRoot);
  return { id: r.runId, runs: [{ host: null, results: r }] };
}

/**
 * Compare where a side is a fleet: host by host (same inventory name), or every
 * host of a fleet against one run. Each pair goes through the single-run
 * comparison unchanged.
 */
export async function fleetCompare(
  a: string,
  b: string,
  o: { resultsRoot: string; reportsRoot: string; failPct?: number; json?: boolean },
): Promise<{ text: string; exitCode: number }> {
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
  if (pairs.length === 0)
    throw new IsobenchError(
      'BAD_ARGS',
      `compare ${a} ${b}: no host is in both fleets (hosts are paired by inventory name)`,
    );
  const md: string[] = [`# Fleet comparison ${sa.id} vs ${sb.id}`, ''];
  const json: Record<string, unknown> = {};
  const hostPages: { host: string; html: string }[] = [];
  let regressed = 0;
  for (const p of pairs) {
    const c = cmp.compareRuns(p.ra, p.rb);
    hostPages.push({ host: p.host, html: cmp.renderCompareHtml(c) });
    md.push(`## host ${p.host}`, '', cmp.renderCompareMarkdown(c));
    json[p.host] = c;
    if (o.failPct !== undefined) {
      const regs = cmp.regressions(c, o.failPct);
      if (regs.length) md.push(`host ${p.host}: ${regs.length} regression(s) beyond ${o.failPct}%`, '');
      regressed += regs.length;
    }
  }
  const { writeFleetCompareReport } = await import('../report/write.js');
  await writeFleetCompareReport(sa.id, sb.id, hostPages, md.join('\n'), o.reportsRoot);
  return { text: o.json ? JSON.stringify(json, null, 2) : md.join('\n'), exitCode: regressed ? EXIT_FAILED : EXIT_OK };
}

/** `capacity --run <fleet>`: the plan of every measured host, grouped by hardware model. */
export async function fleetCapacityCommand(o: {
  run: string;
  host: string;
  instance: string;
  resultsRoot: string;
  json?: boolean;
}): Promise<{ text: string; exitCode: number }> {
  const { parseHostSpec, parseInstanceDemand } = await import('../capacity/index.js');
  const { fleetCapacity } = await import('../report/fleet.js');
  const host = parseHostSpec(o.host);
  const instance = parseInstanceDemand(o.instance);
  const model = await loadFleet(fleetDirOf(o.run, o.resultsRoot));
  const groups = fleetCapacity(model, host, instance);
  if (o.json)
    return {
      text: JSON.stringify(
        groups.map((g) => ({ hardwareModel: g.group.key, hosts: g.group.hosts, backends: g.backends, error: g.error })),
        null,
        2,
      ),
      exitCode: EXIT_OK,
    };
  const lines = [
    `fleet ${model.manifest.fleetId}: instances per host by hardware model (host ${host.cores} cores, ` +
      `${host.memoryGiB} GiB; instance ${instance.vcpus} vCPU, ${instance.memoryMiB} MiB)`,
  ];
  for (const g of groups) {
    lines.push(`${g.group.key}  (${g.group.hosts.join(', ')})`);
    if (g.error) lines.push(`  error: ${g.error}`);
    for (const b of g.backends)
      lines.push(
        `  ${b.label.padEnd(20)} ${String(b.minExpected).padStart(6)}  smallest host; ` +
          `${b.perHost.map((p) => `${p.host} ${p.expected} [${p.worst}, ${p.best}]`).join('; ')}`,
      );
  }
  const unmeasured = model.hosts.filter((h) => !h.results);
  for (const h of unmeasured)
    lines.push(`not planned: ${h.name} (${h.state}${h.problem ? `: ${h.problem.message}` : ''})`);
  return { text: lines.join('\n'), exitCode: EXIT_OK };
}

export async function cmdFleetAnsible(
  scenario: string,
  o: {
    inventory?: string;
    limit?: string;
    serial?: string;
    fleetId?: string;
    source?: string;
    sourceVersion?: string;
    remoteDir?: string;
    run?: boolean;
    quiet?: boolean;
  },
  ctx: { resultsRoot: string; reportsRoot: string; packageRoot: string; out: (s: string) => void },
): Promise<number> {
  const { resultsRoot: RESULTS_ROOT, reportsRoot: REPORTS_ROOT, packageRoot: ROOT, out } = ctx;
  if (!o.inventory)
    throw new IsobenchError(
      'BAD_ARGS',
      'fleet ansible: --inventory <file> is required (an Ansible INI or YAML inventory, see docs/fleet.md)',
    );
  const serial = o.serial === undefined ? undefined : /^\d+$/.test(o.serial) ? Number(o.serial) : Number.NaN;
  const { prepareAnsibleFleet, runAnsibleFleet } = await import('./ansible.js');
  const p = await prepareAnsibleFleet({
    scenarioFile: scenario,
    inventory: o.inventory,
    resultsRoot: RESULTS_ROOT,
    packageRoot: ROOT,
    ...(o.limit ? { limit: o.limit } : {}),
    ...(serial !== undefined ? { serial } : {}),
    ...(o.fleetId ? { fleetId: o.fleetId } : {}),
    ...(o.source ? { source: o.source } : {}),
    ...(o.sourceVersion ? { sourceVersion: o.sourceVersion } : {}),
    ...(o.remoteDir ? { remoteDir: o.remoteDir } : {}),
  });
  process.stderr.write(
    `fleet ${p.fleetId}: ${p.hosts.length} host(s): ${p.hosts.join(', ')}\nplaybook: ${p.playbook}\n`,
  );
  if (!o.run) {
    process.stderr.write(
      `run it with: cd ${p.fleetDir} && ANSIBLE_CONFIG=ansible.cfg ansible-playbook ${p.argv.join(' ')}\n  ` +
        `(or add --run; rerun with --fleet-id ${p.fleetId} to resume)\n`,
    );
    out(p.fleetDir);
    return EXIT_OK;
  }
  const rc = await runAnsibleFleet(p, o.quiet ? { quiet: true } : {});
  const r = await fleetReport(p.fleetDir, RESULTS_ROOT, REPORTS_ROOT);
  for (const l of r.summary) process.stderr.write(`${l}\n`);
  process.stderr.write(`ansible-playbook exit ${rc}\nreport: ${r.index}\n`);
  out(p.fleetDir);
  return r.allComplete ? EXIT_OK : EXIT_FAILED;
}

export async function cmdFleetK8s(
  scenario: string,
  o: {
    nodes?: string;
    namespace?: string;
    fleetId?: string;
    run?: string;
    runnerImage?: string;
    workloadImage?: string;
    vmImage?: string;
    armStart?: string;
  },
  ctx: { resultsRoot: string; out: (s: string) => void },
): Promise<number> {
  const { resultsRoot: RESULTS_ROOT, out } = ctx;
  if (!o.nodes)
    throw new IsobenchError(
      'BAD_ARGS',
      'fleet k8s: --nodes <node,node...|label selector> is required ' +
        '(node names as kubectl get nodes shows them, or e.g. pool=bench)',
    );
  let armStart: number | undefined;
  if (o.armStart !== undefined) {
    const t = /^\d+$/.test(o.armStart) ? Number(o.armStart) : Date.parse(o.armStart) / 1000;
    if (!Number.isFinite(t))
      throw new IsobenchError(
        'BAD_ARGS',
        `--arm-start "${o.armStart}": expected an ISO 8601 time (2026-12-07T09:00:00Z) or Unix seconds`,
      );
    armStart = Math.ceil(t);
  }
  const k8s = await import('./k8s.js');
  let run: RunResults | undefined;
  let overheads: { variant: string; kind: string; memoryMi: number | null; cpuMillicores: number | null }[] | undefined;
  if (o.run) {
    const { planCapacity } = await import('../capacity/index.js');
    const { instanceFromScenario } = await import('../report/model.js');
    const { loadCapacityHost } = await import('../capacity/host-profile.js');
    run = await loadResultsRef(o.run, RESULTS_ROOT);
    const host = loadCapacityHost();
    const instance = instanceFromScenario(run.scenario);
    if (host && instance) {
      const plan = planCapacity(run, { host, instance });
      overheads = plan.runtimeClasses.map((rc) => {
        const b = run!.backends.find((x) => x.label === rc.backend);
        return {
          variant: b?.variant ?? '',
          kind: b?.kind ?? '',
          memoryMi: rc.memoryMi,
          cpuMillicores: rc.cpuMillicores,
        };
      });
    }
  }
  const m = await k8s.renderK8s({
    scenarioFile: scenario,
    nodes: o.nodes,
    resultsRoot: RESULTS_ROOT,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.fleetId ? { fleetId: o.fleetId } : {}),
    ...(o.runnerImage ? { runnerImage: o.runnerImage } : {}),
    ...(o.workloadImage ? { workloadImage: o.workloadImage } : {}),
    ...(o.vmImage ? { vmImage: o.vmImage } : {}),
    ...(run ? { run } : {}),
    ...(overheads ? { runtimeClassOverheads: overheads } : {}),
    ...(armStart !== undefined ? { armStart } : {}),
  });
  const { loadScenario } = await import('../scenario/loader.js');
  const { scenario: sc } = await loadScenario(scenario);
  const dir = await k8s.writeK8s(m, {
    scenarioFile: scenario,
    scenarioName: sc.name,
    nodes: m.nodes,
    resultsRoot: RESULTS_ROOT,
  });
  for (const n of m.notes) process.stderr.write(`note: ${n}\n`);
  out(`manifests: ${dir} (validated: ${m.files.map((f) => `${f.name} ${f.objects.length}`).join(', ')})`);
  out(`apply: kubectl apply -f ${dir}`);
  out(`collect (also in ${path.join(dir, 'collect.sh')}):`);
  for (const c of m.collect) out(`  ${c}`);
  out(`then: isobench report ${path.dirname(dir)}`);
  return EXIT_OK;
}
