/**
 * Redis: an application figure beside the microbenchmarks. Felter et al. (IBM,
 * 2014) found overheads in Redis that sysbench does not show: the network path
 * and the syscall rate of many small requests.
 *
 * redis-server runs inside the instance (from the workload image), bound to the
 * instance's bench address, with persistence off (no RDB, no AOF: the figure is
 * the request path, not the disk). redis-benchmark runs on the peer side (the
 * bench namespace, on the harness CPUs) over the same network as iperf3, with a
 * fixed client count: SET and GET with a fixed value size over a fixed key
 * space, once unpipelined (one request in flight per client: the round trip and
 * the syscall per request) and once pipelined (`pipeline` requests per write:
 * the server's throughput). Per run: requests per second and the p50/p99
 * latency, in microseconds, as redis-benchmark measured them at the client.
 *
 * The server is started like network.ts's servers (bounded by `busybox timeout
 * -s KILL`, output to a log in the instance, killed by pid afterwards). Before
 * benchmarking, `redis-cli ping` from the peer waits until it answers PONG:
 * redis-benchmark itself does not fail on a refused connection, it hangs. Each
 * benchmark is bounded by its exec timeout. Raw output: both benchmarks' CSV,
 * the readiness pings, and the server's log when anything fails.
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { benchAddress, metric, parseRaw, timeoutFor } from './common.js';
import { backgroundLoggedArgv, killArgv } from './network.js';
import { parseRedisBenchmarkCsv, redisTest } from './parsers/redis-benchmark.js';
import { recordEnvironment } from './environment.js';
import { environmentExtras } from './extras/common.js';
import type { MetricDecl, MetricValue, Workload, WorkloadContext } from './types.js';
import { sleep } from '../util/proc.js';

export const redisParams = z
  .object({
    /** redis-benchmark -c: concurrent clients (fixed, the same on every backend). */
    clients: z.number().int().min(1).max(1000).default(16),
    /** redis-benchmark -n for the unpipelined run (per test: SET, then GET). */
    requests: z.number().int().min(1000).max(10_000_000).default(50_000),
    /** redis-benchmark -n for the pipelined run (per test). */
    pipelinedRequests: z.number().int().min(1000).max(50_000_000).default(200_000),
    /** redis-benchmark -P for the pipelined run. */
    pipeline: z.number().int().min(2).max(1000).default(16),
    /** redis-benchmark -d: value size in bytes. */
    valueBytes: z.number().int().min(1).max(1_048_576).default(64),
    /** redis-benchmark -r: random keys drawn from this many. */
    keyspace: z.number().int().min(1).max(100_000_000).default(10_000),
    port: z.number().int().min(1024).max(65_535).default(6379),
    /** Upper bound on one benchmark run, seconds (its exec timeout; redis-benchmark has no time limit of its own). */
    maxSeconds: z.number().int().min(10).max(3600).default(120),
  })
  .strict();

export type RedisParams = z.infer<typeof redisParams>;
type Ctx = WorkloadContext<RedisParams>;

/** Where redis-server writes its log in the instance (/tmp is writable on every backend). */
export const REDIS_SERVER_LOG = '/tmp/isobench-redis-server.log';
const READY_TRIES = 50;
const READY_RETRY_MS = 200;
/** Options of the short execs around the benchmark (start, log, stop): bounded, failures handled here. */
const QUICK = { timeoutMs: 30_000, allowFailure: true } as const;

const MODES = [
  { id: '', what: 'unpipelined (one request in flight per client)', pipelined: false },
  { id: 'pipelined-', what: 'pipelined', pipelined: true },
] as const;
const TESTS = ['set', 'get'] as const;

const what = (cmd: string, m: (typeof MODES)[number]): string => `redis-benchmark ${cmd}, ${m.what}, at the client`;

const decl = (name: string, unit: string, higherIsBetter: boolean, description: string): MetricDecl => ({
  name,
  unit,
  higherIsBetter,
  description,
});

function declarations(): MetricDecl[] {
  const out: MetricDecl[] = [];
  for (const m of MODES)
    for (const t of TESTS) {
      const cmd = t.toUpperCase();
      out.push(
        decl(`${t}-${m.id}rps`, 'requests/s', true, `${what(cmd, m)}: requests per second`),
        decl(`${t}-${m.id}p50-us`, 'µs', false, `${what(cmd, m)}: median latency`),
        decl(`${t}-${m.id}p99-us`, 'µs', false, `${what(cmd, m)}: 99th percentile latency`),
      );
    }
  return out;
}

export function redisServerArgv(addr: string, port: number): string[] {
  // No persistence (the request path, not the disk), no protected mode (the peer is another address), /tmp as its dir.
  return ['redis-server', '--bind', addr, '--port', String(port), '--protected-mode', 'no'].concat([
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    '/tmp',
  ]);
}

export function redisPingArgv(addr: string, port: number): string[] {
  return ['redis-cli', '-h', addr, '-p', String(port), 'ping'];
}

export function redisBenchmarkArgv(p: RedisParams, addr: string, pipelined: boolean): string[] {
  const n = pipelined ? p.pipelinedRequests : p.requests;
  return ['redis-benchmark', '-h', addr, '-p', String(p.port), '-c', String(p.clients), '-n', String(n)].concat([
    ...['-d', String(p.valueBytes), '-r', String(p.keyspace), '-P', String(pipelined ? p.pipeline : 1)],
    ...['-t', 'set,get', '--csv'],
  ]);
}

