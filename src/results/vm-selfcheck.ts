/**
 * The VM self-check's shape as results.json stores it (backends[].vmSelfCheck):
 * guest vs host CPU model and flags, mitigations, clocksource, THP, the network
 * path and QEMU's threads, with findings. The backend that runs the check
 * (backends/vm-selfcheck.ts) produces it and the report and doctor read it from
 * here, so neither depends on the backend.
 */

/** THP modes as /sys/kernel/mm/transparent_hugepage shows them. */
export interface ThpMode {
  enabled: string | null;
  defrag: string | null;
}

export type Severity = 'error' | 'warn' | 'expected' | 'info';
export interface Finding {
  severity: Severity;
  area: 'cpu' | 'mitigations' | 'clocksource' | 'thp' | 'net' | 'iothreads' | 'placement';
  message: string;
  fix?: string;
}

export type MitigationState = 'not-affected' | 'mitigated' | 'vulnerable' | 'unknown';
export interface MitigationRow {
  name: string;
  host: string | null;
  guest: string | null;
  /**
   * same text; equivalent: both mitigated by the same mechanism (first clause), details differ (e.g. SMT state the
   * guest cannot know);
   * guest-extra: the guest mitigates where the host does not (costs the guest); guest-fewer: the reverse;
   * different: both mitigate by different mechanisms, or one is vulnerable where the other is not affected;
   * unknown: one side cannot tell (e.g. "Unknown: Dependent on hypervisor status"); host-only / guest-only: one kernel
   * does not report it.
   */
  comparison:
    | 'same'
    | 'equivalent'
    | 'guest-extra'
    | 'guest-fewer'
    | 'different'
    | 'unknown'
    | 'host-only'
    | 'guest-only';
}

export interface VmSelfCheck {
  accelerator: 'kvm' | 'tcg';
  /** ok; expected-differences (TCG: differences shown, no error); warnings; errors. */
  status: 'ok' | 'expected-differences' | 'warnings' | 'errors';
  summary: string;
  cpu: {
    hostModel: string | null;
    guestModel: string | null;
    hostFlags: number;
    guestFlags: number;
    missing: string[];
    missingRelevant: string[];
    extra: string[];
  };
  mitigations: MitigationRow[];
  clocksource: { host: string | null; guest: string | null; guestAvailable: string[] };
  thp: { host: ThpMode; guest: ThpMode; match: boolean };
  net: { backend: 'vhost' | 'qemu' | 'none'; why: string };
  iothreads: { configured: string[]; running: Array<{ id: string; threadId: number }> };
  vcpuThreads: Array<{ cpuIndex: number; threadId: number }>;
  guestKernel: string | null;
  guestCmdline: string | null;
  findings: Finding[];
}
