/**
 * `isobench doctor`: what this host can run, and for every missing piece the fix.
 */
import path from 'node:path';
import { hostFacts, withMaskedCapabilities, type HostFacts } from '../host/facts.js';
import { hostBusy } from '../host/busy.js';
import { stateRoot } from '../core/state.js';
import type { CapabilityId, HostCapabilities } from '../host/capabilities.js';
import { allProviders } from '../backends/providers/index.js';
import { toolVersions, TOOLS } from './versions.js';
import { renderSelfCheck, type VmSelfCheck } from '../backends/vm-selfcheck.js';

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
  /** `doctor --vm`: the VM self-check (guest vs host), as a run records it per VM backend. */
  vmSelfCheck?: Record<string, unknown>;
}

/** Host-wide checks; each backend provider adds its own (providerChecks). */
export function checksFor(host: HostFacts, versions: Record<string, string | null>): Check[] {
  const checks: Check[] = [];
  checks.push(
    host.isRoot
      ? { name: 'root', status: 'ok', detail: 'running as root' }
      : {
          name: 'root',
          status: 'fail',
          detail: 'not root: cgroups, namespaces and containers need root',
          fix: 'run as root (sudo isobench ...)',
        },
  );
  const cg = host.cgroup;
  if (cg.version === 1) {
    const ctrls = Object.keys(cg.mounts);
    const missing = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids'].filter((c) => !ctrls.includes(c));
    checks.push({
      name: 'cgroups',
      status: missing.length ? 'fail' : 'ok',
      detail: `cgroup v1${cg.hybrid ? ' (hybrid: v1 controllers + empty v2)' : ''}; controllers: ${ctrls.join(', ')}`,
      ...(missing.length ? { fix: `mount the ${missing.join(', ')} controller(s)` } : {}),
    });
  } else {
    const missing = ['cpu', 'cpuset', 'memory', 'pids'].filter((c) => !cg.controllers.includes(c));
    checks.push({
      name: 'cgroups',
      status: missing.length ? 'fail' : 'ok',
      detail: `cgroup v2 at ${cg.root}; controllers: ${cg.controllers.join(', ')}`,
      ...(missing.length ? { fix: `enable ${missing.join(', ')} in ${cg.root}/cgroup.subtree_control` } : {}),
    });
  }
  for (const [tool, meta] of Object.entries(TOOLS)) {
    const v = versions[tool];
    checks.push(
      v
        ? { name: tool, status: 'ok', detail: v }
        : {
            name: tool,
            status: meta.optional ? 'warn' : 'fail',
            detail: meta.optional ? 'not found: the backends that need it are skipped' : 'not found',
            fix: `apt-get install ${meta.pkg} (or run scripts/setup.sh)`,
          },
    );
  }
  checks.push(...capabilityChecks(host.capabilities));
  checks.push({
    name: 'ksm',
    status: 'ok',
    detail: host.ksm.available
      ? `KSM ${host.ksm.run === 1 ? 'running' : 'off'} (pages sharing: ${host.ksm.pagesSharing ?? 0})`
      : 'KSM not available',
  });
  const thpNote =
    host.thp.enabled === 'madvise'
      ? ' (QEMU madvises guest RAM: VM guest memory gets huge pages, native/container memory does not;' +
        ' isobench gives the guest the same mode)'
      : '';
  checks.push({
    name: 'transparent huge pages',
    status: host.thp.enabled === 'always' ? 'warn' : 'ok',
    detail: `enabled=${host.thp.enabled ?? 'n/a'} defrag=${host.thp.defrag ?? 'n/a'}${thpNote}`,
  });
  checks.push({
    name: 'cpu governor',
    status: host.cpuGovernor && host.cpuGovernor !== 'performance' ? 'warn' : 'ok',
    detail: host.cpuGovernor ?? 'not exposed (typical inside a VM)',
  });
  const busy = hostBusy(host);
  checks.push({
    name: 'host load',
    status: busy.state === 'busy' ? 'warn' : 'ok',
    detail: `${busy.text} (load averages ${host.loadAvg.map((l) => l.toFixed(2)).join(' ')})`,
  });
  return checks;
}

/**
 * One check per host capability (host/capabilities.ts): what isobench uses, or what it does
 * without it. Missing CPU pinning fails (no run can place backends alike); a missing KVM warns
 * (the VM runs emulated); any other missing capability warns and names the skipped parts.
 */
export function capabilityChecks(hc: HostCapabilities): Check[] {
  return hc.caps.map((c): Check => {
    if (c.available)
      return { name: `capability: ${c.title}`, status: 'ok', detail: `${c.mechanism ?? 'yes'} (${c.evidence})` };
    return {
      name: `capability: ${c.title}`,
      status: c.id === 'cpuset' ? 'fail' : 'warn',
      detail: `${c.masked ? 'masked: ' : 'missing: '}${c.evidence}; without it, ${c.without}`,
      fix: c.masked ? 'run without --mask-capability' : c.fix,
    };
  });
}

export async function runDoctor(
  opts: { probeVm?: boolean; maskCapabilities?: CapabilityId[] } = {},
): Promise<DoctorReport> {
  const host = withMaskedCapabilities(await hostFacts(), opts.maskCapabilities ?? []);
  const versions = await toolVersions();
  const checks = checksFor(host, versions);
  const report: DoctorReport = { host, toolVersions: versions, checks };
  // Each backend provider checks what it needs (guest kernel and accelerator, engines, runtimes).
  for (const p of allProviders()) {
    if (!p.doctor) continue;
    try {
      const r = await p.doctor(host, versions, opts);
      checks.push(...r.checks);
      if (r.extra) Object.assign(report, r.extra);
    } catch (e) {
      checks.push({
        name: p.id,
        status: 'warn',
        detail: `could not probe the ${p.id} backend: ${(e as Error).message}`,
      });
    }
  }
  return report;
}

