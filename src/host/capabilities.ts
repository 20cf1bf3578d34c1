/**
 * The host capability model: every kernel or cgroup feature a workload's part
 * depends on, probed once per run in this module, recorded in results.json
 * (host.capabilities), listed by `doctor` and the report, and consulted by the
 * workloads instead of probing for themselves.
 *
 * Machines of one kind differ (kernel build, BFQ, cgroup layout): a feature is
 * never assumed because the developer's machine has it. Each capability says
 * what was seen (the evidence), the mechanism isobench uses when it is there,
 * what isobench does without it, and the fix. A capability can be masked
 * (`--mask-capability`, ISOBENCH_MASK_CAPABILITIES): treated as absent although
 * present, so the fallback path can be run for real on a host that has it.
 *
 * The probe reads files under the roots of a HostTree, so tests drive every path
 * on fake sysfs and cgroup trees; the two live checks (a tc qdisc in a private
 * network namespace) are injected the same way.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CgroupLayout } from './cgroup-layout.js';

export const CAPABILITY_IDS = [
  'disk-weights',
  'disk-caps',
  'block-counters',
  'tc-shaping',
  'ksm',
  'thp',
  'freezer',
  'cpuset',
  'vhost-net',
  'kvm',
] as const;
export type CapabilityId = (typeof CAPABILITY_IDS)[number];

export interface Capability {
  id: CapabilityId;
  /** What it is, in a reader's words. */
  title: string;
  available: boolean;
  /** The mechanism isobench uses when available (or the fallback it uses when not), or null. */
  mechanism: string | null;
  /** What the probe saw. */
  evidence: string;
  /** What isobench does without it: which parts are skipped or measured another way. */
  without: string;
  /** How to get it. */
  fix: string;
  /** Present on the host but masked for this run (treated as absent). */
  masked?: boolean;
}

export interface HostCapabilities {
  /** The sysfs root the probe read (/sys; a fixture tree in tests): device counters are read there too. */
  sysRoot: string;
  caps: Capability[];
  /** Capabilities masked for this run. */
  masked: CapabilityId[];
}

/** Where the probe looks: the real roots, or a fixture tree in tests. */
export interface HostTree {
  /** /sys */
  sys: string;
  /** /dev */
  dev: string;
  /** /proc (config.gz is read as text when a plain `config` file is given instead, for fixtures). */
  proc: string;
  /** /lib/modules/<release>, when present. */
  modulesDir: string | undefined;
  cgroup: CgroupLayout;
  /** Real hardware virtualization (HostFacts.kvm). */
  kvm: { hardware: boolean; summary: string };
  /** Live check: can a qdisc of this kind be added (in a private network namespace)? undefined: not checked. */
  qdiscWorks?: (kind: 'htb' | 'tbf') => Promise<boolean | undefined>;
}

async function readOpt(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** The kernel config (`CONFIG_X=y|m`, `# CONFIG_X is not set`) as a map; empty when unreadable. */
export function parseKernelConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line.trim());
    if (set?.[1]) m.set(set[1], set[2] ?? '');
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line.trim());
    if (unset?.[1]) m.set(unset[1], 'n');
  }
  return m;
}

async function kernelConfig(tree: HostTree): Promise<Map<string, string>> {
  // Fixtures give a plain `config`; a real host gives /proc/config.gz (when built with IKCONFIG_PROC).
  const plain = await readOpt(path.join(tree.proc, 'config'));
  if (plain !== undefined) return parseKernelConfig(plain);
  try {
    const { gunzipSync } = await import('node:zlib');
    return parseKernelConfig(gunzipSync(await fs.readFile(path.join(tree.proc, 'config.gz'))).toString('utf8'));
  } catch {
    return new Map();
  }
}

/** A kernel module's presence: loaded (/sys/module/X), built in (modules.builtin), or loadable (a .ko file). */
async function moduleState(
  tree: HostTree,
  name: string,
  koPath: string,
): Promise<'loaded' | 'builtin' | 'loadable' | 'absent'> {
  if (await exists(path.join(tree.sys, 'module', name))) return 'loaded';
  if (!tree.modulesDir) return 'absent';
  const builtin = (await readOpt(path.join(tree.modulesDir, 'modules.builtin'))) ?? '';
  if (builtin.split('\n').some((l) => l.trim().endsWith(`/${name}.ko`))) return 'builtin';
  for (const ext of ['', '.xz', '.zst', '.gz'])
    if (await exists(path.join(tree.modulesDir, `${koPath}.ko${ext}`))) return 'loadable';
  return 'absent';
}

