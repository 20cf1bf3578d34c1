/** Versions of every tool a result depends on; null when the tool is missing. */
import { toolVersion } from '../util/proc.js';
import { providerTools } from '../backends/providers/index.js';
import type { ToolProbe } from '../backends/registry.js';
import { workloadDeclarations } from '../core/declarations.js';
import '../workloads/index.js';

/** Tools of the workloads and images; each backend provider adds its own (runtimes, QEMU, engines). */
const WORKLOAD_TOOLS: Record<string, ToolProbe> = {
  fio: { argv: ['fio', '--version'], pattern: /fio-(\S+)/, pkg: 'fio' },
  iperf3: { argv: ['iperf3', '--version'], pattern: /iperf (\S+)/, pkg: 'iperf3' },
  sysbench: { argv: ['sysbench', '--version'], pattern: /sysbench (\S+)/, pkg: 'sysbench' },
  'stress-ng': { argv: ['stress-ng', '--version'], pattern: /version (\S+)/, pkg: 'stress-ng' },
  sockperf: { argv: ['sockperf', '--version'], pattern: /version (\S+)/, pkg: 'sockperf' },
  busybox: { argv: ['busybox'], pattern: /BusyBox v(\S+)/, pkg: 'busybox-static' },
  mke2fs: { argv: ['mke2fs', '-V'], pattern: /mke2fs (\S+)/, pkg: 'e2fsprogs' },
  ip: { argv: ['ip', '-V'], pattern: /iproute2-([\w.]+?),?\s/, pkg: 'iproute2' },
};

/** Programs a workload declares beyond the common set (its declaration's tools). */
function declaredTools(): Record<string, ToolProbe> {
  const out: Record<string, ToolProbe> = {};
  for (const d of workloadDeclarations())
    for (const t of d.tools ?? [])
      if (t.version)
        out[t.name] = {
          argv: t.version.argv,
          pkg: t.pkg,
          ...(t.version.pattern ? { pattern: t.version.pattern } : {}),
        };
  return out;
}

export const TOOLS: Record<string, ToolProbe> = { ...providerTools(), ...declaredTools(), ...WORKLOAD_TOOLS };

export async function toolVersions(): Promise<Record<string, string | null>> {
  const entries = await Promise.all(
    Object.entries(TOOLS).map(async ([name, t]) => [name, await toolVersion(t.argv, t.pattern)] as const),
  );
  return { node: process.versions.node, ...Object.fromEntries(entries) };
}
