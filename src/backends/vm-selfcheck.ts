/**
 * The VM self-check, pure part: what the guest sees beside what the host has.
 *
 * One shell snippet (SNAPSHOT_SCRIPT) prints the same sections on the host and,
 * through the guest agent, in the guest: the first /proc/cpuinfo block, every
 * /sys/devices/system/cpu/vulnerabilities file, the clocksource, THP mode and
 * defrag, kernel release and command line. parseSnapshot() reads either;
 * compareSnapshots() lines them up and says what differs and what it means.
 *
 * Severity: under KVM the guest should be the host's CPU. A host feature the
 * guest lacks (from the list that changes code paths: SSE4/AVX/AES/PCID ...),
 * a mitigation the guest runs and the host does not, a slow clocksource, a THP
 * mode unlike the host's, virtio-net without vhost, or virtio-blk without its
 * I/O thread is an `error` naming the fix. Under TCG the CPU, mitigation and
 * clock differences are `expected` (emulation is the figure) and are folded
 * into the run's emulation warning; THP still must match (isobench sets it).
 */
import type { Accelerator } from './accel.js';
import type { Finding, MitigationRow, MitigationState, Severity, ThpMode } from '../results/vm-selfcheck.js';
import type { VmSelfCheck } from '../results/vm-selfcheck.js';

export type { Finding, MitigationRow, MitigationState, Severity, VmSelfCheck } from '../results/vm-selfcheck.js';

export const SNAPSHOT_SCRIPT = [
  'echo "== cpuinfo"',
  'while IFS= read -r l; do [ -z "$l" ] && break; echo "$l"; done < /proc/cpuinfo',
  'echo "== vulnerabilities"',
  'for f in /sys/devices/system/cpu/vulnerabilities/*; do [ -f "$f" ] && echo "${f##*/}: $(cat "$f")"; done',
  'echo "== clocksource"',
  'cat /sys/devices/system/clocksource/clocksource0/current_clocksource',
  'echo "== available_clocksource"',
  'cat /sys/devices/system/clocksource/clocksource0/available_clocksource',
  'echo "== thp_enabled"',
  'cat /sys/kernel/mm/transparent_hugepage/enabled',
  'echo "== thp_defrag"',
  'cat /sys/kernel/mm/transparent_hugepage/defrag',
  'echo "== kernel"',
  'cat /proc/sys/kernel/osrelease',
  'echo "== cmdline"',
  'cat /proc/cmdline',
  'true',
].join('\n');

export interface SystemSnapshot {
  cpuModel: string | null;
  vendor: string | null;
  flags: string[];
  /** vulnerability file name -> its text ("Not affected", "Mitigation: PTI", "Vulnerable"). */
  vulnerabilities: Record<string, string>;
  clocksource: string | null;
  availableClocksources: string[];
  thp: ThpMode;
  kernel: string | null;
  cmdline: string | null;
}

function bracketed(text: string | undefined): string | null {
  if (!text) return null;
  return /\[([\w+]+)\]/.exec(text)?.[1] ?? (text.trim() || null);
}

/** Parse SNAPSHOT_SCRIPT's output (pure). Throws when the cpuinfo section is missing (not a snapshot). */
export function parseSnapshot(text: string): SystemSnapshot {
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const m = /^== (\w+)$/.exec(line);
    if (m?.[1]) {
      cur = [];
      sections.set(m[1], cur);
    } else cur?.push(line);
  }
  const cpuinfo = sections.get('cpuinfo');
  if (!cpuinfo) throw new Error('not a self-check snapshot: no "== cpuinfo" section');
  const field = (name: string): string | null => {
    const l = cpuinfo.find((x) => new RegExp(`^${name}\\s*:`).test(x));
    return l ? l.slice(l.indexOf(':') + 1).trim() : null;
  };
  const vulnerabilities: Record<string, string> = {};
  for (const l of sections.get('vulnerabilities') ?? []) {
    const i = l.indexOf(': ');
    if (i > 0) vulnerabilities[l.slice(0, i)] = l.slice(i + 2).trim();
  }
  const first = (k: string): string | undefined => sections.get(k)?.find((l) => l.trim() !== '');
  return {
    cpuModel: field('model name'),
    vendor: field('vendor_id'),
    flags: (field('flags') ?? '').split(/\s+/).filter(Boolean).sort(),
    vulnerabilities,
    clocksource: first('clocksource')?.trim() ?? null,
    availableClocksources: (first('available_clocksource') ?? '').trim().split(/\s+/).filter(Boolean),
    thp: { enabled: bracketed(first('thp_enabled')), defrag: bracketed(first('thp_defrag')) },
    kernel: first('kernel')?.trim() ?? null,
    cmdline: first('cmdline')?.trim() ?? null,
  };
}