/** Every mq scheduler any block device offers (the union of /sys/block/X/queue/scheduler). */
async function blockSchedulers(tree: HostTree): Promise<string[]> {
  const all = new Set<string>();
  const names = await fs.readdir(path.join(tree.sys, 'block')).catch(() => [] as string[]);
  for (const n of names) {
    const t = await readOpt(path.join(tree.sys, 'block', n, 'queue', 'scheduler'));
    for (const s of (t ?? '').replace(/[[\]]/g, ' ').split(/\s+/)) if (s) all.add(s);
  }
  return [...all].sort();
}

function v1Dir(layout: CgroupLayout, c: 'blkio' | 'freezer' | 'cpuset'): string | undefined {
  return layout.version === 1 ? layout.mounts[c] : undefined;
}

function hasV2(layout: CgroupLayout, c: string): boolean {
  return layout.version === 2 && layout.controllers.includes(c);
}

type Probe = Omit<Capability, 'id' | 'title' | 'without' | 'fix'> & { fix?: string };

/** What each capability is, what isobench does without it, and the fix (the probe adds the evidence). */
export const CAPABILITY_TEXT: Record<CapabilityId, { title: string; without: string; fix: string }> = {
  'disk-weights': {
    title: 'weight-based disk shares',
    without:
      "isobench skips the partition's disk share and work-conserving check and the noisy neighbour's io-weight " +
      'mechanism (listed as skipped with this reason); disk caps are still measured',
    fix: 'a kernel with BFQ (CONFIG_IOSCHED_BFQ, `modprobe bfq`), or cgroup v2 with io.cost (CONFIG_BLK_CGROUP_IOCOST)',
  },
  'disk-caps': {
    title: 'disk caps (I/O throttling)',
    without: "isobench skips the partition's disk cap and the noisy neighbour's io-throttle mechanism",
    fix:
      'mount the blkio controller (cgroup v1) or enable `io` in cgroup.subtree_control (v2); ' +
      'CONFIG_BLK_DEV_THROTTLING',
  },
  'block-counters': {
    title: 'per-cgroup block I/O counters',
    without:
      "isobench checks the disk figures' device reach with the device-wide /sys/block/<dev>/stat counters " +
      "(other host I/O included), and reads the partition's disk figures from isobench's own device, " +
      'which only the measured instance uses; where neither exists the figure reads "device reach not checked"',
    fix: 'mount the blkio controller (cgroup v1) or enable `io` in cgroup.subtree_control (v2)',
  },
  'tc-shaping': {
    title: 'traffic shaping (tc htb and tbf)',
    without: "isobench skips the partition's network share and cap and the noisy neighbour's tc mechanism",
    fix: 'a kernel with CONFIG_NET_SCH_HTB and CONFIG_NET_SCH_TBF (`modprobe sch_htb sch_tbf`)',
  },
  ksm: {
    title: 'kernel same-page merging (KSM)',
    without: 'isobench measures density without page merging and records KSM as absent',
    fix: 'a kernel with CONFIG_KSM',
  },
  thp: {
    title: 'transparent huge pages',
    without: 'every backend runs on 4 KiB pages; the environment check records THP as absent on every side',
    fix: 'a kernel with CONFIG_TRANSPARENT_HUGEPAGE',
  },
  freezer: {
    title: 'cgroup freezer',
    without: 'idle instances are not frozen while other backends measure (their idle load stays in the figures)',
    fix: 'mount the freezer controller (cgroup v1) or use a kernel >= 5.2 on cgroup v2',
  },
  cpuset: {
    title: 'CPU pinning (cpuset)',
    without: 'isobench cannot give every backend the same CPUs: runs refuse to start',
    fix: 'mount the cpuset controller (cgroup v1) or enable `cpuset` in cgroup.subtree_control (v2)',
  },
  'vhost-net': {
    title: 'vhost-net',
    without: "a KVM guest's virtio-net is served by QEMU itself (throughput understated, latency overstated); recorded",
    fix: '`modprobe vhost_net` (CONFIG_VHOST_NET)',
  },
  kvm: {
    title: 'hardware virtualization (KVM)',
    without: 'the VM backend runs under TCG emulation, and every VM figure carries a loud emulation warning',
    fix: 'a host with VT-x/AMD-V exposed (bare metal, or nested virtualization enabled) and kvm_intel/kvm_amd loaded',
  },
};

