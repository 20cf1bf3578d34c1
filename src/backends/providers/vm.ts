/** QEMU guests booted from the same rootfs (ext4 image): the `vm` backend. */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { registerProvider, type ProviderCheck } from '../registry.js';
import { vmHostWarnings } from '../../host/facts.js';
import type { Leftover } from '../../host/ownership.js';
import { KATA_HANDLER } from '../../fleet/runtime-classes.js';
import { kvmCalibrationFile } from '../kvm-calibration-cache.js';

/** Host memory a VM costs beyond its guest RAM (QEMU itself), from measurements here (~210 MiB RSS for 256 MiB). */
const VM_HOST_OVERHEAD_MIB = 256;
const MACHINES = ['q35', 'microvm'] as const;
const objectSchema = z
  .object({
    kind: z.literal('vm'),
    machine: z.enum(MACHINES).default('q35'),
    accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  })
  .strict();

registerProvider({
  id: 'vm',
  kind: 'vm',
  shorthands: ['vm', ...MACHINES.map((m) => `vm:${m}`)],
  shorthandHelp: 'vm[:q35|microvm]',
  objectSchema,
  resolve(entry) {
    const o =
      typeof entry === 'string'
        ? { machine: (entry.split(':')[1] ?? 'q35') as (typeof MACHINES)[number], accel: 'auto' as const }
        : objectSchema.parse(entry);
    return {
      provider: 'vm',
      kind: 'vm',
      key: `vm:${o.machine}`,
      variant: o.machine,
      options: { machine: o.machine, accel: o.accel },
    };
  },
  needsImage: true,
  hostOverheadMiB: VM_HOST_OVERHEAD_MIB,
  variants: MACHINES.map((m) => ({
    // Results call the variant machine-accelerator once prepared (q35-kvm, microvm-tcg).
    variant: `${m}*`,
    helpers: [
      {
        comm: 'qemu-system',
        role:
          "QEMU's main loop, virtio-blk I/O thread, vhost-net worker and thread pool: " +
          "the guest's devices, host side",
        placement: 'host' as const,
        leavesOut:
          "device work on the harness CPUs (vm-placement.ts), as the kernel's own I/O and network work is for " +
          "native and containers; the instance's CPU set holds only the vCPUs",
      },
    ],
    selfCheck: 'backends[].vmSelfCheck: guest vs host, one short boot per VM backend',
  })),
  async create(entry, ctx, opts) {
    const { VmBackend } = await import('../vm.js');
    const o = entry.options as { machine: (typeof MACHINES)[number]; accel: 'auto' | 'kvm' | 'tcg' };
    return new VmBackend(ctx, { machine: o.machine, accel: o.accel, bootTimeoutMs: opts.bootTimeoutMs });
  },
  tools: {
    'qemu-system-x86_64': {
      argv: ['qemu-system-x86_64', '--version'],
      pattern: /version (\S+)/,
      pkg: 'qemu-system-x86',
    },
    'qemu-ga': { argv: ['qemu-ga', '--version'], pattern: /Agent (\S+)/, pkg: 'qemu-guest-agent' },
  },
  async doctor(host, versions, opts) {
    const { guestKernelDir } = await import('../../images/guest.js');
    const checks: ProviderCheck[] = [];
    const kernelDir = guestKernelDir();
    checks.push(
      kernelDir
        ? { name: 'guest kernel', status: 'ok', detail: kernelDir }
        : {
            name: 'guest kernel',
            status: 'fail',
            detail: 'not found in the cache',
            fix: 'run scripts/setup.sh (fetches and unpacks the Debian cloud kernel)',
          },
    );
    checks.push({
      name: 'kvm',
      status: host.kvm.hardware ? 'ok' : 'warn',
      detail: host.kvm.summary,
      ...(host.kvm.hardware
        ? {}
        : { fix: 'for hardware-virtualized VM figures run on a host with VT-x/AMD-V and kvm_intel/kvm_amd loaded' }),
    });
    const params = Object.entries(host.kvmParams)
      .map(
        ([mod, kv]) =>
          `${mod}: ${Object.entries(kv)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
      )
      .join('; ');
    const kvmWarn = host.kvm.hardware ? vmHostWarnings(host, 'kvm').filter((w) => w.code.startsWith('KVM_')) : [];
    const kvmNote = kvmWarn.length
      ? ` -- ${kvmWarn.map((w) => w.message).join(' | ')}`
      : host.kvm.hardware
        ? ''
        : ' (recorded; they shape VM figures only under hardware KVM)';
    checks.push({
      name: 'kvm parameters',
      status: kvmWarn.length ? 'warn' : 'ok',
      detail: `${params || 'no kvm module parameters'}${kvmNote}`,
    });
    if (opts.probeVm === false || !versions['qemu-system-x86_64'] || !kernelDir) return { checks };
    let extra: Record<string, unknown> | undefined;
    try {
      const { probeVm } = await import('../vm.js');
      // With a /dev/kvm present, also time a bounded calibration boot under KVM, so a
      // software KVM shows how slow it is (and that it was not chosen).
      const probe = await probeVm(host, {
        measureTcg: true,
        measureKvm: host.kvm.devicePresent,
        calibrationTimeoutMs: 10_000,
      });
      extra = { vm: probe as unknown as Record<string, unknown> };
      const d = probe.decision;
      const calibrationTimeoutS = ((probe.kvmCalibrationTimeoutMs ?? 10_000) / 1000).toFixed(0);
      const figures = [
        probe.tcgBareBootMs != null ? `TCG bare boot ${(probe.tcgBareBootMs / 1000).toFixed(1)} s` : undefined,
        probe.kvmBareBootMs !== undefined
          ? probe.kvmBareBootMs === null
            ? probe.kvmCalibrationError
              ? `KVM calibration boot (-cpu host) failed: ${probe.kvmCalibrationError}`
              : `KVM calibration boot did not finish within ${calibrationTimeoutS} s`
            : `KVM calibration boot ${(probe.kvmBareBootMs / 1000).toFixed(1)} s`
          : undefined,
        probe.kvmCalibrationReusedFrom
          ? `(KVM calibration from this host boot's measurement at ${probe.kvmCalibrationReusedFrom}, kept in ` +
            `${kvmCalibrationFile()}; a reboot or a new QEMU measures again)`
          : undefined,
      ].filter(Boolean);
      checks.push({
        name: 'vm accelerator',
        status: d.accel === 'kvm' ? 'ok' : 'warn',
        detail:
          `VM backend will use ${d.accel.toUpperCase()}: ` +
          `${d.reason}${figures.length ? `; calibration: ${figures.join(', ')}` : ''}`,
        ...(d.accel === 'kvm'
          ? {}
          : {
              fix: 'VM figures here describe TCG emulation; run on a VT-x/AMD-V host for hardware-virtualized figures',
            }),
      });
    } catch (e) {
      checks.push({
        name: 'vm accelerator',
        status: 'warn',
        detail: `could not probe the VM backend: ${(e as Error).message}`,
      });
    }
    return { checks, ...(extra ? { extra } : {}) };
  },
  // QEMU processes named isobench-* (-name isobench-<short-id>-...).
  async leftovers() {
    const out: Leftover[] = [];
    for (const pid of (await fs.readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
      let cmd: string[];
      try {
        cmd = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      } catch {
        continue;
      }
      const i = cmd.indexOf('-name');
      if (cmd[0]?.includes('qemu-system') && i >= 0 && cmd[i + 1]?.startsWith('isobench-'))
        out.push({
          kind: 'process',
          name: `qemu pid ${pid} (${cmd[i + 1]})`,
          remove: async () => void process.kill(Number(pid), 'SIGKILL'),
        });
    }
    return out;
  },
  // Kata Containers is the Kubernetes runtime that boots a QEMU guest per pod; it is not what ran here.
  runtimeClassHandler: () => ({ handler: KATA_HANDLER, guess: true }),
});
