/**
 * The bench network: a namespace isobench creates (with a bridge inside it) that
 * instances join by a veth pair (native, containers) or a tap (VMs). The traffic
 * peer (iperf3/sockperf client) runs inside the bench namespace.
 *
 * Safety: nothing is created in the root namespace. Every device lives inside an
 * isobench namespace (created with `ip -n`), so removing the namespaces removes
 * everything. Addresses come from 198.18.0.0/15 (RFC 2544, reserved for
 * benchmarking) and exist only inside those namespaces.
 */
import { run, runOk, type RunOptions, type RunResult } from '../util/proc.js';
import type { CleanupRegistry } from '../core/cleanup.js';

/** Every namespace isobench creates starts with this; `doctor --cleanup` relies on it. */
export const NETNS_PREFIX = 'isobench-';
export const BENCH_PREFIX_LEN = 15;
export const GATEWAY = '198.18.0.1';

/** Address of the n-th instance (n >= 1) in 198.18.0.0/15. */
export function instanceAddress(n: number): string {
  const idx = n + 1; // .0 network, .1 the bench side
  if (n < 1 || idx > 2 ** 17 - 2) throw new Error(`instance index ${n} outside 198.18.0.0/15`);
  const third = Math.floor(idx / 256);
  return `198.${18 + Math.floor(third / 256)}.${third % 256}.${idx % 256}`;
}

export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

export interface VethAttachment {
  /** Namespace the instance end lives in. */
  netns: string;
  address: string;
  /** Device name of the bench end (inside the bench namespace), for tc shaping. */
  benchIf: string;
  /** Device name of the instance end (inside the instance namespace). */
  instanceIf: string;
  release: () => Promise<void>;
}

export interface TapAttachment {
  tap: string;
  address: string;
  mac: string;
  release: () => Promise<void>;
}

export class BenchNet {
  private nextIndex = 1;
  private constructor(
    readonly shortId: string,
    readonly ns: string,
    private readonly cleanup: CleanupRegistry,
  ) {}

  /** Create the bench namespace with a bridge holding the gateway address. */
  static async create(shortId: string, cleanup: CleanupRegistry): Promise<BenchNet> {
    if (!/^[a-z0-9]{1,12}$/.test(shortId)) throw new Error(`bad short id ${shortId}`);
    const ns = `${NETNS_PREFIX}${shortId}-bench`;
    await runOk(['ip', 'netns', 'add', ns]);
    const net = new BenchNet(shortId, ns, cleanup);
    cleanup.add(`netns ${ns}`, () => deleteNetns(ns));
    await runOk(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await runOk(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    await runOk(['ip', '-n', ns, 'addr', 'add', `${GATEWAY}/15`, 'dev', 'br0']);
    await runOk(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);
    return net;
  }

  get gateway(): string {
    return GATEWAY;
  }

  /** Run argv inside the bench namespace (the traffic peer). */
  exec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(this.wrap(argv), opts);
  }

  /** argv prefixed to enter the bench namespace (for long-running peers and QEMU). */
  wrap(argv: readonly string[]): string[] {
    return ['nsenter', `--net=${netnsPath(this.ns)}`, '--', ...argv];
  }

  private allocate(): { index: number; address: string } {
    const index = this.nextIndex++;
    return { index, address: instanceAddress(index) };
  }

  /**
   * A new namespace for one instance, joined to the bridge by a veth pair. The
   * container joins this namespace; the native baseline enters it with nsenter.
   */
  async attachVeth(label: string): Promise<VethAttachment> {
    const { index, address } = this.allocate();
    const netns = `${NETNS_PREFIX}${this.shortId}-${safeLabel(label)}${index}`.slice(0, 60);
    const benchIf = `veth${index}`;
    await runOk(['ip', 'netns', 'add', netns]);
    // Deleting a namespace tears its devices down asynchronously in the kernel, so
    // the bench end of the pair would linger for a moment after `ip netns del`
    // (a transient leftover that a caller listing links can see). Deleting the
    // bench end first removes both ends synchronously; then the namespace goes.
    const releaseNs = this.cleanup.add(`veth ${benchIf} + netns ${netns}`, async () => {
      await deleteLink(this.ns, benchIf);
      await deleteNetns(netns);
    });
    await runOk(['ip', '-n', this.ns, 'link', 'add', benchIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await runOk(['ip', '-n', this.ns, 'link', 'set', benchIf, 'master', 'br0', 'up']);
    await runOk(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    await runOk(['ip', '-n', netns, 'addr', 'add', `${address}/15`, 'dev', 'eth0']);
    await runOk(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    return { netns, address, benchIf, instanceIf: 'eth0', release: releaseNs };
  }

  /** A tap device on the bridge for a VM; QEMU must run inside the bench namespace to open it. */
  async attachTap(): Promise<TapAttachment> {
    const { index, address } = this.allocate();
    const tap = `tap${index}`;
    await runOk(['ip', '-n', this.ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
    const release = this.cleanup.add(`tap ${tap} in ${this.ns}`, () => deleteLink(this.ns, tap));
    await runOk(['ip', '-n', this.ns, 'link', 'set', tap, 'master', 'br0', 'up']);
    // Locally administered MAC derived from the index, stable within a run.
    const mac = `52:54:00:${hex2(index >> 16)}:${hex2(index >> 8)}:${hex2(index)}`;
    return { tap, address, mac, release };
  }
}

function hex2(n: number): string {
  return (n & 255).toString(16).padStart(2, '0');
}

function safeLabel(label: string): string {
  return (
    label
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 12) || 'i'
  );
}

/** Delete a link inside a namespace; a link (or namespace) already gone is not an error. */
export async function deleteLink(ns: string, dev: string): Promise<void> {
  const r = await run(['ip', '-n', ns, 'link', 'del', dev]);
  if (r.code !== 0 && !/Cannot find device|does not exist|No such file|not found|Invalid/.test(r.stderr)) {
    throw new Error(`ip -n ${ns} link del ${dev}: ${r.stderr.trim()}`);
  }
}

export async function deleteNetns(ns: string): Promise<void> {
  const r = await run(['ip', 'netns', 'del', ns]);
  if (r.code !== 0 && !/No such file|not found|Invalid/.test(r.stderr))
    throw new Error(`ip netns del ${ns}: ${r.stderr.trim()}`);
}

export async function listNetns(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}