/**
 * `doctor --vm`: boot one guest with the accelerator a run would use (auto),
 * networked so virtio-net's backend shows, and compare it with the host.
 * Everything it creates (netns, tap, cgroup, QEMU, work dir) is released here.
 */
export async function runVmSelfCheckForDoctor(report: DoctorReport): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const { promises: fs } = await import('node:fs');
  const { CleanupRegistry } = await import('../core/cleanup.js');
  const { BenchNet } = await import('../net/bench.js');
  const { ensureWorkloadImage } = await import('../images/rootfs.js');
  const { VmBackend } = await import('../backends/vm.js');
  const { runVmSelfCheck } = await import('../backends/vm-selfcheck-run.js');
  const { OWNER_FILE } = await import('../host/ownership.js');
  const shortId = `d${randomBytes(3).toString('hex')}`;
  const cleanup = new CleanupRegistry();
  const check = (status: CheckStatus, detail: string, fix?: string): void => {
    report.checks.push({ name: 'vm self-check', status, detail, ...(fix ? { fix } : {}) });
  };
  try {
    // Mark this process as the owner, so a concurrent `doctor --cleanup` leaves the guest alone.
    const owner = path.join(stateRoot(), shortId);
    await fs.mkdir(owner, { recursive: true });
    await fs.writeFile(path.join(owner, OWNER_FILE), String(process.pid));
    cleanup.add(`dir ${owner}`, () => fs.rm(owner, { recursive: true, force: true }));
    const workDir = await fs.mkdtemp(path.join('/var/tmp', `isobench-${shortId}-`));
    cleanup.add(`dir ${workDir}`, () => fs.rm(workDir, { recursive: true, force: true }));
    const rawDir = path.join(workDir, 'raw');
    const image = await ensureWorkloadImage({});
    const net = await BenchNet.create(shortId, cleanup);
    const host = report.host;
    const ctx = { runId: `doctor-${shortId}`, shortId, workDir, rawDir, host, cleanup, image, net };
    const backend = new VmBackend(ctx, { machine: 'q35', accel: 'auto' });
    await backend.prepare();
    // quick.yaml's instance: 1 vCPU on the last CPU (the harness keeps the others), 512 MiB.
    const cpus = [host.cpus - 1];
    const rec = await runVmSelfCheck(
      backend,
      {
        name: `${shortId}-selfcheck`,
        vcpus: 1,
        cpus,
        memoryMiB: 512,
        pidsLimit: 1024,
        disk: { sizeMiB: 64, mode: 'image' },
        network: true,
      },
      rawDir,
    );
    // The raw files live in a temporary directory removed below: keep their content out, their names would dangle.
    rec.rawLogs = [];
    report.vmSelfCheck = { backend: backend.label, choices: backend.choices, ...rec } as unknown as Record<
      string,
      unknown
    >;
    const sc = rec.check;
    if (!sc)
      check(
        'fail',
        `the self-check guest did not boot or could not be read: ${rec.error ?? '?'}`,
        'run `isobench doctor` for the VM accelerator and guest kernel checks',
      );
    else if (sc.status === 'errors') {
      const errs = sc.findings.filter((f) => f.severity === 'error');
      check(
        'fail',
        `${sc.summary}; ${errs.length} error(s): ${errs.map((f) => f.message).join(' | ')}`,
        errs
          .map((f) => f.fix)
          .filter(Boolean)
          .join(' | '),
      );
    } else if (sc.status === 'ok') check('ok', sc.summary);
    else
      check(
        'warn',
        `${sc.summary}${sc.accelerator === 'tcg' ? ' (TCG: the differences are emulation, expected)' : ''}`,
      );
  } catch (e) {
    check(
      'fail',
      `could not run the VM self-check: ${(e as Error).message.split('\n')[0]}`,
      'run scripts/setup.sh (QEMU, guest kernel, workload image)',
    );
  } finally {
    const failures = await cleanup.releaseAll();
    if (failures.length)
      report.checks.push({
        name: 'vm self-check cleanup',
        status: 'fail',
        detail: failures.map((f) => `${f.label}: ${f.error}`).join('; '),
        fix: 'isobench doctor --cleanup',
      });
  }
}

export function renderDoctor(r: DoctorReport): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  const memGiB = (r.host.memTotalBytes / 2 ** 30).toFixed(1);
  const lines = [`isobench doctor: ${r.host.hostname}, ${r.host.cpus} CPUs, ${memGiB} GiB, kernel ${r.host.kernel}`];
  for (const c of r.checks) {
    lines.push(`  [${mark[c.status]}] ${c.name.padEnd(22)} ${c.detail}`);
    if (c.fix && c.status !== 'ok') lines.push(`         ${''.padEnd(22)} fix: ${c.fix}`);
  }
  const fails = r.checks.filter((c) => c.status === 'fail').length;
  const warns = r.checks.filter((c) => c.status === 'warn').length;
  if (r.vmSelfCheck?.check) lines.push(renderSelfCheck(r.vmSelfCheck.check as VmSelfCheck));
  lines.push(fails ? `${fails} problem(s) to fix, ${warns} warning(s)` : `ready (${warns} warning(s))`);
  return lines.join('\n');
}