async function probeDiskWeights(tree: HostTree, cfg: Map<string, string>): Promise<Probe> {
  const schedulers = await blockSchedulers(tree);
  const bfqModule = await moduleState(tree, 'bfq', 'kernel/block/bfq');
  const cfgBfq = cfg.get('CONFIG_IOSCHED_BFQ');
  const bfq = schedulers.includes('bfq') || bfqModule !== 'absent' || cfgBfq === 'y' || cfgBfq === 'm';
  const seen =
    `block schedulers offered: ${schedulers.join(' ') || 'none readable'}` +
    `; bfq module ${bfqModule}${cfgBfq ? `; CONFIG_IOSCHED_BFQ=${cfgBfq}` : ''}`;
  const layout = tree.cgroup;
  if (layout.version === 1) {
    const dir = v1Dir(layout, 'blkio');
    if (!dir) return { available: false, mechanism: null, evidence: `cgroup v1 without a blkio mount; ${seen}` };
    if (!bfq) return { available: false, mechanism: null, evidence: `cgroup v1; no BFQ on this kernel (${seen})` };
    return {
      available: true,
      mechanism: "bfq weights (blkio.bfq.weight) on isobench's own loop device",
      evidence: `cgroup v1 blkio at ${dir}; ${seen}`,
    };
  }
  if (!hasV2(layout, 'io')) {
    return {
      available: false,
      mechanism: null,
      evidence: `cgroup v2 without the io controller in ${layout.root}; ${seen}`,
    };
  }
  if (bfq) {
    return {
      available: true,
      mechanism: "bfq weights (io.bfq.weight) on isobench's own loop device",
      evidence: `cgroup v2 io controller; ${seen}`,
    };
  }
  const ioCost = await exists(path.join(layout.root, 'io.cost.qos'));
  if (ioCost) {
    return {
      available: true,
      mechanism: "io.cost weights (io.weight), io.cost enabled on isobench's own loop device only",
      evidence: `cgroup v2 io controller with io.cost (${path.join(layout.root, 'io.cost.qos')}); ${seen}`,
    };
  }
  return {
    available: false,
    mechanism: null,
    evidence: `cgroup v2 io controller, but neither BFQ nor io.cost (${seen})`,
  };
}

async function probeDiskCaps(tree: HostTree): Promise<Probe> {
  const layout = tree.cgroup;
  if (layout.version === 1) {
    const dir = v1Dir(layout, 'blkio');
    const file = dir ? path.join(dir, 'blkio.throttle.read_iops_device') : undefined;
    if (file && (await exists(file))) {
      return { available: true, mechanism: 'blkio.throttle.*_device (cgroup v1)', evidence: `${file} exists` };
    }
    return { available: false, mechanism: null, evidence: dir ? `no ${file}` : 'cgroup v1 without a blkio mount' };
  }
  if (hasV2(layout, 'io'))
    return { available: true, mechanism: 'io.max (cgroup v2)', evidence: `io in ${layout.root}/cgroup.controllers` };
  return { available: false, mechanism: null, evidence: `cgroup v2 without the io controller in ${layout.root}` };
}

async function probeBlockCounters(tree: HostTree): Promise<Probe> {
  const layout = tree.cgroup;
  const deviceStat = (await fs.readdir(path.join(tree.sys, 'block')).catch(() => [] as string[])).length > 0;
  const fallback = deviceStat ? 'device-wide /sys/block/<dev>/stat' : null;
  if (layout.version === 1) {
    const dir = v1Dir(layout, 'blkio');
    const file = dir ? path.join(dir, 'blkio.throttle.io_service_bytes') : undefined;
    if (file && (await exists(file))) {
      return {
        available: true,
        // Measured on kernel 6.18: a v1 cgroup's throttle counters stay empty ([]) unless the device has a
        // throttle rule in that cgroup; with a no-op rule they count every read.
        mechanism:
          'blkio.throttle.io_service_bytes (cgroup v1; counted only where a throttle rule is set: ' +
          'isobench sets a no-op one)',
        evidence: `${file} exists`,
      };
    }
    return { available: false, mechanism: fallback, evidence: dir ? `no ${file}` : 'cgroup v1 without a blkio mount' };
  }
  if (hasV2(layout, 'io'))
    return { available: true, mechanism: 'io.stat (cgroup v2)', evidence: `io in ${layout.root}/cgroup.controllers` };
  return { available: false, mechanism: fallback, evidence: `cgroup v2 without the io controller in ${layout.root}` };
}