/**
 * Host CPU features whose absence changes the code a workload runs (glibc and
 * stress-ng pick SIMD paths at run time; the kernel uses PCID/INVPCID to keep
 * page-table isolation cheap, x2APIC and the TSC-deadline timer for cheap
 * interrupts and timers). Flags outside this set (power management, perf
 * counters, virtualization extensions, synthetic kernel flags, flags newer
 * guest kernels name differently) are listed but not judged.
 */
export const RELEVANT_FLAGS = new Set([
  'sse',
  'sse2',
  'sse3',
  'pni',
  'ssse3',
  'sse4_1',
  'sse4_2',
  'sse4a',
  'avx',
  'avx2',
  'avx512f',
  'avx512dq',
  'avx512cd',
  'avx512bw',
  'avx512vl',
  'avx512ifma',
  'avx512vbmi',
  'avx512_vbmi2',
  'avx512_vnni',
  'avx512_bitalg',
  'avx512_vpopcntdq',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
  'aes',
  'vaes',
  'pclmulqdq',
  'vpclmulqdq',
  'gfni',
  'sha_ni',
  'fma',
  'fma4',
  'f16c',
  'bmi1',
  'bmi2',
  'adx',
  'movbe',
  'popcnt',
  'abm',
  'erms',
  'fsrm',
  'pcid',
  'invpcid',
  'rdrand',
  'rdseed',
  'xsave',
  'xsaveopt',
  'xsavec',
  'xsaves',
  'pdpe1gb',
  'rdtscp',
  'rdpid',
  'x2apic',
  'tsc_deadline_timer',
  'fsgsbase',
  'smep',
  'smap',
  'clflushopt',
  'clwb',
  'clzero',
  'lm',
  'nx',
  'pku',
  'umip',
  'lahf_lm',
  'cx16',
  'cx8',
  'cmov',
  'mmx',
  'fxsr',
  'movdiri',
  'movdir64b',
  'serialize',
  'waitpkg',
]);

/** Clocksources that read the time without a VM exit (or, on the host, natively). */
const FAST_CLOCKS = new Set(['tsc', 'kvm-clock', 'hyperv_clocksource_tsc_page']);

export function mitigationState(text: string | null | undefined): MitigationState {
  if (!text) return 'unknown';
  // itlb_multihit in a guest: "KVM: Mitigation: VMX unsupported" is about nested KVM, which cannot run: nothing to pay.
  if (/VMX unsupported|VMX disabled/.test(text)) return 'not-affected';
  if (/^Not affected/i.test(text)) return 'not-affected';
  if (/^Mitigation/i.test(text)) return 'mitigated';
  if (/^Vulnerable/i.test(text)) return /Mitigation/i.test(text) ? 'mitigated' : 'vulnerable';
  return 'unknown';
}

/** What QEMU runs, observed (QMP, /proc) rather than assumed from the argv. */
export interface QemuObserved {
  /** vhost=on in the argv. */
  vhostRequested: boolean;
  /** QEMU holds /dev/vhost-net open. */
  vhostNetOpen: boolean;
  /** Why vhost is on or off (the backend's choice). */
  vhostWhy: string;
  /** The guest has a network device at all. */
  networked: boolean;
  /** I/O thread ids from the argv and their QMP query-iothreads answer. */
  iothreadsConfigured: string[];
  iothreadsRunning: Array<{ id: string; threadId: number }>;
  vcpuThreads: Array<{ cpuIndex: number; threadId: number }>;
  placementNote?: string;
  placementFailed?: string[];
}

