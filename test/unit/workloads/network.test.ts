import { describe, expect, it } from 'vitest';
import { settleWithFakeClock } from '../../helpers/fake-clock.js';
import { ENV_SCRIPT } from '../../../src/workloads/environment.js';
import {
  BG_LOG_SCRIPT,
  BG_SCRIPT,
  KILL_SCRIPT,
  SOCKPERF_SERVER_LOG,
  networkParams,
  networkWorkload,
  type MetricFailure,
  type NetworkParams,
} from '../../../src/workloads/network.js';
import {
  FakeInstance,
  argvMatch,
  fixtureText,
  fromFixture,
  makeFakeContext,
  rule,
  type FakeRule,
} from '../../helpers/fake-instance.js';

const defaults = networkParams.parse({});
const ADDR = '198.18.0.3';

/** The instance side: background starts answer with a pid; kills succeed. */
function netInstance(address: string | undefined, serverLog = ''): FakeInstance {
  let pid = 4000;
  return new FakeInstance({
    address,
    rules: [
      rule('bg start', argvMatch(['busybox', 'sh', '-c', BG_SCRIPT]), () => ({ stdout: `${++pid}\n` })),
      rule('bg start logged', argvMatch(['busybox', 'sh', '-c', BG_LOG_SCRIPT]), () => ({ stdout: `${++pid}\n` })),
      rule('kill', argvMatch(['busybox', 'sh', '-c', KILL_SCRIPT]), {}),
      rule('server log', argvMatch(['busybox', 'tail', '-n', '5', SOCKPERF_SERVER_LOG]), { stdout: serverLog }),
      rule('rm log', argvMatch(['rm', '-f', SOCKPERF_SERVER_LOG]), {}),
    ],
  });
}

/** The failures a run recorded per metric (ctx.recordExtra('metricFailures', ...)). */
function captureFailures(ctx: { recordExtra?: (name: string, data: unknown) => void }): MetricFailure[] {
  const out: MetricFailure[] = [];
  ctx.recordExtra = (name, data) => {
    if (name === 'metricFailures') out.push(data as MetricFailure);
  };
  return out;
}

function peerRules(
  opts: {
    refusedFirst?: number;
    forward?: string;
    reverse?: string;
    tcpRr?: { file: string; code: number };
    udpRr?: string;
  } = {},
): FakeRule[] {
  return [
    rule('iperf3 reverse', argvMatch(['iperf3', '-c'], ['-R']), fromFixture(opts.reverse ?? 'iperf3/reverse.json')),
    rule('iperf3 forward', argvMatch(['iperf3', '-c'], [], ['-R']), (_a, nth) =>
      nth < (opts.refusedFirst ?? 0)
        ? fromFixture('iperf3/refused.json')
        : fromFixture(opts.forward ?? 'iperf3/forward.json'),
    ),
    rule(
      'sockperf tcp',
      argvMatch(['sockperf', 'ping-pong', '--tcp']),
      opts.tcpRr
        ? fromFixture(opts.tcpRr.file, 'stdout', opts.tcpRr.code)
        : fromFixture('sockperf/ping-pong-tcp-full-rtt.txt'),
    ),
    rule(
      'sockperf udp',
      argvMatch(['sockperf', 'ping-pong'], [], ['--tcp']),
      fromFixture(opts.udpRr ?? 'sockperf/ping-pong-udp-full-rtt.txt'),
    ),
  ];
}

describe('network params', () => {
  it('applies defaults', () => {
    expect(defaults).toEqual({
      seconds: 3,
      omitSeconds: 1,
      parallelStreams: 1,
      latencySeconds: 3,
      messageBytes: 64,
      iperfPort: 5201,
      sockperfPort: 11111,
    });
  });
  it('rejects unknown keys and bad types', () => {
    expect(networkParams.safeParse({ udp: true }).success).toBe(false);
    expect(networkParams.safeParse({ seconds: 'three' }).success).toBe(false);
    expect(networkParams.safeParse({ messageBytes: 4 }).success).toBe(false);
    // iperf3 measures at least 2 s (after its omitted ramp-up): a 1 s figure is mostly slow start.
    expect(networkParams.safeParse({ seconds: 1 }).success).toBe(false);
  });
});

