/**
 * `isobench doctor`: what this host can run, and for every missing piece the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hostFacts, type HostFacts } from './facts.js';
import { toolVersions, TOOLS } from './versions.js';
import { cacheDir } from '../images/rootfs.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  host: HostFacts;
  toolVersions: Record<string, string | null>;
  checks: Check[];
  vm?: Record<string, unknown>;
}

export function guestKernelDir(): string | null {
  const pointer = path.join(cacheDir(), 'kernel', 'current');
  if (!existsSync(pointer)) return null;
  const dir = readFileSync(pointer, 'utf8').trim();
  return existsSync(path.join(dir, 'boot')) ? dir : null;
}

export function checksFor(host: HostFacts, versions: Record<string, string | null>, kernelDir: string | null): Check[] {
  const checks: Check[] = [];
  checks.push(
    host.isRoot
      ? { name: 'root', status: 'ok', detail: 'running as root' }
      : { name: 'root', status: 'fail', detail: 'not root: cgroups, namespaces and containers need root', fix: 'run as root (sudo isobench ...)' },
  );
  const cg = host.cgroup;
  if (cg.version === 1) {
    const ctrls = Object.keys(cg.mounts);
    const missing = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids'].filter((c) => !ctrls.includes(c));
    checks.push({
      name: 'cgroups',
      status: missing.length ? 'fail' : 'ok',
      detail: `cgroup v1${cg.hybrid ? ' (hybrid: v1 controllers + empty v2)' : ''}; controllers: ${ctrls.join(', ')}; disk shares: blkio throttle only (no weights)`,
      ...(missing.length ? { fix: `mount the ${missing.join(', ')} controller(s)` } : {}),
    });
  } else {
    const missing = ['cpu', 'cpuset', 'memory', 'pids'].filter((c) => !cg.controllers.includes(c));
    checks.push({
      name: 'cgroups',
      status: missing.length ? 'fail' : 'ok',
      detail: `cgroup v2 at ${cg.root}; controllers: ${cg.controllers.join(', ')}${cg.controllers.includes('io') ? '; disk shares: io.weight/io.max' : ''}`,
      ...(missing.length ? { fix: `enable ${missing.join(', ')} in ${cg.root}/cgroup.subtree_control` } : {}),
    });
  }
  for (const [tool, meta] of Object.entries(TOOLS)) {
    const v = versions[tool];
    checks.push(v ? { name: tool, status: 'ok', detail: v } : { name: tool, status: 'fail', detail: 'not found', fix: `apt-get install ${meta.pkg} (or run scripts/setup.sh)` });
  }
  if (cg.version === 1 && versions.crun)
    checks.push({ name: 'crun', status: 'warn', detail: 'installed, but crun refuses cgroup v1/hybrid layouts: the container backend uses runc here', fix: 'use runtime runc on this host; crun works on cgroup v2 hosts' });
  checks.push(
    kernelDir
      ? { name: 'guest kernel', status: 'ok', detail: kernelDir }
      : { name: 'guest kernel', status: 'fail', detail: 'not found in the cache', fix: 'run scripts/setup.sh (fetches and unpacks the Debian cloud kernel)' },
  );
  checks.push({
    name: 'kvm',
    status: host.kvm.hardware ? 'ok' : 'warn',
    detail: host.kvm.summary,
    ...(host.kvm.hardware ? {} : { fix: 'for hardware-virtualized VM figures run on a host with VT-x/AMD-V and kvm_intel/kvm_amd loaded' }),
  });
  checks.push({
    name: 'ksm',
    status: 'ok',
    detail: host.ksm.available ? `KSM ${host.ksm.run === 1 ? 'running' : 'off'} (pages sharing: ${host.ksm.pagesSharing ?? 0})` : 'KSM not available',
  });
  checks.push({
    name: 'transparent huge pages',
    status: host.thp.enabled === 'always' ? 'warn' : 'ok',
    detail: `enabled=${host.thp.enabled ?? 'n/a'} defrag=${host.thp.defrag ?? 'n/a'}`,
  });
  checks.push({
    name: 'cpu governor',
    status: host.cpuGovernor && host.cpuGovernor !== 'performance' ? 'warn' : 'ok',
    detail: host.cpuGovernor ?? 'not exposed (typical inside a VM)',
  });
  checks.push({
    name: 'host load',
    status: host.loadAvg[0] > 0.5 * host.cpus ? 'warn' : 'ok',
    detail: `load average ${host.loadAvg.map((l) => l.toFixed(2)).join(' ')} on ${host.cpus} CPUs`,
  });
  return checks;
}

export async function runDoctor(opts: { probeVm?: boolean } = {}): Promise<DoctorReport> {
  const host = await hostFacts();
  const versions = await toolVersions();
  const checks = checksFor(host, versions, guestKernelDir());
  const report: DoctorReport = { host, toolVersions: versions, checks };
  if (opts.probeVm !== false && versions['qemu-system-x86_64'] && guestKernelDir()) {
    try {
      const { probeVm } = await import('../backends/vm.js');
      // With a /dev/kvm present, also time a bounded calibration boot under KVM, so a
      // software KVM shows how slow it is (and that it was not chosen).
      const probe = await probeVm(host, { measureTcg: true, measureKvm: host.kvm.devicePresent, calibrationTimeoutMs: 10_000 });
      report.vm = probe as unknown as Record<string, unknown>;
      const d = probe.decision;
      const figures = [
        probe.tcgBareBootMs != null ? `TCG bare boot ${(probe.tcgBareBootMs / 1000).toFixed(1)} s` : undefined,
        probe.kvmBareBootMs !== undefined
          ? probe.kvmBareBootMs === null
            ? `KVM calibration boot did not finish within ${((probe.kvmCalibrationTimeoutMs ?? 10_000) / 1000).toFixed(0)} s`
            : `KVM calibration boot ${(probe.kvmBareBootMs / 1000).toFixed(1)} s`
          : undefined,
      ].filter(Boolean);
      checks.push({
        name: 'vm accelerator',
        status: d.accel === 'kvm' ? 'ok' : 'warn',
        detail: `VM backend will use ${d.accel.toUpperCase()}: ${d.reason}${figures.length ? `; calibration: ${figures.join(', ')}` : ''}`,
        ...(d.accel === 'kvm' ? {} : { fix: 'VM figures here describe TCG emulation; run on a VT-x/AMD-V host for hardware-virtualized figures' }),
      });
    } catch (e) {
      checks.push({ name: 'vm accelerator', status: 'warn', detail: `could not probe the VM backend: ${(e as Error).message}` });
    }
  }
  return report;
}

export function renderDoctor(r: DoctorReport): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  const lines = [`isobench doctor: ${r.host.hostname}, ${r.host.cpus} CPUs, ${(r.host.memTotalBytes / 2 ** 30).toFixed(1)} GiB, kernel ${r.host.kernel}`];
  for (const c of r.checks) {
    lines.push(`  [${mark[c.status]}] ${c.name.padEnd(22)} ${c.detail}`);
    if (c.fix && c.status !== 'ok') lines.push(`         ${''.padEnd(22)} fix: ${c.fix}`);
  }
  const fails = r.checks.filter((c) => c.status === 'fail').length;
  const warns = r.checks.filter((c) => c.status === 'warn').length;
  lines.push(fails ? `${fails} problem(s) to fix, ${warns} warning(s)` : `ready (${warns} warning(s))`);
  return lines.join('\n');
}
