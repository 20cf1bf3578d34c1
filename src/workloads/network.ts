/**
 * Network: TCP throughput in both directions and request/response latency
 * between the bench namespace (the traffic peer) and the instance.
 *
 * Servers run inside the instance, clients in the bench namespace (ctx.execPeer).
 * A server is started in the background through busybox sh, because exec must
 * return while it runs: in a VM the guest agent's exec returns only when the
 * process *and* its output pipes are done, so the server's stdio goes to
 * /dev/null. Every server is wrapped in `busybox timeout -s KILL <secs>` (busybox
 * timeout execs the program in place, so `$!` is the server's own pid and the
 * watchdog exits with it): whatever happens to this process, no server outlives
 * its bound. After each measurement the server is also killed explicitly, by pid,
 * and only if /proc/<pid>/comm still names the tool.
 *
 *  - iperf3 -s -1 (one test, then exit) bound to the instance address; client
 *    `iperf3 -c <addr> -t <seconds> -J`, then the same with -R. The figure is the
 *    receiver's count (end.sum_received): what arrived. `tcp-to-instance-gbps`:
 *    the instance receives; `tcp-from-instance-gbps`: the instance sends.
 *    Success is judged from the JSON (iperf3 3.12 exits 0 on some errors).
 *  - sockperf server --tcp; client `sockperf ping-pong --tcp --full-rtt`: one
 *    message in flight, each a full round trip (not sockperf's default RTT/2), so
 *    the numbers read as "request/response latency". sockperf drops its first
 *    400 ms as warm-up.
 *
 * The server needs a moment after exec returns before it listens: clients retry
 * while the connection is refused (a few seconds at most).
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { iperf3Error, parseIperf3Json } from './parsers/iperf3.js';
import { parseSockperf } from './parsers/sockperf.js';
import { benchAddress, metric, parseRaw, timeoutFor } from './common.js';
import { ParseError, type MetricValue, type Workload, type WorkloadContext } from './types.js';
import { sleep } from '../util/proc.js';
import { recordEnvironment } from './environment.js';

export const networkParams = z
  .object({
    /** iperf3 -t per direction, whole seconds. */
    seconds: z.number().int().min(1).max(300).default(3),
    /** iperf3 -P. */
    parallelStreams: z.number().int().min(1).max(16).default(1),
    /** sockperf -t, whole seconds (the first 0.4 s are sockperf's warm-up). */
    latencySeconds: z.number().int().min(2).max(300).default(3),
    /** sockperf -m (message size in bytes; sockperf's minimum is 14). */
    messageBytes: z.number().int().min(14).max(65_000).default(64),
    /** iperf3 uses this port (instance receives) and the next (instance sends). */
    iperfPort: z.number().int().min(1024).max(65_534).default(5201),
    sockperfPort: z.number().int().min(1024).max(65_535).default(11_111),
  })
  .strict();

export type NetworkParams = z.infer<typeof networkParams>;

/** How long a client keeps retrying a refused connection while the server comes up. */
const CONNECT_RETRIES = 25;
const CONNECT_RETRY_MS = 200;

/** `sh -c` script: run "$@" under a KILL timeout of $1 seconds, detached from our pipes; print its pid. */
export const BG_SCRIPT = 't=$1; shift; busybox timeout -s KILL "$t" "$@" </dev/null >/dev/null 2>&1 & echo $!';
/**
 * `sh -c` script: kill -9 pid $1 only if it is still the program named $2 (or still
 * busybox, in the instant before `busybox timeout` has exec'd it): a pid that was
 * reused by something else is left alone.
 */
export const KILL_SCRIPT = 'c=; read -r c 2>/dev/null </proc/"$1"/comm; if [ "$c" = "$2" ] || [ "$c" = busybox ]; then kill -9 "$1"; fi; exit 0';

export function backgroundArgv(lifetimeSeconds: number, argv: readonly string[]): string[] {
  return ['busybox', 'sh', '-c', BG_SCRIPT, 'isobench-bg', String(Math.ceil(lifetimeSeconds)), ...argv];
}

export function killArgv(pid: number, comm: string): string[] {
  return ['busybox', 'sh', '-c', KILL_SCRIPT, 'isobench-kill', String(pid), comm];
}

export function iperfServerArgv(addr: string, port: number): string[] {
  return ['iperf3', '-s', '-1', '-B', addr, '-p', String(port)];
}

export function iperfClientArgv(p: NetworkParams, addr: string, port: number, reverse: boolean): string[] {
  return ['iperf3', '-c', addr, '-p', String(port), '-t', String(p.seconds), '-P', String(p.parallelStreams), '--connect-timeout', '3000', '-J', ...(reverse ? ['-R'] : [])];
}

export function sockperfServerArgv(addr: string, port: number): string[] {
  return ['sockperf', 'server', '--tcp', '-i', addr, '-p', String(port)];
}

export function sockperfClientArgv(p: NetworkParams, addr: string, port: number): string[] {
  return ['sockperf', 'ping-pong', '--tcp', '--full-rtt', '-i', addr, '-p', String(port), '-t', String(p.latencySeconds), '-m', String(p.messageBytes)];
}

type Ctx = WorkloadContext<NetworkParams>;

