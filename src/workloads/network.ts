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
 *    `iperf3 -c <addr> -t <seconds> -O <omitSeconds> -J`, then the same with -R:
 *    the first omitSeconds (slow start) run but are not counted. The figure is the
 *    receiver's count (end.sum_received): what arrived. `tcp-to-instance-gbps`:
 *    the instance receives; `tcp-from-instance-gbps`: the instance sends.
 *    Success is judged from the JSON (iperf3 3.12 exits 0 on some errors).
 *  - sockperf server --tcp; client `sockperf ping-pong --tcp --full-rtt`: one
 *    message in flight, each a full round trip (not sockperf's default RTT/2), so
 *    the numbers read as "request/response latency". sockperf drops its first
 *    400 ms as warm-up.
 *
 *  - the same ping-pong over UDP (`udp-rr-*`): a second request/response probe
 *    that also works through gVisor's netstack. sockperf's TCP server answers
 *    with sendto() on the accepted socket, passing the address recvfrom() left
 *    unset (TCP does not fill it); Linux ignores the address on a connected TCP
 *    socket, gVisor validates it and fails with EAFNOSUPPORT (errno 97), so the
 *    server exits and the client reports "connection forcibly closed". The TCP
 *    figures then fail on runsc with that reason (the server's own log is kept
 *    in the failure), and the UDP figures still stand.
 *
 * One failing probe never discards the others: each probe's failure is recorded
 * per metric (cell extra `metricFailures`: metrics, error, raw log) and the
 * repetition keeps what the other probes measured; only when every probe fails
 * does the repetition fail.
 *
 * The server needs a moment after exec returns before it listens: clients retry
 * while the connection is refused (a few seconds at most).
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { iperf3Error, parseIperf3Json } from './parsers/iperf3.js';
import { parseSockperf } from './parsers/sockperf.js';
import { benchAddress, metric, parseRaw, timeoutFor } from './common.js';
import {
  ParseError,
  runProbesInTurn,
  type MetricValue,
  type Probe,
  type Workload,
  type WorkloadContext,
} from './types.js';
import { sleep } from '../util/proc.js';
import { recordEnvironment } from './environment.js';
import { networkExtras } from './extras/network.js';

export const networkParams = z
  .object({
    /** iperf3 -t per direction, whole seconds measured (after the omitted ramp-up). At least 2. */
    seconds: z.number().int().min(2).max(300).default(3),
    /**
     * iperf3 --omit: seconds of TCP ramp-up (slow start, window growth) run but left
     * out of the figure, before the measured `seconds`.
     */
    omitSeconds: z.number().int().min(0).max(30).default(1),
    /** iperf3 -P. */
    parallelStreams: z.number().int().min(1).max(16).default(1),
    /**
     * sockperf -t, whole seconds: the first 0.4 s are sockperf's warm-up, so 1 s keeps about 0.55 s of round
     * trips (thousands on a veth). sockperf itself waits a fixed 2 s more before it measures.
     */
    latencySeconds: z.number().int().min(1).max(300).default(3),
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
export const KILL_SCRIPT =
  'c=; read -r c 2>/dev/null </proc/"$1"/comm; if [ "$c" = "$2" ] || [ "$c" = busybox ]; then kill -9 "$1"; fi; exit 0';

export function backgroundArgv(lifetimeSeconds: number, argv: readonly string[]): string[] {
  return ['busybox', 'sh', '-c', BG_SCRIPT, 'isobench-bg', String(Math.ceil(lifetimeSeconds)), ...argv];
}

/** As BG_SCRIPT, but the program's output goes to the file $2 (read back when the probe fails). */
export const BG_LOG_SCRIPT = 't=$1; l=$2; shift 2; busybox timeout -s KILL "$t" "$@" </dev/null >"$l" 2>&1 & echo $!';

export function backgroundLoggedArgv(lifetimeSeconds: number, logFile: string, argv: readonly string[]): string[] {
  return ['busybox', 'sh', '-c', BG_LOG_SCRIPT, 'isobench-bg', String(Math.ceil(lifetimeSeconds)), logFile, ...argv];
}

/** Where a sockperf server in the instance writes its output (/tmp is writable on every backend). */
export const SOCKPERF_SERVER_LOG = '/tmp/isobench-sockperf-server.log';

export function killArgv(pid: number, comm: string): string[] {
  return ['busybox', 'sh', '-c', KILL_SCRIPT, 'isobench-kill', String(pid), comm];
}

export function iperfServerArgv(addr: string, port: number): string[] {
  return ['iperf3', '-s', '-1', '-B', addr, '-p', String(port)];
}

export function iperfClientArgv(p: NetworkParams, addr: string, port: number, reverse: boolean): string[] {
  const omit = p.omitSeconds > 0 ? ['-O', String(p.omitSeconds)] : [];
  return [
    'iperf3',
    '-c',
    addr,
    '-p',
    String(port),
    '-t',
    String(p.seconds),
    ...omit,
    '-P',
    String(p.parallelStreams),
    '--connect-timeout',
    '3000',
    '-J',
    ...(reverse ? ['-R'] : []),
  ];
}

export function sockperfServerArgv(addr: string, port: number, proto: 'tcp' | 'udp' = 'tcp'): string[] {
  return ['sockperf', 'server', ...(proto === 'tcp' ? ['--tcp'] : []), '-i', addr, '-p', String(port)];
}

export function sockperfClientArgv(
  p: NetworkParams,
  addr: string,
  port: number,
  proto: 'tcp' | 'udp' = 'tcp',
): string[] {
  return [
    'sockperf',
    'ping-pong',
    ...(proto === 'tcp' ? ['--tcp'] : []),
    '--full-rtt',
    '-i',
    addr,
    '-p',
    String(port),
    '-t',
    String(p.latencySeconds),
    '-m',
    String(p.messageBytes),
  ];
}

type Ctx = WorkloadContext<NetworkParams>;

/**
 * A network probe whose failure costs only its own metrics: the error is kept in
 * extra `metricFailures` (with its raw log) and the probe yields no value.
 */
function tolerant(
  name: string,
  metrics: string[],
  run: (ctx: Ctx, addr: string) => Promise<MetricValue[]>,
): Probe<NetworkParams> {
  return {
    name,
    metrics,
    run: async (ctx) => {
      if (!ctx.net) throw new Error('network workload: the run has no bench network');
      const addr = benchAddress(ctx.instance.address, ctx.instance.name);
      try {
        return await run(ctx, addr);
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        const err = e as Error & { rawLog?: string };
        const failure: MetricFailure = { metrics, error: err.message, ...(err.rawLog ? { rawLog: err.rawLog } : {}) };
        ctx.recordExtra?.('metricFailures', failure);
        ctx.progress(`${metrics[0]}${metrics.length > 1 ? ' ...' : ''} failed: ${err.message.split('\n')[0]}`);
        return [];
      }
    },
  };
}

/** Start a bounded server in the instance (output to logFile when given); returns its pid. */
async function startServer(
  ctx: Ctx,
  argv: string[],
  lifetimeSeconds: number,
  tag: string,
  logFile?: string,
): Promise<number> {
  const bg = logFile ? backgroundLoggedArgv(lifetimeSeconds, logFile, argv) : backgroundArgv(lifetimeSeconds, argv);
  const r = await ctx.exec(ctx.instance, bg, { tag, timeoutMs: 30_000 });
  const pid = Number(r.stdout.trim().split('\n').pop());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(
      `${argv[0]} server did not start in the instance (output: ${JSON.stringify(r.stdout.slice(0, 200))})`,
    );
  return pid;
}

async function stopServer(ctx: Ctx, pid: number, comm: string, tag: string): Promise<void> {
  await ctx
    .exec(ctx.instance, killArgv(pid, comm), { tag, timeoutMs: 30_000, allowFailure: true })
    .catch(() => undefined);
}

/** Run a client on the peer side, retrying while the server is not listening yet. */
async function clientWithRetry(
  ctx: Ctx,
  argv: string[],
  tag: string,
  toolSeconds: number,
  refused: (r: { stdout: string; stderr: string }) => boolean,
) {
  for (let attempt = 1; ; attempt++) {
    const r = await ctx.execPeer(argv, {
      tag: attempt === 1 ? tag : `${tag}-retry${attempt}`,
      timeoutMs: timeoutFor(ctx, toolSeconds),
      allowFailure: true,
    });
    if (attempt < CONNECT_RETRIES && refused(r)) {
      await sleep(CONNECT_RETRY_MS, ctx.signal);
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

/**
 * UDP has no connection to refuse: a client that starts before the server listens
 * (a sandboxed server starts slowly) gets no replies and prints no round trips. Retried
 * like a refused TCP connect; a server that never answers still fails after the retries.
 */
function sockperfUdpUnanswered(r: { stdout: string; stderr: string }): boolean {
  const out = `${r.stdout}\n${r.stderr}`;
  return (
    sockperfRefused(r) || (!/avg-(latency|rtt)=/.test(out) && /ReceivedMessages=0|server down|No messages/i.test(out))
  );
}

async function iperfDirection(ctx: Ctx, addr: string, reverse: boolean): Promise<MetricValue> {
  const p = ctx.params;
  const port = p.iperfPort + (reverse ? 1 : 0);
  const dir = reverse ? 'from-instance' : 'to-instance';
  const pid = await startServer(
    ctx,
    iperfServerArgv(addr, port),
    p.seconds + p.omitSeconds + 60,
    `network-iperf3-server-${dir}`,
  );
  try {
    const r = await clientWithRetry(
      ctx,
      iperfClientArgv(p, addr, port, reverse),
      `network-iperf3-${dir}`,
      p.seconds + p.omitSeconds + 10,
      iperfRefused,
    );
    const parsed = parseRaw(
      r.rawLog,
      () => parseIperf3Json(r.stdout),
      r.code !== 0 ? `client exit ${r.code}: ${r.stderr.trim().slice(0, 200)}` : undefined,
    );
    if (parsed.reverse !== reverse) throw new Error(`iperf3 ran reverse=${parsed.reverse}, asked for ${reverse}`);
    return metric('iperf3', `tcp-${dir}-gbps`, parsed.receivedBitsPerSecond / 1e9, r.rawLog);
  } finally {
    await stopServer(ctx, pid, 'iperf3', `network-iperf3-server-${dir}-stop`);
  }
}

const RR_METRICS = {
  tcp: ['rr-rtt-avg-us', 'rr-rtt-p50-us', 'rr-rtt-p99-us', 'rr-rtt-p999-us'],
  udp: ['udp-rr-rtt-avg-us', 'udp-rr-rtt-p50-us', 'udp-rr-rtt-p99-us', 'udp-rr-rtt-p999-us'],
} as const;

async function sockperfLatency(ctx: Ctx, addr: string, proto: 'tcp' | 'udp'): Promise<MetricValue[]> {
  const p = ctx.params;
  const port = p.sockperfPort + (proto === 'udp' ? 1 : 0);
  const tag = proto === 'tcp' ? 'network-sockperf' : 'network-sockperf-udp';
  const pid = await startServer(
    ctx,
    sockperfServerArgv(addr, port, proto),
    p.latencySeconds + 60,
    `${tag}-server`,
    SOCKPERF_SERVER_LOG,
  );
  try {
    const r = await clientWithRetry(
      ctx,
      sockperfClientArgv(p, addr, port, proto),
      tag,
      p.latencySeconds + 10,
      proto === 'udp' ? sockperfUdpUnanswered : sockperfRefused,
    );
    let s;
    try {
      s = parseRaw(r.rawLog, () => parseSockperf(`${r.stdout}\n${r.stderr}`));
    } catch (e) {
      // The client only says the peer closed: the server's own output says why.
      const log = await ctx
        .exec(ctx.instance, ['busybox', 'tail', '-n', '5', SOCKPERF_SERVER_LOG], {
          tag: `${tag}-server-log`,
          timeoutMs: 30_000,
          allowFailure: true,
        })
        .catch(() => undefined);
      const why = log?.stdout
        .split('\n')
        .filter((l) => /ERROR/.test(l))
        .join(' | ');
      throw Object.assign(
        new Error(
          `${(e as Error).message}${why ? `; server: ${why}` : ''}${r.code !== 0 ? ` (client exit ${r.code})` : ''}`,
        ),
        { rawLog: r.rawLog },
      );
    }
    if (!s.fullRtt) throw new ParseError('sockperf', 'expected round-trip figures (--full-rtt)');
    const [avg, p50, p99, p999] = RR_METRICS[proto];
    return [
      metric('sockperf', avg, s.avgUs, r.rawLog),
      metric('sockperf', p50, s.p50Us, r.rawLog),
      metric('sockperf', p99, s.p99Us, r.rawLog),
      metric('sockperf', p999, s.p999Us, r.rawLog),
    ];
  } finally {
    await stopServer(ctx, pid, 'sockperf', `${tag}-server-stop`);
    await ctx
      .exec(ctx.instance, ['rm', '-f', SOCKPERF_SERVER_LOG], {
        tag: `${tag}-server-log-rm`,
        timeoutMs: 30_000,
        allowFailure: true,
      })
      .catch(() => undefined);
  }
}

/** What one failed probe cost: its metrics, the error and the raw log that shows it. */
export interface MetricFailure {
  metrics: string[];
  error: string;
  rawLog?: string;
}

export const networkWorkload: Workload<NetworkParams> = registerWorkload({
  name: 'network',
  title: 'Network',
  order: 40,
  judgement: { comparison: 'ratio', thresholdPct: 10 },
  // Throughput only (rr-rtt-* latencies are not capacity).
  capacity: [
    {
      resource: 'network',
      tiers: [
        { tier: 0, metrics: [/^tcp-.*(mbps|gbps)$/i] },
        { tier: 1, metrics: [/(mbps|gbps)/i] },
      ],
    },
  ],
  description:
    'iperf3 TCP throughput both ways between the bench namespace and the instance; ' +
    'sockperf TCP and UDP ping-pong round-trip p50/p99/p99.9',
  params: networkParams,
  extraSchema: networkExtras,
  needsNetwork: true,
  needsDisk: false,
  metrics: [
    {
      name: 'tcp-to-instance-gbps',
      unit: 'Gbit/s',
      higherIsBetter: true,
      description: 'iperf3 TCP, bench namespace sends, instance receives (receiver count)',
    },
    {
      name: 'tcp-from-instance-gbps',
      unit: 'Gbit/s',
      higherIsBetter: true,
      description: 'iperf3 TCP -R, instance sends, bench namespace receives (receiver count)',
    },
    {
      name: 'rr-rtt-avg-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf TCP ping-pong round trip, mean',
    },
    {
      name: 'rr-rtt-p50-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf TCP ping-pong round trip, median',
    },
    {
      name: 'rr-rtt-p99-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf TCP ping-pong round trip, 99th percentile',
    },
    {
      name: 'rr-rtt-p999-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf TCP ping-pong round trip, 99.9th percentile',
    },
    {
      name: 'udp-rr-rtt-avg-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf UDP ping-pong round trip, mean',
    },
    {
      name: 'udp-rr-rtt-p50-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf UDP ping-pong round trip, median',
    },
    {
      name: 'udp-rr-rtt-p99-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf UDP ping-pong round trip, 99th percentile',
    },
    {
      name: 'udp-rr-rtt-p999-us',
      unit: 'µs',
      higherIsBetter: false,
      description: 'sockperf UDP ping-pong round trip, 99.9th percentile',
    },
  ],
  setup: async (ctx) => {
    // Refuse a missing network or an address outside the bench plan before anything runs.
    if (!ctx.net) throw new Error('network workload: the run has no bench network');
    benchAddress(ctx.instance.address, ctx.instance.name);
    await recordEnvironment(ctx, 'network');
  },
  probes: () => [
    tolerant('iperf3-to', ['tcp-to-instance-gbps'], async (ctx, addr) => [await iperfDirection(ctx, addr, false)]),
    tolerant('iperf3-from', ['tcp-from-instance-gbps'], async (ctx, addr) => [await iperfDirection(ctx, addr, true)]),
    tolerant('sockperf-tcp', [...RR_METRICS.tcp], (ctx, addr) => sockperfLatency(ctx, addr, 'tcp')),
    tolerant('sockperf-udp', [...RR_METRICS.udp], (ctx, addr) => sockperfLatency(ctx, addr, 'udp')),
  ],
  async run(ctx) {
    const failures: MetricFailure[] = [];
    const keep = (name: string, data: unknown): void => {
      if (name === 'metricFailures') failures.push(data as MetricFailure);
      ctx.recordExtra?.(name, data);
    };
    const out = await runProbesInTurn(networkWorkload, { ...ctx, recordExtra: keep });
    // Nothing measured at all: the repetition fails as a whole, with the first reason (the runner applies the same
    // rule per round).
    if (out.length === 0)
      throw Object.assign(
        new Error(`every network probe failed: ${failures.map((f) => f.error).join('; ')}`),
        failures[0]?.rawLog ? { rawLog: failures[0].rawLog } : {},
      );
    return out;
  },
});
