import { describe, expect, it } from 'vitest';
import { settleWithFakeClock } from '../../helpers/fake-clock.js';
import { BG_LOG_SCRIPT, KILL_SCRIPT } from '../../../src/workloads/network.js';
import { REDIS_SERVER_LOG, redisParams, redisWorkload, type RedisParams } from '../../../src/workloads/redis.js';
import {
  FakeInstance,
  argvMatch,
  fromFixture,
  makeFakeContext,
  rule,
  type FakeRule,
} from '../../helpers/fake-instance.js';

const defaults = redisParams.parse({});
const ADDR = '198.18.0.3';

function redisInstance(serverLog = ''): FakeInstance {
  return new FakeInstance({
    address: ADDR,
    rules: [
      rule('bg start logged', argvMatch(['busybox', 'sh', '-c', BG_LOG_SCRIPT]), { stdout: '4242\n' }),
      rule('kill', argvMatch(['busybox', 'sh', '-c', KILL_SCRIPT]), {}),
      rule('server log', argvMatch(['busybox', 'tail', '-n', '5', REDIS_SERVER_LOG]), { stdout: serverLog }),
      rule('rm log', argvMatch(['rm', '-f', REDIS_SERVER_LOG]), {}),
    ],
  });
}

/** redis-benchmark with -P n. */
const depth =
  (n: number) =>
  (argv: readonly string[]): boolean =>
    argv[0] === 'redis-benchmark' && argv[argv.indexOf('-P') + 1] === String(n);

function peer(o: { refusedPings?: number; neverReady?: boolean; pipelined?: string } = {}): FakeRule[] {
  const refused = { code: 1, stderr: `Could not connect to Redis at ${ADDR}:6379: Connection refused\n` };
  return [
    rule('ping', argvMatch(['redis-cli']), (_a, nth) =>
      o.neverReady || nth < (o.refusedPings ?? 0) ? refused : { stdout: 'PONG\n' },
    ),
    rule('benchmark pipelined', depth(16), fromFixture(o.pipelined ?? 'redis-benchmark/get-set-c16-p16.csv')),
    rule('benchmark', depth(1), fromFixture('redis-benchmark/get-set-c16-p1.csv')),
  ];
}

describe('redis params', () => {
  it('applies defaults and rejects unknown keys', () => {
    expect(defaults).toMatchObject({ clients: 16, pipeline: 16, valueBytes: 64, port: 6379 });
    expect(redisParams.safeParse({ threads: 4 }).success).toBe(false);
    expect(redisParams.safeParse({ pipeline: 1 }).success).toBe(false);
  });
});

describe('redis run', () => {
  it('starts redis-server bounded in the instance, waits for PONG, benchmarks from the peer, kills the server', async () => {
    const inst = redisInstance();
    const f = makeFakeContext<RedisParams>({ params: defaults, instance: inst, peerRules: peer({ refusedPings: 2 }) });
    const values = await redisWorkload.run(f.ctx);
    const by = Object.fromEntries(values.map((v) => [v.metric, v.value]));
    expect(by).toEqual({
      'set-rps': 51177.07,
      'set-p50-us': 71,
      'set-p99-us': 3671,
      'get-rps': 39432.18,
      'get-p50-us': 71,
      'get-p99-us': 3879,
      'set-pipelined-rps': 409836.06,
      'set-pipelined-p50-us': 191,
      'set-pipelined-p99-us': 5719,
      'get-pipelined-rps': 422833,
      'get-pipelined-p50-us': 143,
      'get-pipelined-p99-us': 6207,
    });
    // Every declared metric is measured, each traced to its raw log.
    expect(Object.keys(by).sort()).toEqual(redisWorkload.metrics.map((m) => m.name).sort());
    for (const v of values) expect(f.raw.get(v.rawLog as string)).toContain('--csv');
    const server = f.log.find((e) => e.side === 'instance' && e.argv.includes('redis-server'))!;
    expect(server.argv).toEqual(expect.arrayContaining(['--bind', ADDR, '--save', '', '--appendonly', 'no']));
    expect(f.log.filter((e) => e.side === 'peer' && e.argv[0] === 'redis-cli')).toHaveLength(3);
    const bench = f.log.filter((e) => e.side === 'peer' && e.argv[0] === 'redis-benchmark');
    expect(bench.map((e) => e.argv.slice(e.argv.indexOf('-c'), e.argv.indexOf('-c') + 4))).toEqual([
      ['-c', '16', '-n', '50000'],
      ['-c', '16', '-n', '200000'],
    ]);
    for (const e of bench) expect(e.timeoutMs).toBeGreaterThan(0);
    const last = f.log.filter((e) => e.side === 'instance').slice(-2);
    expect(last[0]!.argv).toEqual(expect.arrayContaining(['4242', 'redis-server']));
  });

  it('fails with the server log when the server never answers, and still kills it', async () => {
    const inst = redisInstance(
      '# Warning: Could not create server TCP listening socket 198.18.0.3:6379: bind: Cannot assign requested address',
    );
    const f = makeFakeContext<RedisParams>({ params: defaults, instance: inst, peerRules: peer({ neverReady: true }) });
    const out = await settleWithFakeClock(() => redisWorkload.run(f.ctx));
    expect(out.status).toBe('rejected');
    expect(String((out as PromiseRejectedResult).reason)).toMatch(
      /did not answer PING after 50 tries.*server: # Warning: Could not create server TCP listening socket/,
    );
    expect(f.log.some((e) => e.side === 'instance' && e.argv.includes(KILL_SCRIPT))).toBe(true);
    expect(f.log.some((e) => e.side === 'peer' && e.argv[0] === 'redis-benchmark')).toBe(false);
  });

  it('a truncated benchmark output fails the repetition naming redis-benchmark and its raw log', async () => {
    const f = makeFakeContext<RedisParams>({
      params: defaults,
      instance: redisInstance(),
      peerRules: peer({ pipelined: 'redis-benchmark/get-set-c16-p1.truncated.csv' }),
    });
    await expect(redisWorkload.run(f.ctx)).rejects.toThrow(
      /^redis-benchmark: .*\[raw log: raw\/\d+-redis-benchmark-pipelined\.log\]/,
    );
  });

  it('refuses an instance address outside the bench range and a run without the bench network', async () => {
    const out = new FakeInstance({ address: '10.0.0.5' });
    await expect(
      redisWorkload.run(makeFakeContext<RedisParams>({ params: defaults, instance: out }).ctx),
    ).rejects.toThrow(/outside 198.18.0.0\/15/);
    await expect(
      redisWorkload.run(makeFakeContext<RedisParams>({ params: defaults, instance: redisInstance(), net: false }).ctx),
    ).rejects.toThrow(/no bench network/);
  });
});