/** Start a bounded server in the instance; returns its pid. */
async function startServer(ctx: Ctx, argv: string[], lifetimeSeconds: number, tag: string): Promise<number> {
  const r = await ctx.exec(ctx.instance, backgroundArgv(lifetimeSeconds, argv), { tag, timeoutMs: 30_000 });
  const pid = Number(r.stdout.trim().split('\n').pop());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${argv[0]} server did not start in the instance (output: ${JSON.stringify(r.stdout.slice(0, 200))})`);
  return pid;
}

async function stopServer(ctx: Ctx, pid: number, comm: string, tag: string): Promise<void> {
  await ctx.exec(ctx.instance, killArgv(pid, comm), { tag, timeoutMs: 30_000, allowFailure: true }).catch(() => undefined);
}

/** Run a client on the peer side, retrying while the server is not listening yet. */
async function clientWithRetry(ctx: Ctx, argv: string[], tag: string, toolSeconds: number, refused: (r: { stdout: string; stderr: string }) => boolean) {
  for (let attempt = 1; ; attempt++) {
    const r = await ctx.execPeer(argv, { tag: attempt === 1 ? tag : `${tag}-retry${attempt}`, timeoutMs: timeoutFor(ctx, toolSeconds), allowFailure: true });
    if (attempt < CONNECT_RETRIES && refused(r)) {
      await sleep(CONNECT_RETRY_MS);
      continue;
    }
    return r;
  }
}

function iperfRefused(r: { stdout: string }): boolean {
  try {
    return /unable to connect|connection refused/i.test(iperf3Error(r.stdout) ?? '');
  } catch {
    return false;
  }
}

function sockperfRefused(r: { stdout: string; stderr: string }): boolean {
  return /Can.t connect socket|Connection refused/.test(`${r.stdout}\n${r.stderr}`);
}

async function iperfDirection(ctx: Ctx, addr: string, reverse: boolean): Promise<MetricValue> {
  const p = ctx.params;
  const port = p.iperfPort + (reverse ? 1 : 0);
  const dir = reverse ? 'from-instance' : 'to-instance';
  const pid = await startServer(ctx, iperfServerArgv(addr, port), p.seconds + 60, `network-iperf3-server-${dir}`);
  try {
    const r = await clientWithRetry(ctx, iperfClientArgv(p, addr, port, reverse), `network-iperf3-${dir}`, p.seconds + 10, iperfRefused);
    const parsed = parseRaw(r.rawLog, () => parseIperf3Json(r.stdout), r.code !== 0 ? `client exit ${r.code}: ${r.stderr.trim().slice(0, 200)}` : undefined);
    if (parsed.reverse !== reverse) throw new Error(`iperf3 ran reverse=${parsed.reverse}, asked for ${reverse}`);
    return metric('iperf3', `tcp-${dir}-gbps`, parsed.receivedBitsPerSecond / 1e9, r.rawLog);
  } finally {
    await stopServer(ctx, pid, 'iperf3', `network-iperf3-server-${dir}-stop`);
  }
}

async function sockperfLatency(ctx: Ctx, addr: string): Promise<MetricValue[]> {
  const p = ctx.params;
  const pid = await startServer(ctx, sockperfServerArgv(addr, p.sockperfPort), p.latencySeconds + 60, 'network-sockperf-server');
  try {
    const r = await clientWithRetry(ctx, sockperfClientArgv(p, addr, p.sockperfPort), 'network-sockperf', p.latencySeconds + 10, sockperfRefused);
    const s = parseRaw(r.rawLog, () => parseSockperf(`${r.stdout}\n${r.stderr}`));
    if (!s.fullRtt) throw new ParseError('sockperf', 'expected round-trip figures (--full-rtt)');
    return [
      metric('sockperf', 'rr-rtt-avg-us', s.avgUs, r.rawLog),
      metric('sockperf', 'rr-rtt-p50-us', s.p50Us, r.rawLog),
      metric('sockperf', 'rr-rtt-p99-us', s.p99Us, r.rawLog),
      metric('sockperf', 'rr-rtt-p999-us', s.p999Us, r.rawLog),
    ];
  } finally {
    await stopServer(ctx, pid, 'sockperf', 'network-sockperf-server-stop');
  }
}

export const networkWorkload: Workload<NetworkParams> = registerWorkload({
  name: 'network',
  title: 'Network',
  description: 'iperf3 TCP throughput both ways between the bench namespace and the instance; sockperf TCP ping-pong round-trip p50/p99/p99.9',
  params: networkParams,
  needsNetwork: true,
  needsDisk: false,
  metrics: [
    { name: 'tcp-to-instance-gbps', unit: 'Gbit/s', higherIsBetter: true, description: 'iperf3 TCP, bench namespace sends, instance receives (receiver count)' },
    { name: 'tcp-from-instance-gbps', unit: 'Gbit/s', higherIsBetter: true, description: 'iperf3 TCP -R, instance sends, bench namespace receives (receiver count)' },
    { name: 'rr-rtt-avg-us', unit: 'µs', higherIsBetter: false, description: 'sockperf TCP ping-pong round trip, mean' },
    { name: 'rr-rtt-p50-us', unit: 'µs', higherIsBetter: false, description: 'sockperf TCP ping-pong round trip, median' },
    { name: 'rr-rtt-p99-us', unit: 'µs', higherIsBetter: false, description: 'sockperf TCP ping-pong round trip, 99th percentile' },
    { name: 'rr-rtt-p999-us', unit: 'µs', higherIsBetter: false, description: 'sockperf TCP ping-pong round trip, 99.9th percentile' },
  ],
  async run(ctx) {
    if (!ctx.net) throw new Error('network workload: the run has no bench network');
    const addr = benchAddress(ctx.instance.address, ctx.instance.name);
    const out: MetricValue[] = [];
    await recordEnvironment(ctx, 'network');
    out.push(await iperfDirection(ctx, addr, false));
    out.push(await iperfDirection(ctx, addr, true));
    out.push(...(await sockperfLatency(ctx, addr)));
    return out;
  },
});