async function probeTc(tree: HostTree, cfg: Map<string, string>): Promise<Probe> {
  const state: string[] = [];
  let ok = true;
  for (const [kind, mod, conf] of [
    ['htb', 'sch_htb', 'CONFIG_NET_SCH_HTB'],
    ['tbf', 'sch_tbf', 'CONFIG_NET_SCH_TBF'],
  ] as const) {
    const live = tree.qdiscWorks ? await tree.qdiscWorks(kind) : undefined;
    const m = await moduleState(tree, mod, `kernel/net/sched/${mod}`);
    const c = cfg.get(conf);
    // The live check decides; without it, module or config evidence (a built-in qdisc without
    // parameters leaves no /sys/module entry, so "absent" alone is not proof).
    const has = live ?? (m !== 'absent' || c === 'y' || c === 'm' ? true : c === 'n' ? false : undefined);
    state.push(
      `${kind}: ${live === undefined ? 'not tried' : live ? 'a qdisc was added' : 'adding a qdisc failed'}, ` +
        `module ${m}${c ? `, ${conf}=${c}` : ''}`,
    );
    if (has !== true) ok = false;
  }
  return {
    available: ok,
    mechanism: ok ? 'tc htb (shares) and tbf (caps) in the bench namespace' : null,
    evidence: state.join('; '),
  };
}

async function probeFile(file: string, mechanism: string): Promise<Probe> {
  const t = await readOpt(file);
  return t === undefined
    ? { available: false, mechanism: null, evidence: `no ${file}` }
    : { available: true, mechanism, evidence: `${file}: ${t.trim().split('\n')[0]}` };
}

async function probeFreezer(tree: HostTree): Promise<Probe> {
  const layout = tree.cgroup;
  if (layout.version === 1) {
    const dir = v1Dir(layout, 'freezer');
    return dir
      ? { available: true, mechanism: 'freezer.state (cgroup v1)', evidence: `freezer mounted at ${dir}` }
      : { available: false, mechanism: null, evidence: 'cgroup v1 without a freezer mount' };
  }
  // cgroup.freeze exists in every non-root v2 cgroup on kernels >= 5.2: look in the root's children.
  const kids = await fs.readdir(layout.root, { withFileTypes: true }).catch(() => []);
  for (const k of kids) {
    if (k.isDirectory() && (await exists(path.join(layout.root, k.name, 'cgroup.freeze')))) {
      return {
        available: true,
        mechanism: 'cgroup.freeze (cgroup v2)',
        evidence: `${path.join(layout.root, k.name, 'cgroup.freeze')} exists`,
      };
    }
  }
  return { available: false, mechanism: null, evidence: `no cgroup.freeze in any child of ${layout.root}` };
}

function probeCpuset(tree: HostTree): Probe {
  const layout = tree.cgroup;
  if (layout.version === 1) {
    const dir = v1Dir(layout, 'cpuset');
    return dir
      ? { available: true, mechanism: 'cpuset.cpus (cgroup v1)', evidence: `cpuset mounted at ${dir}` }
      : { available: false, mechanism: null, evidence: 'cgroup v1 without a cpuset mount' };
  }
  return hasV2(layout, 'cpuset')
    ? { available: true, mechanism: 'cpuset.cpus (cgroup v2)', evidence: `cpuset in ${layout.root}/cgroup.controllers` }
    : { available: false, mechanism: null, evidence: `cpuset not in ${layout.root}/cgroup.controllers` };
}

/** Probe every capability (unmasked). */
export async function probeCapabilities(tree: HostTree): Promise<HostCapabilities> {
  const cfg = await kernelConfig(tree);
  const probes: Record<CapabilityId, Probe> = {
    'disk-weights': await probeDiskWeights(tree, cfg),
    'disk-caps': await probeDiskCaps(tree),
    'block-counters': await probeBlockCounters(tree),
    'tc-shaping': await probeTc(tree, cfg),
    ksm: await probeFile(path.join(tree.sys, 'kernel/mm/ksm/run'), 'KSM (/sys/kernel/mm/ksm)'),
    thp: await probeFile(
      path.join(tree.sys, 'kernel/mm/transparent_hugepage/enabled'),
      'THP (mode recorded per backend)',
    ),
    freezer: await probeFreezer(tree),
    cpuset: probeCpuset(tree),
    'vhost-net': (await exists(path.join(tree.dev, 'vhost-net')))
      ? {
          available: true,
          mechanism: 'vhost=on for KVM guests',
          evidence: `${path.join(tree.dev, 'vhost-net')} exists`,
        }
      : { available: false, mechanism: null, evidence: `no ${path.join(tree.dev, 'vhost-net')}` },
    kvm: {
      available: tree.kvm.hardware,
      mechanism: tree.kvm.hardware ? 'KVM (after calibration)' : 'TCG',
      evidence: tree.kvm.summary,
    },
  };
  const caps = CAPABILITY_IDS.map((id) => ({ id, ...CAPABILITY_TEXT[id], ...probes[id] }));
  return { sysRoot: tree.sys, caps, masked: [] };
}