export function compareMitigations(host: Record<string, string>, guest: Record<string, string>): MitigationRow[] {
  const names = [...new Set([...Object.keys(host), ...Object.keys(guest)])].sort();
  return names.map((name) => {
    const h = host[name] ?? null;
    const g = guest[name] ?? null;
    let comparison: MitigationRow['comparison'];
    if (h === null) comparison = 'guest-only';
    else if (g === null) comparison = 'host-only';
    else if (h === g) comparison = 'same';
    else {
      const hs = mitigationState(h);
      const gs = mitigationState(g);
      const mechanism = (t: string): string => t.split(/[;,]/)[0]?.trim() ?? t;
      if (hs === 'unknown' || gs === 'unknown') comparison = 'unknown';
      else if (hs === gs && hs !== 'mitigated') comparison = 'equivalent';
      else if (hs === 'mitigated' && gs === 'mitigated' && mechanism(h) === mechanism(g)) comparison = 'equivalent';
      else if (gs === 'mitigated' && hs !== 'mitigated') comparison = 'guest-extra';
      else if (hs === 'mitigated' && gs !== 'mitigated') comparison = 'guest-fewer';
      else comparison = 'different';
    }
    return { name, host: h, guest: g, comparison };
  });
}

/** Line up host and guest (pure). */
export function compareSnapshots(o: {
  accel: Accelerator;
  host: SystemSnapshot;
  guest: SystemSnapshot;
  qemu: QemuObserved;
}): VmSelfCheck {
  const { accel, host, guest, qemu } = o;
  const kvm = accel === 'kvm';
  const findings: Finding[] = [];
  const guestFlags = new Set(guest.flags);
  const hostFlags = new Set(host.flags);
  const missing = host.flags.filter((f) => !guestFlags.has(f));
  const missingRelevant = missing.filter((f) => RELEVANT_FLAGS.has(f));
  const extra = guest.flags.filter((f) => !hostFlags.has(f));

  if (missingRelevant.length)
    findings.push(
      kvm
        ? {
            severity: 'error',
            area: 'cpu',
            message:
              `the guest lacks ${missingRelevant.length} host CPU feature(s) that change the code workloads ` +
              `run: ${missingRelevant.join(' ')}`,
            fix:
              'the guest must run with -cpu host (isobench passes it under KVM; check the qemu argv in raw/); ' +
              'if it does, KVM hides these features: update QEMU and the host kernel, ' +
              'and check the firmware (BIOS) has not disabled them',
          }
        : {
            severity: 'expected',
            area: 'cpu',
            message:
              `TCG's default CPU model lacks ${missingRelevant.length} host feature(s): ` +
              `${missingRelevant.join(' ')}`,
          },
    );
  const otherMissing = missing.filter((f) => !RELEVANT_FLAGS.has(f));
  if (otherMissing.length)
    findings.push({
      severity: 'info',
      area: 'cpu',
      message:
        `not in the guest, not judged (power management, perf counters, virtualization extensions, ` +
        `synthetic or newer-kernel flags): ${otherMissing.join(' ')}`,
    });

  const mitigations = compareMitigations(host.vulnerabilities, guest.vulnerabilities);
  for (const r of mitigations) {
    if (r.comparison === 'guest-extra')
      findings.push(
        kvm
          ? {
              severity: 'error',
              area: 'mitigations',
              message:
                `${r.name}: the guest runs "${r.guest}" where the host has "${r.host}": ` +
                `the guest pays for a mitigation the host does not (syscall- and I/O-heavy figures)`,
              fix:
                "the guest CPU model hides the host's immunity bits (ARCH_CAPABILITIES, e.g. RDCL_NO, IBRS_ALL): " +
                'use -cpu host with a QEMU/KVM that passes arch-capabilities (QEMU >= 4.1), ' +
                'or boot host and guest with the same mitigations= setting',
            }
          : {
              severity: 'expected',
              area: 'mitigations',
              message: `${r.name}: guest "${r.guest}" vs host "${r.host}" (TCG CPU model)`,
            },
      );
    else if (r.comparison === 'guest-fewer')
      findings.push({
        severity: kvm ? 'warn' : 'expected',
        area: 'mitigations',
        message:
          `${r.name}: the guest mitigates less than the host ("${r.guest}" vs "${r.host}"): ` +
          `VM figures are flattered by it`,
      });
    else if (r.comparison === 'different')
      findings.push({
        severity: kvm ? 'warn' : 'expected',
        area: 'mitigations',
        message: `${r.name}: differs: guest "${r.guest}", host "${r.host}"`,
      });
    else if (r.comparison === 'equivalent' || r.comparison === 'unknown')
      findings.push({
        severity: 'info',
        area: 'mitigations',
        message:
          `${r.name}: guest "${r.guest}", host "${r.host}" (` +
          (r.comparison === 'unknown'
            ? "one side cannot tell; the host's state applies to the guest"
            : 'same state or mechanism') +
          ')',
      });
    else if (r.comparison === 'host-only' || r.comparison === 'guest-only')
      findings.push({
        severity: 'info',
        area: 'mitigations',
        message:
          `${r.name}: reported by the ${r.comparison === 'host-only' ? 'host' : 'guest'} ` +
          `kernel only (kernel versions differ)`,
      });
  }

  if (guest.clocksource && !FAST_CLOCKS.has(guest.clocksource))
    findings.push(
      kvm
        ? {
            severity: 'error',
            area: 'clocksource',
            message:
              `the guest keeps time with "${guest.clocksource}" (available: ` +
              `${guest.availableClocksources.join(' ') || '?'}): every clock read is slow, ` +
              `which inflates syscall and timer-heavy figures`,
            fix:
              'kvm-clock should be the guest clocksource under KVM: check that -cpu host is in the argv and that ' +
              'the guest kernel has CONFIG_KVM_GUEST',
          }
        : {
            severity: 'expected',
            area: 'clocksource',
            message: `guest clocksource "${guest.clocksource}" vs host "${host.clocksource ?? '?'}"`,
          },
    );

  const thpMatch =
    host.thp.enabled === guest.thp.enabled && (host.thp.defrag === null || host.thp.defrag === guest.thp.defrag);
  if (!thpMatch)
    findings.push({
      severity: 'error',
      area: 'thp',
      message:
        `THP differs: guest enabled=${guest.thp.enabled ?? '?'} defrag=${guest.thp.defrag ?? '?'}, ` +
        `host enabled=${host.thp.enabled ?? '?'} defrag=${host.thp.defrag ?? '?'}: ` +
        `memory figures would compare different page sizes`,
      fix:
        'isobench sets transparent_hugepage= and isobench.thp_defrag= on the guest kernel command line from the ' +
        'host: check the guest cmdline in this self-check and the init console log',
    });

  const backend: VmSelfCheck['net']['backend'] = !qemu.networked ? 'none' : qemu.vhostNetOpen ? 'vhost' : 'qemu';
  if (qemu.networked && qemu.vhostRequested && !qemu.vhostNetOpen)
    findings.push({
      severity: 'error',
      area: 'net',
      message: 'vhost=on was asked for but QEMU does not hold /dev/vhost-net open',
      fix: 'check the QEMU stderr in the console log; modprobe vhost_net',
    });
  else if (qemu.networked && kvm && backend !== 'vhost')
    findings.push({
      severity: 'error',
      area: 'net',
      message:
        `virtio-net is served by QEMU's main loop, not vhost-net (${qemu.vhostWhy}): ` +
        `network throughput understated, latency overstated`,
      fix: 'modprobe vhost_net and make /dev/vhost-net readable and writable by the user running isobench',
    });
  else if (qemu.networked && backend !== 'vhost')
    findings.push({ severity: 'expected', area: 'net', message: `virtio-net served by QEMU (${qemu.vhostWhy})` });

  const missingIo = qemu.iothreadsConfigured.filter((id) => !qemu.iothreadsRunning.some((t) => t.id === id));
  if (missingIo.length)
    findings.push({
      severity: 'error',
      area: 'iothreads',
      message: `I/O thread(s) ${missingIo.join(', ')} in the argv but not running (QMP query-iothreads)`,
      fix: 'check the QEMU version supports iothread= on virtio-blk',
    });
  else if (qemu.iothreadsConfigured.length === 0)
    findings.push({
      severity: kvm ? 'error' : 'expected',
      area: 'iothreads',
      message: "virtio-blk is served by QEMU's main loop (no I/O thread)",
    });
  if (qemu.placementFailed?.length)
    findings.push({
      severity: 'warn',
      area: 'placement',
      message: `thread placement failed for: ${qemu.placementFailed.join('; ')}`,
    });

  const count = (s: Severity): number => findings.filter((f) => f.severity === s).length;
  const status: VmSelfCheck['status'] = count('error')
    ? 'errors'
    : count('warn')
      ? 'warnings'
      : count('expected')
        ? 'expected-differences'
        : 'ok';
  const cpuPart = missingRelevant.length
    ? `guest lacks ${missingRelevant.length} relevant host CPU feature(s) ` +
      `(${missingRelevant.slice(0, 8).join(' ')}${missingRelevant.length > 8 ? ' ...' : ''})`
    : 'guest has every relevant host CPU feature';
  const mitDiff = mitigations.filter(
    (r) => r.comparison === 'guest-extra' || r.comparison === 'guest-fewer' || r.comparison === 'different',
  ).length;
  const summary = [
    `${accel.toUpperCase()} guest "${guest.cpuModel ?? '?'}" vs host "${host.cpuModel ?? '?'}": ${cpuPart}`,
    `${mitDiff} mitigation difference(s)`,
    `clocksource ${guest.clocksource ?? '?'} (host ${host.clocksource ?? '?'})`,
    `THP ${guest.thp.enabled ?? '?'}/${guest.thp.defrag ?? '?'} ` +
      `(host ${host.thp.enabled ?? '?'}/${host.thp.defrag ?? '?'})`,
    `virtio-net ${backend}`,
    `I/O threads ${qemu.iothreadsRunning.map((t) => t.id).join(',') || 'none'}`,
  ].join('; ');
  return {
    accelerator: accel,
    status,
    summary,
    cpu: {
      hostModel: host.cpuModel,
      guestModel: guest.cpuModel,
      hostFlags: host.flags.length,
      guestFlags: guest.flags.length,
      missing,
      missingRelevant,
      extra,
    },
    mitigations,
    clocksource: { host: host.clocksource, guest: guest.clocksource, guestAvailable: guest.availableClocksources },
    thp: { host: host.thp, guest: guest.thp, match: thpMatch },
    net: { backend, why: qemu.vhostWhy },
    iothreads: { configured: qemu.iothreadsConfigured, running: qemu.iothreadsRunning },
    vcpuThreads: qemu.vcpuThreads,
    guestKernel: guest.kernel,
    guestCmdline: guest.cmdline,
    findings,
  };
}

