/**
 * Checks before anything starts: a run that cannot finish is refused with a
 * clear message instead of failing halfway.
 */
import { statfsSync } from 'node:fs';
import { IsobenchError } from '../errors.js';
import type { HostFacts } from '../host/facts.js';
import type { Scenario } from '../scenario/schema.js';
import { harnessCpuProblem } from './placement.js';
import { getProvider, type ResolvedBackend } from '../backends/providers/index.js';

const MiB = 1024 * 1024;
const SAFETY_MARGIN_MIB = 1024;

/** Problems with the scenario that no host of this size can satisfy: bad input (exit 2). */
export function scenarioHostProblems(
  s: Scenario,
  host: Pick<HostFacts, 'cpus' | 'memTotalBytes'>,
  file: string,
): string[] {
  const out: string[] = [];
  if (s.instance.vcpus > host.cpus)
    out.push(
      `${file}: instance.vcpus: ${s.instance.vcpus} exceeds this host's ${host.cpus} CPUs; use at most ${host.cpus}`,
    );
  if (Array.isArray(s.instance.cpus)) {
    const bad = s.instance.cpus.filter((c) => c >= host.cpus);
    if (bad.length)
      out.push(`${file}: instance.cpus: CPU ${bad.join(', ')} does not exist here (CPUs 0-${host.cpus - 1})`);
  }
  // Only once the CPUs exist: an impossible CPU set has its own line above.
  const harness = out.length === 0 ? harnessCpuProblem(s.instance, host.cpus, file) : undefined;
  if (harness) out.push(harness);
  const memTotalMiB = Math.floor(host.memTotalBytes / MiB);
  if (s.instance.memoryMiB > memTotalMiB)
    out.push(
      `${file}: instance.memoryMiB: ${s.instance.memoryMiB} MiB is more than this host has ` +
        `(${memTotalMiB} MiB); lower it`,
    );
  return out;
}

/**
 * Host memory the run needs at its peak: one long-lived instance per backend plus one extra at a time, each with
 * its provider's per-instance host cost, plus each engine's per-host cost (a daemon) once.
 */
export function peakMemoryMiB(s: Scenario, backends: Array<Pick<ResolvedBackend, 'provider'>>): number {
  const providers = backends.map((b) => getProvider(b.provider));
  const per = providers.map((p) => s.instance.memoryMiB + p.hostOverheadMiB);
  const longLived = per.reduce((acc, m) => acc + m, 0);
  const extra = Math.max(0, ...per);
  const fixed = [...new Set(providers)].reduce((acc, p) => acc + (p.hostFixedMiB ?? 0), 0);
  return longLived + extra + fixed;
}

export function preflight(opts: {
  scenario: Scenario;
  host: HostFacts;
  backends: ResolvedBackend[];
  resultsRoot: string;
  workRoot: string;
  file: string;
}): void {
  const { scenario: s, host } = opts;
  const bad = scenarioHostProblems(s, host, opts.file);
  if (bad.length)
    throw new IsobenchError('BAD_SCENARIO', bad[0] ?? 'scenario does not fit this host', { details: bad.slice(1) });
  if (!host.isRoot)
    throw new IsobenchError(
      'PREFLIGHT',
      'isobench run needs root: it creates cgroups, network namespaces and OCI containers; run it as root (sudo)',
    );
  const needMiB = peakMemoryMiB(s, opts.backends) + SAFETY_MARGIN_MIB;
  const availMiB = Math.floor(host.memAvailableBytes / MiB);
  if (needMiB > availMiB)
    throw new IsobenchError(
      'PREFLIGHT',
      `not enough free memory: this scenario needs about ${needMiB} MiB at its peak ` +
        `(${opts.backends.length} instances of ${s.instance.memoryMiB} MiB plus margin), ` +
        `the host has ${availMiB} MiB available; lower instance.memoryMiB or run fewer backends`,
    );
  const diskNeedMiB = (opts.backends.length + 1) * s.instance.disk.sizeMiB + 512;
  for (const dir of new Set([opts.resultsRoot, opts.workRoot])) {
    try {
      const st = statfsSync(dir);
      const freeMiB = Math.floor((st.bavail * st.bsize) / MiB);
      if (freeMiB < diskNeedMiB)
        throw new IsobenchError(
          'PREFLIGHT',
          `not enough free disk in ${dir}: need about ${diskNeedMiB} MiB (scratch disks + results), ` +
            `have ${freeMiB} MiB; lower instance.disk.sizeMiB`,
        );
    } catch (e) {
      if (e instanceof IsobenchError) throw e;
    }
  }
}
