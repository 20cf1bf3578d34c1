/**
 * The Kubernetes RuntimeClass overhead.podFixed figures of one backend
 * variant, from its profile (formulas in model.ts): upper CI ends so the
 * scheduler does not over-pack, expected values alongside.
 */
import { runtimeClassHandler } from '../backends/providers/index.js';
import type { InstanceDemand } from './spec.js';
import { EPS, type BackendProfile, type RuntimeClassOverhead } from './plan-types.js';
import { uniq } from './sources.js';

export function runtimeClassFor(
  p: BackendProfile,
  d: InstanceDemand,
  cpuDemandSources: string[],
): RuntimeClassOverhead {
  const notes: string[] = [];
  // The provider of the measured backend names its Kubernetes runtime handler (or says it is a guess).
  const { handler, guess } = runtimeClassHandler(p.kind, p.variant);
  const name = `isobench-${p.label}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/-$/, '');
  let cpuMillicores: number | null = null;
  let cpuExpected: number | null = null;
  if (p.cpu) {
    if (Number.isFinite(p.cpu.worst)) cpuMillicores = Math.ceil(d.vcpus * (p.cpu.worst - 1) * 1000 - EPS);
    else notes.push('CPU overhead CI is unbounded (ratio CI reaches 0): no cpu figure');
    cpuExpected = Math.ceil(d.vcpus * (p.cpu.value - 1) * 1000 - EPS);
  } else notes.push('CPU overhead not measured in this run: no cpu figure');
  if (!p.footprintMiB) notes.push('idle-instance footprint not measured in this run: no memory figure');
  if (p.accelerator === 'tcg')
    notes.push('TCG (emulation): the cpu figure describes emulation; do not use it on a KVM host');
  if (p.engineHelperMiB !== undefined)
    notes.push(
      `memory includes the engine's per-container helper (${p.engineHelperMiB.toFixed(1)} MiB PSS), ` +
        `which a pod also carries (containerd-shim under CRI)`,
    );
  if (p.engineFixedMiB)
    notes.push(
      `the engine daemon's ${p.engineFixedMiB.value.toFixed(1)} MiB is per node, not per pod: ` +
        `reserve it in the kubelet's system-reserved, not in podFixed`,
    );
  return {
    backend: p.label,
    name,
    handler,
    handlerIsGuess: guess,
    memoryMi: p.footprintMiB ? Math.ceil(p.footprintMiB.worst - EPS) : null,
    memoryExpectedMi: p.footprintMiB ? Math.ceil(p.footprintMiB.value - EPS) : null,
    cpuMillicores,
    cpuExpectedMillicores: cpuExpected,
    sources: uniq([...(p.footprintMiB?.sources ?? []), ...(p.cpu ? [...p.cpu.sources, ...cpuDemandSources] : [])]),
    notes,
  };
}