/** Human-readable form for `isobench doctor --vm` (pure). */
export function renderSelfCheck(sc: VmSelfCheck): string {
  const lines = [`VM self-check (${sc.accelerator.toUpperCase()}): ${sc.status}`, `  ${sc.summary}`];
  lines.push(
    `  CPU model   guest: ${sc.cpu.guestModel ?? '?'} (${sc.cpu.guestFlags} flags)   host: ` +
      `${sc.cpu.hostModel ?? '?'} (${sc.cpu.hostFlags} flags)`,
  );
  if (sc.cpu.missingRelevant.length) lines.push(`  missing in guest (relevant): ${sc.cpu.missingRelevant.join(' ')}`);
  lines.push(`  clocksource guest: ${sc.clocksource.guest ?? '?'}   host: ${sc.clocksource.host ?? '?'}`);
  lines.push(
    `  THP         guest: ${sc.thp.guest.enabled ?? '?'} (defrag ${sc.thp.guest.defrag ?? '?'})   host: ` +
      `${sc.thp.host.enabled ?? '?'} (defrag ${sc.thp.host.defrag ?? '?'})`,
  );
  lines.push(`  virtio-net  ${sc.net.backend} (${sc.net.why})`);
  lines.push(
    `  I/O threads ${sc.iothreads.running.map((t) => `${t.id} (tid ${t.threadId})`).join(', ') || 'none'}; ` +
      `vCPU threads ${sc.vcpuThreads.map((v) => `${v.cpuIndex}:${v.threadId}`).join(' ')}`,
  );
  const diff = sc.mitigations.filter(
    (r) => r.comparison !== 'same' && r.comparison !== 'host-only' && r.comparison !== 'guest-only',
  );
  if (diff.length) {
    lines.push('  mitigations whose text differs (guest | host):');
    for (const r of diff)
      lines.push(`    ${r.name.padEnd(26)} ${r.comparison.padEnd(12)} ${r.guest ?? '-'} | ${r.host ?? '-'}`);
  }
  const mark: Record<Severity, string> = { error: 'ERROR', warn: 'WARN ', expected: 'TCG  ', info: 'info ' };
  for (const f of sc.findings) {
    lines.push(`  [${mark[f.severity]}] ${f.area}: ${f.message}`);
    if (f.fix && f.severity === 'error') lines.push(`          fix: ${f.fix}`);
  }
  return lines.join('\n');
}
