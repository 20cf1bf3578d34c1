/**
 * Host facts recorded in every result: isobench's own probes plus
 * systeminformation's view of the CPU, memory, OS and virtualization.
 */
import si from 'systeminformation';
import type { HostFacts } from './facts.js';

export async function collectHostInfo(host: HostFacts): Promise<Record<string, unknown>> {
  const [cpu, osInfo, mem] = await Promise.all([
    si.cpu().catch(() => undefined),
    si.osInfo().catch(() => undefined),
    si.mem().catch(() => undefined),
  ]);
  return {
    hostname: host.hostname,
    cpuModel: cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : host.cpuModel,
    cpuCores: cpu?.cores ?? host.cpus,
    cpuPhysicalCores: cpu?.physicalCores ?? null,
    cpuVirtualization: cpu?.virtualization ?? null,
    memTotalBytes: mem?.total ?? host.memTotalBytes,
    memAvailableBytesAtStart: host.memAvailableBytes,
    os: osInfo ? `${osInfo.distro} ${osInfo.release}`.trim() : host.os,
    kernel: osInfo?.kernel ?? host.kernel,
    arch: osInfo?.arch ?? process.arch,
    runsInVm: host.virtualized,
    cgroup: host.cgroup.version === 1 ? `v1${host.cgroup.hybrid ? ' (hybrid)' : ''}` : 'v2',
    kvm: host.kvm,
    ksm: host.ksm,
    thp: host.thp,
    kvmParams: host.kvmParams,
    cpuGovernor: host.cpuGovernor,
    loadAvgAtStart: host.loadAvg,
    runnableAtStart: host.runnableAtStart,
    // What the kernel and cgroups offer and what isobench did without the missing ones (host/capabilities.ts).
    capabilities: host.capabilities,
  };
}