/** Parse a comma-separated mask list; throws naming the unknown ids (the CLI turns it into exit 2). */
export function parseCapabilityMask(text: string | undefined): CapabilityId[] {
  if (!text?.trim()) return [];
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((i) => !(CAPABILITY_IDS as readonly string[]).includes(i));
  if (bad.length)
    throw new Error(
      `unknown capability ${bad.map((b) => JSON.stringify(b)).join(', ')}: ` +
        `expected one of ${CAPABILITY_IDS.join(', ')}`,
    );
  return [...new Set(ids)] as CapabilityId[];
}

/** The same capabilities with `ids` treated as absent (what the host has stays in the evidence). */
export function maskCapabilities(hc: HostCapabilities, ids: readonly CapabilityId[]): HostCapabilities {
  if (ids.length === 0) return hc;
  const caps = hc.caps.map((c) =>
    ids.includes(c.id)
      ? {
          ...c,
          available: false,
          masked: true,
          mechanism: c.id === 'kvm' ? 'TCG' : null,
          evidence: `masked for this run (--mask-capability); the host: ${c.evidence}`,
        }
      : c,
  );
  return { ...hc, caps, masked: [...new Set([...hc.masked, ...ids])] };
}

/** One capability by id (every probe result has every id). */
export function capability(hc: HostCapabilities, id: CapabilityId): Capability {
  const c = hc.caps.find((x) => x.id === id);
  if (!c) throw new Error(`bug: capability ${id} was not probed`);
  return c;
}

export function hasCapability(hc: HostCapabilities, id: CapabilityId): boolean {
  return capability(hc, id).available;
}

/** A skipped part's reason and fix, from the capability it lacks. */
export function missingReason(
  hc: HostCapabilities,
  id: CapabilityId,
): { capability: CapabilityId; reason: string; fix: string } {
  const c = capability(hc, id);
  return {
    capability: id,
    reason: `${c.masked ? 'masked for this run' : 'not on this host'}: ${c.title} (${c.evidence})`,
    fix: c.masked ? 'run without --mask-capability' : c.fix,
  };
}

/** doctor's and the report's lines: "✓ title: mechanism" or "✗ title: evidence; without it, isobench …". */
export function capabilityLines(hc: HostCapabilities): string[] {
  return hc.caps.map((c) =>
    c.available
      ? `✓ ${c.title}: ${c.mechanism ?? 'yes'}`
      : `✗ ${c.title}${c.masked ? ' (masked)' : ''}: ${c.evidence}; without it, ${c.without}. Fix: ${c.fix}`,
  );
}

/**
 * The live tc check: add a qdisc of `kind` on the loopback of a private network namespace
 * made for the purpose (never the root namespace's links), then delete the namespace.
 */
export async function qdiscWorksHere(kind: 'htb' | 'tbf'): Promise<boolean | undefined> {
  const { run } = await import('../util/proc.js');
  // The bench namespaces' prefix (net/bench.ts), so doctor --cleanup finds one a crash left behind.
  const ns = `isobench-cap-${process.pid}-${kind}`;
  const add = await run(['ip', 'netns', 'add', ns], { timeoutMs: 10_000 }).catch(() => undefined);
  if (!add || add.code !== 0) return undefined;
  try {
    const qdisc = kind === 'htb' ? ['htb'] : ['tbf', 'rate', '1mbit', 'burst', '32k', 'latency', '50ms'];
    const r = await run(
      ['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', ...qdisc],
      { timeoutMs: 10_000 },
    );
    return r.code === 0;
  } finally {
    await run(['ip', 'netns', 'del', ns], { timeoutMs: 10_000 }).catch(() => undefined);
  }
}

/** The real host's tree. */
export async function realHostTree(cgroup: CgroupLayout, kvm: HostTree['kvm']): Promise<HostTree> {
  const { release } = await import('node:os');
  const modulesDir = `/lib/modules/${release()}`;
  return {
    sys: '/sys',
    dev: '/dev',
    proc: '/proc',
    modulesDir: (await exists(modulesDir)) ? modulesDir : undefined,
    cgroup,
    kvm,
    qdiscWorks: qdiscWorksHere,
  };
}