async function serverLog(ctx: Ctx): Promise<string> {
  const r = await ctx
    .exec(ctx.instance, ['busybox', 'tail', '-n', '5', REDIS_SERVER_LOG], { tag: 'redis-server-log', ...QUICK })
    .catch(() => undefined);
  return r ? r.stdout.trim().split('\n').join(' | ') : '';
}

/** Wait until the server answers PONG from the peer side; throws with the server's log when it never does. */
async function waitReady(ctx: Ctx, addr: string): Promise<void> {
  let last = '';
  for (let i = 1; i <= READY_TRIES; i++) {
    const tag = i === 1 ? 'redis-ping' : `redis-ping-retry${i}`;
    const r = await ctx.execPeer(redisPingArgv(addr, ctx.params.port), { tag, timeoutMs: 10_000, allowFailure: true });
    if (r.code === 0 && /^PONG$/m.test(r.stdout)) return;
    last = `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
    await sleep(READY_RETRY_MS, ctx.signal);
  }
  const log = await serverLog(ctx);
  const server = log ? `; server: ${log}` : '';
  throw new Error(`redis-server did not answer PING after ${READY_TRIES} tries (last: ${last})${server}`);
}

async function benchmark(ctx: Ctx, addr: string, mode: (typeof MODES)[number]): Promise<MetricValue[]> {
  const p = ctx.params;
  const tag = `redis-benchmark${mode.pipelined ? '-pipelined' : ''}`;
  const argv = redisBenchmarkArgv(p, addr, mode.pipelined);
  const r = await ctx.execPeer(argv, { tag, timeoutMs: timeoutFor(ctx, p.maxSeconds), allowFailure: true });
  const exit = r.code !== 0 ? `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}` : undefined;
  const tests = parseRaw(r.rawLog, () => parseRedisBenchmarkCsv(r.stdout), exit);
  const out: MetricValue[] = [];
  for (const t of TESTS) {
    const x = parseRaw(r.rawLog, () => redisTest(tests, t));
    out.push(
      metric('redis-benchmark', `${t}-${mode.id}rps`, x.requestsPerSecond, r.rawLog),
      metric('redis-benchmark', `${t}-${mode.id}p50-us`, x.p50Ms * 1000, r.rawLog),
      metric('redis-benchmark', `${t}-${mode.id}p99-us`, x.p99Ms * 1000, r.rawLog),
    );
  }
  return out;
}

export const redisWorkload: Workload<RedisParams> = registerWorkload({
  name: 'redis',
  title: 'Redis (application)',
  order: 45,
  // An application figure over the bench network: as noisy as the network's, judged with its threshold.
  judgement: { comparison: 'ratio', thresholdPct: 10 },
  primary: [/^get-rps$/],
  tools: [
    {
      name: 'redis-server',
      where: 'instance',
      pkg: 'redis-server',
      version: { argv: ['redis-server', '--version'], pattern: /v=(\S+)/ },
    },
    {
      name: 'redis-benchmark',
      where: 'peer',
      pkg: 'redis-tools',
      version: { argv: ['redis-benchmark', '--version'], pattern: /redis-benchmark (\S+)/ },
    },
    { name: 'redis-cli', where: 'peer', pkg: 'redis-tools' },
  ],
  description:
    'redis-server in the instance, redis-benchmark from the bench namespace: SET and GET requests/s and p50/p99 ' +
    'latency, unpipelined and pipelined, at a fixed client count',
  params: redisParams,
  extraSchema: environmentExtras,
  needsNetwork: true,
  needsDisk: false,
  metrics: declarations(),
  async run(ctx) {
    if (!ctx.net) throw new Error('redis workload: the run has no bench network');
    const p = ctx.params;
    const addr = benchAddress(ctx.instance.address, ctx.instance.name);
    await recordEnvironment(ctx, 'redis');
    const lifetime = 2 * p.maxSeconds + 120;
    const bg = backgroundLoggedArgv(lifetime, REDIS_SERVER_LOG, redisServerArgv(addr, p.port));
    const started = await ctx.exec(ctx.instance, bg, { tag: 'redis-server', timeoutMs: 30_000 });
    const pid = Number(started.stdout.trim().split('\n').pop());
    if (!Number.isInteger(pid) || pid <= 0)
      throw new Error(`redis-server did not start in the instance: ${JSON.stringify(started.stdout.slice(0, 80))}`);
    try {
      await waitReady(ctx, addr);
      const out: MetricValue[] = [];
      for (const mode of MODES) {
        try {
          out.push(...(await benchmark(ctx, addr, mode)));
        } catch (e) {
          const log = await serverLog(ctx);
          const err = e as Error & { rawLog?: string };
          const withLog = new Error(`${err.message}${log ? `; server: ${log}` : ''}`);
          throw Object.assign(withLog, err.rawLog ? { rawLog: err.rawLog } : {});
        }
      }
      return out;
    } finally {
      // Its comm is the name it was run by, redis-server (a symlink to redis-check-rdb: Redis picks its mode
      // by argv[0]).
      const stop = killArgv(pid, 'redis-server');
      await ctx.exec(ctx.instance, stop, { tag: 'redis-server-stop', ...QUICK }).catch(() => undefined);
      const rm = ['rm', '-f', REDIS_SERVER_LOG];
      await ctx.exec(ctx.instance, rm, { tag: 'redis-server-log-rm', ...QUICK }).catch(() => undefined);
    }
  },
});
