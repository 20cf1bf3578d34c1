/**
 * The VM self-check, live part: boot one guest with the run's accelerator and
 * spec, read the guest through the agent, the host directly (the same
 * SNAPSHOT_SCRIPT) and QEMU through QMP and /proc, compare (vm-selfcheck.ts).
 *
 * It costs one extra boot per VM backend per run (about 3.5 s under TCG here,
 * well under a second under KVM): the runner starts its measured instances
 * lazily and restarts them after failures, so reusing one would tie the check
 * to the first workload's life; a separate short-lived guest keeps it
 * independent and is stopped before any measurement starts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run } from '../util/proc.js';
import { errorMessage } from '../errors.js';
import type { Backend, InstanceSpec } from './types.js';
import type { HostFacts } from '../host/facts.js';
import { vmHostWarnings } from '../host/facts.js';
import type { BackendResult, Warning } from '../results/types.js';
import { SNAPSHOT_SCRIPT, compareSnapshots, parseSnapshot, type VmSelfCheck } from './vm-selfcheck.js';
import { TCG_WARNING, type VmBackend, type VmInstance } from './vm.js';
import { IOTHREAD_ID } from './vm-choices.js';

export interface VmSelfCheckRecord {
  /** The comparison, or null when the guest could not be booted or read. */
  check: VmSelfCheck | null;
  error?: string;
  /** Boot-to-ready of the self-check guest, ms. */
  bootMs?: number;
  instance: string;
  /** Where QEMU's threads ran (vm-placement.ts), read back from /proc. */
  placement?: {
    mode: string;
    note: string;
    vcpuThreads: Array<{ tid: number; name: string; cpus: string }>;
    otherThreads: Array<{ tid: number; name: string; cpus: string }>;
  };
  /** The raw snapshots, relative to the run directory (raw/...) or absolute for doctor. */
  rawLogs: string[];
}

/** The host's side of the comparison: SNAPSHOT_SCRIPT run here. */
export async function hostSnapshotText(): Promise<string> {
  const r = await run(['sh', '-c', SNAPSHOT_SCRIPT], { timeoutMs: 10_000 });
  return r.stdout;
}

export async function runVmSelfCheck(
  backend: VmBackend,
  spec: InstanceSpec,
  rawDir: string,
): Promise<VmSelfCheckRecord> {
  const rawLogs: string[] = [];
  const t0 = performance.now();
  let inst: VmInstance | undefined;
  try {
    inst = (await backend.start(spec)) as VmInstance;
    const bootMs = performance.now() - t0;
    const [g, hostText, q] = await Promise.all([
      inst.exec(['sh', '-c', SNAPSHOT_SCRIPT], { timeoutMs: 30_000 }),
      hostSnapshotText(),
      inst.qemuFacts(),
    ]);
    await fs.mkdir(rawDir, { recursive: true });
    const base = `vm-selfcheck-${spec.name}`;
    for (const [side, text] of [
      ['guest', g.stdout],
      ['host', hostText],
    ] as const) {
      const file = path.join(rawDir, `${base}-${side}.txt`);
      await fs.writeFile(file, text);
      rawLogs.push(file);
    }
    if (g.code !== 0) throw new Error(`reading the guest failed: exit ${g.code}: ${g.stderr.trim().slice(0, 300)}`);
    const choices = backend.choices;
    const check = compareSnapshots({
      accel: backend.accelerator,
      host: parseSnapshot(hostText),
      guest: parseSnapshot(g.stdout),
      qemu: {
        vhostRequested: q.argv.some((a) => a.startsWith('tap,') && a.includes('vhost=on')),
        vhostNetOpen: q.vhostNetOpen,
        vhostWhy: choices?.vhost.why ?? 'unknown',
        networked: q.argv.some((a) => a.startsWith('tap,')),
        iothreadsConfigured: q.argv.includes(`iothread,id=${IOTHREAD_ID}`) ? [IOTHREAD_ID] : [],
        iothreadsRunning: q.iothreads,
        vcpuThreads: q.vcpuThreads,
        ...(q.placement ? { placementNote: q.placement.note, placementFailed: q.placement.failed } : {}),
      },
    });
    const p = q.placement;
    return {
      check,
      bootMs,
      instance: spec.name,
      ...(p
        ? { placement: { mode: p.mode, note: p.note, vcpuThreads: p.vcpuThreads, otherThreads: p.otherThreads } }
        : {}),
      rawLogs,
    };
  } catch (e) {
    return { check: null, error: errorMessage(e).split('\n').slice(0, 6).join('\n'), instance: spec.name, rawLogs };
  } finally {
    await inst?.stop().catch(() => undefined);
  }
}