describe('network run', () => {
  it('starts bounded servers in the instance, runs clients from the peer both ways, kills each server', async () => {
    const inst = netInstance(ADDR);
    const f = makeFakeContext<NetworkParams>({
      params: defaults,
      instance: inst,
      peerRules: peerRules({ refusedFirst: 2 }),
    });
    const values = await networkWorkload.run(f.ctx);

    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['tcp-to-instance-gbps', 11.720370012480975],
      ['tcp-from-instance-gbps', 11.435913750846222],
      ['rr-rtt-avg-us', 37.406],
      ['rr-rtt-p50-us', 22.913],
      ['rr-rtt-p99-us', 176.104],
      ['rr-rtt-p999-us', 2484.214],
      ['udp-rr-rtt-avg-us', 58.61],
      ['udp-rr-rtt-p50-us', 13.355],
      ['udp-rr-rtt-p99-us', 1100.738],
      ['udp-rr-rtt-p999-us', 7639.362],
    ]);

    const show = (a: string[]): string =>
      a[3] === BG_SCRIPT
        ? `bg ${a.slice(5).join(' ')}`
        : a[3] === BG_LOG_SCRIPT
          ? `bg ${a[5]} ${a.slice(7).join(' ')} >${a[6]}`
          : `kill ${a.slice(5).join(' ')}`;
    const steps = f.log
      .filter((e) => e.argv[3] !== ENV_SCRIPT)
      .map((e) => `${e.side}:${e.argv[0] === 'busybox' ? show(e.argv) : e.argv.join(' ')}`);
    expect(steps).toEqual([
      `instance:bg 64 iperf3 -s -1 -B ${ADDR} -p 5201`,
      // The first two connects were refused (server not listening yet): retried.
      `peer:iperf3 -c ${ADDR} -p 5201 -t 3 -O 1 -P 1 --connect-timeout 3000 -J`,
      `peer:iperf3 -c ${ADDR} -p 5201 -t 3 -O 1 -P 1 --connect-timeout 3000 -J`,
      `peer:iperf3 -c ${ADDR} -p 5201 -t 3 -O 1 -P 1 --connect-timeout 3000 -J`,
      'instance:kill 4001 iperf3',
      `instance:bg 64 iperf3 -s -1 -B ${ADDR} -p 5202`,
      `peer:iperf3 -c ${ADDR} -p 5202 -t 3 -O 1 -P 1 --connect-timeout 3000 -J -R`,
      'instance:kill 4002 iperf3',
      `instance:bg 63 sockperf server --tcp -i ${ADDR} -p 11111 >${SOCKPERF_SERVER_LOG}`,
      `peer:sockperf ping-pong --tcp --full-rtt -i ${ADDR} -p 11111 -t 3 -m 64`,
      'instance:kill 4003 sockperf',
      `instance:rm -f ${SOCKPERF_SERVER_LOG}`,
      `instance:bg 63 sockperf server -i ${ADDR} -p 11112 >${SOCKPERF_SERVER_LOG}`,
      `peer:sockperf ping-pong --full-rtt -i ${ADDR} -p 11112 -t 3 -m 64`,
      'instance:kill 4004 sockperf',
      `instance:rm -f ${SOCKPERF_SERVER_LOG}`,
    ]);
    // Clients are allowed to fail (success is judged from their output) and are time-bounded.
    for (const e of f.log.filter((x) => x.side === 'peer')) {
      expect(e.allowFailure).toBe(true);
      expect(e.timeoutMs).toBeGreaterThan(3000);
    }
  });

  it('records an iperf3 error in the JSON (exit code 0) against its metric, naming the raw log, kills the server, keeps the other metrics', async () => {
    const inst = netInstance(ADDR);
    const f = makeFakeContext<NetworkParams>({
      params: defaults,
      instance: inst,
      peerRules: peerRules({ forward: 'iperf3/server-killed.json' }),
    });
    const failures = captureFailures(f.ctx);
    const values = await networkWorkload.run(f.ctx);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.metrics).toEqual(['tcp-to-instance-gbps']);
    expect(failures[0]!.error).toMatch(
      /^iperf3: test failed: unable to write to stream socket: Connection reset by peer \[raw log: raw\/\d+-network-iperf3-to-instance\.log\]$/,
    );
    expect(inst.calls.find((c) => c[3] === KILL_SCRIPT)?.slice(5)).toEqual(['4001', 'iperf3']);
    expect(values.map((v) => v.metric)).not.toContain('tcp-to-instance-gbps');
    expect(values.map((v) => v.metric)).toEqual(
      expect.arrayContaining(['tcp-from-instance-gbps', 'rr-rtt-p50-us', 'udp-rr-rtt-p50-us']),
    );
  });

  it('gives up after bounded retries when the server never listens (that metric only)', async () => {
    const f = makeFakeContext<NetworkParams>({
      params: defaults,
      instance: netInstance(ADDR),
      peerRules: peerRules({ refusedFirst: 1000 }),
    });
    const failures = captureFailures(f.ctx);
    const out = await settleWithFakeClock(() => networkWorkload.run(f.ctx));
    expect(out.status, String((out as PromiseRejectedResult).reason)).toBe('fulfilled');
    expect(failures.map((x) => x.metrics)).toEqual([['tcp-to-instance-gbps']]);
    expect(failures[0]!.error).toMatch(/^iperf3: test failed: unable to connect to server: Connection refused/);
    expect(f.log.filter((e) => e.side === 'peer' && e.argv[0] === 'iperf3' && !e.argv.includes('-R')).length).toBe(25);
  });

  it('sockperf TCP reset by a sandbox: the failure carries the server log (gVisor EAFNOSUPPORT), the UDP and iperf3 figures stand', async () => {
    const inst = netInstance(ADDR, fixtureText('sockperf/server-tcp-runsc-eafnosupport.txt'));
    const f = makeFakeContext<NetworkParams>({
      params: defaults,
      instance: inst,
      peerRules: peerRules({ tcpRr: { file: 'sockperf/tcp-forcibly-closed-runsc.txt', code: 7 } }),
    });
    const failures = captureFailures(f.ctx);
    const values = await networkWorkload.run(f.ctx);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.metrics).toEqual(['rr-rtt-avg-us', 'rr-rtt-p50-us', 'rr-rtt-p99-us', 'rr-rtt-p999-us']);
    expect(failures[0]!.error).toMatch(
      /^sockperf: .*; server: .*sendto\(\) Failed .*errno=97 Address family not supported by protocol.* \(client exit 7\)$/,
    );
    expect(failures[0]!.rawLog).toMatch(/^raw\/\d+-network-sockperf\.log$/);
    expect(values.map((v) => v.metric)).toEqual([
      'tcp-to-instance-gbps',
      'tcp-from-instance-gbps',
      'udp-rr-rtt-avg-us',
      'udp-rr-rtt-p50-us',
      'udp-rr-rtt-p99-us',
      'udp-rr-rtt-p999-us',
    ]);
  });

  it('fails the repetition only when every probe failed', async () => {
    const f = makeFakeContext<NetworkParams>({
      params: defaults,
      instance: netInstance(ADDR),
      peerRules: peerRules({
        forward: 'iperf3/server-killed.json',
        reverse: 'iperf3/server-killed.json',
        tcpRr: { file: 'sockperf/refused-tcp.txt', code: 1 },
        udpRr: 'sockperf/refused-tcp.txt',
      }),
    });
    const failures = captureFailures(f.ctx);
    const out = await settleWithFakeClock(() => networkWorkload.run(f.ctx));
    expect(out.status).toBe('rejected');
    expect(String((out as PromiseRejectedResult).reason)).toMatch(/every network probe failed: iperf3: test failed/);
    expect(failures).toHaveLength(4);
  });

  it('refuses addresses outside 198.18.0.0/15 and instances without one', async () => {
    for (const addr of ['10.0.0.2', '198.20.0.1', '8.8.8.8', undefined]) {
      const inst = netInstance(addr);
      const f = makeFakeContext<NetworkParams>({ params: defaults, instance: inst, peerRules: peerRules() });
      await expect(networkWorkload.run(f.ctx)).rejects.toThrow(addr ? /outside 198\.18\.0\.0\/15/ : /no bench address/);
      expect(inst.calls).toEqual([]);
      expect(f.log).toEqual([]);
    }
  });

  it('needs the bench network', async () => {
    const f = makeFakeContext<NetworkParams>({ params: defaults, instance: netInstance(ADDR), net: false });
    await expect(networkWorkload.run(f.ctx)).rejects.toThrow(/no bench network/);
  });
});
