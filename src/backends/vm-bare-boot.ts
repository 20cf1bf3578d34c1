/**
 * Bare boots: the kernel with the bare initramfs, timed from QEMU's spawn to
 * the init's console line. The KVM calibration (does KVM really accelerate
 * here?) and the start-up floor of bench/startup-vm.ts both use it.
 */
import type { GuestInitramfs } from '../images/guest.js';
import { spawnLong } from '../util/proc.js';
import type { Accelerator } from './accel.js';
import type { MachineType } from './vm-choices.js';
import { BASE_KERNEL_ARGS, buildQemuArgv } from './vm-qemu-argv.js';

export interface BareBootResult {
  ms: number;
  /** Guest uptime when the bare init ran (s), from its console line. */
  guestUptimeS: number | undefined;
  timedOut: boolean;
  ok: boolean;
  console: string;
  /**
   * With earlyStages, ms since spawn when the host read: SeaBIOS's "Booting from ROM" (firmware done; the
   * kernel loader and decompression follow) and the kernel's first early-console line ("Linux version",
   * printed from start_kernel: the decompressed kernel is running).
   * Guest uptime only starts later, at timekeeping init.
   */
  firmwareDoneMs?: number;
  kernelConsoleMs?: number;
}

/**
 * Boot the kernel with the bare initramfs and time QEMU from spawn until the
 * bare init prints its line on the console (it then does `reboot -f`; QEMU is
 * killed at that point either way, since a microvm guest's reboot does not end
 * QEMU here).
 */
export async function bareBoot(o: {
  guest: GuestInitramfs;
  accel: Accelerator;
  machine: MachineType;
  leanMicrovm?: boolean;
  vcpus?: number;
  memoryMiB?: number;
  timeoutMs: number;
  qemu?: string;
  /**
   * Also time the firmware hand-over and the kernel's first console line (earlyprintk=serial; costs serial output, so
   * the bench only).
   */
  earlyStages?: boolean;
  /** Start QEMU through this wrapper (the bench: into a cgroup of its own, placed as an instance's QEMU is). */
  wrap?: (argv: string[]) => string[];
}): Promise<BareBootResult> {
  const argv = buildQemuArgv(
    {
      machine: o.machine,
      accel: o.accel,
      vcpus: o.vcpus ?? 1,
      memoryMiB: o.memoryMiB ?? 256,
      kernel: o.guest.kernel.vmlinuz,
      initrd: o.guest.bareInitrdPath,
      append: o.earlyStages ? ['earlyprintk=serial', ...BASE_KERNEL_ARGS] : BASE_KERNEL_ARGS,
      leanMicrovm: Boolean(o.leanMicrovm),
    },
    o.qemu,
  );
  // earlyprintk goes before `quiet`: early parameters apply in order, and the early console replays the
  // kernel's first lines ("Linux version") only when it registers before quiet lowers the log level.
  const t0 = performance.now();
  const proc = spawnLong(o.wrap ? o.wrap(argv) : argv);
  let out = '';
  let doneMs: number | undefined;
  let firmwareDoneMs: number | undefined;
  let kernelConsoleMs: number | undefined;
  let exited = false;
  const finished = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, o.timeoutMs);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (firmwareDoneMs === undefined && out.includes('Booting from ROM')) firmwareDoneMs = performance.now() - t0;
      if (kernelConsoleMs === undefined && out.includes('Linux version')) kernelConsoleMs = performance.now() - t0;
      if (doneMs === undefined && /isobench-bare: uptime=[\d.]+\s/.test(out)) {
        doneMs = performance.now() - t0;
        clearTimeout(timer);
        resolve();
      }
    });
    proc.then(
      () => {
        exited = true;
        clearTimeout(timer);
        resolve();
      },
      () => resolve(),
    );
  });
  await finished;
  if (!exited) proc.kill('SIGKILL');
  const r = await proc;
  const up = /isobench-bare: uptime=([\d.]+)/.exec(out)?.[1];
  return {
    ms: doneMs ?? performance.now() - t0,
    guestUptimeS: up ? Number(up) : undefined,
    timedOut: doneMs === undefined && !exited,
    ok: doneMs !== undefined,
    console: out + String(r.stderr ?? ''),
    ...(firmwareDoneMs !== undefined ? { firmwareDoneMs } : {}),
    ...(kernelConsoleMs !== undefined ? { kernelConsoleMs } : {}),
  };
}