interface LiveLike {
  backend: Backend;
  info: BackendResult;
  failed?: string;
}

/**
 * The runner's hook: record every backend's THP mode (native and containers run
 * on the host kernel; the VM's is read inside its guest), run the self-check of
 * each VM backend, and turn what it found into run warnings (under TCG folded
 * into the emulation warning).
 */
export async function selfCheckRun(
  live: LiveLike[],
  o: {
    host: HostFacts;
    spec: (lb: LiveLike) => InstanceSpec;
    runDir: string;
    warnings: Warning[];
    note: (s: string) => void;
  },
): Promise<void> {
  const hostThp = { enabled: o.host.thp.enabled, defrag: o.host.thp.defrag };
  for (const lb of live) {
    if (lb.info.kind !== 'vm')
      lb.info.details.thp = { ...hostThp, source: 'host kernel (shared by native and container instances)' };
  }
  const vms = live.filter((lb) => lb.info.kind === 'vm' && !lb.failed);
  if (vms.length === 0) return;
  const seen = new Set<string>();
  for (const lb of vms) {
    for (const w of vmHostWarnings(o.host, lb.info.accelerator === 'kvm' ? 'kvm' : 'tcg')) {
      if (seen.has(w.code)) continue;
      seen.add(w.code);
      o.warnings.push({ code: w.code, message: w.message, backend: lb.info.label });
    }
  }
  for (const lb of vms) {
    o.note(`VM self-check for ${lb.info.label} (one short boot)`);
    const rec = await runVmSelfCheck(lb.backend as VmBackend, o.spec(lb), path.join(o.runDir, 'raw'));
    rec.rawLogs = rec.rawLogs.map((f) => path.relative(o.runDir, f));
    lb.info.vmSelfCheck = rec as unknown as Record<string, unknown>;
    const sc = rec.check;
    if (!sc) {
      lb.info.details.thp = {
        enabled: null,
        defrag: null,
        source: `guest: self-check failed (${rec.error ?? '?'})`,
        kernelCmdline: 'transparent_hugepage= set from the host',
      };
      o.warnings.push({
        code: 'VM_SELFCHECK_FAILED',
        message: `VM self-check did not complete: ${rec.error ?? '?'}`,
        backend: lb.info.label,
      });
      continue;
    }
    lb.info.details.thp = { ...sc.thp.guest, source: 'read inside the guest (self-check)', matchesHost: sc.thp.match };
    for (const f of sc.findings.filter((x) => x.severity === 'error' || x.severity === 'warn'))
      o.warnings.push({
        code: f.severity === 'error' ? 'VM_SELFCHECK_ERROR' : 'VM_SELFCHECK',
        message: `${f.area}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ''}`,
        backend: lb.info.label,
      });
    if (sc.accelerator === 'tcg') {
      // Under TCG the differences are expected: they extend the emulation warning rather than adding new ones.
      const folded = `${TCG_WARNING} Self-check: ${sc.summary}.`;
      lb.info.warnings = lb.info.warnings.map((w) => (w === TCG_WARNING ? folded : w));
      for (const w of o.warnings) if (w.backend === lb.info.label && w.message === TCG_WARNING) w.message = folded;
    }
  }
}
