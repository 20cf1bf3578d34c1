import { describe, expect, it } from 'vitest';
import { ENV_SCRIPT } from '../../../src/workloads/environment.js';
import { BG_SCRIPT, KILL_SCRIPT, networkParams, networkWorkload, type NetworkParams } from '../../../src/workloads/network.js';
import { ParseError } from '../../../src/workloads/types.js';
import { FakeInstance, argvMatch, fromFixture, makeFakeContext, rule, type FakeRule } from '../../helpers/fake-instance.js';

const defaults = networkParams.parse({});
const ADDR = '198.18.0.3';

/** The instance side: background starts answer with a pid; kills succeed. */
function netInstance(address: string | undefined): FakeInstance {
  let pid = 4000;
  return new FakeInstance({
    address,
    rules: [
      rule('bg start', argvMatch(['busybox', 'sh', '-c', BG_SCRIPT]), () => ({ stdout: `${++pid}\n` })),
      rule('kill', argvMatch(['busybox', 'sh', '-c', KILL_SCRIPT]), {}),
    ],
  });
}

function peerRules(opts: { refusedFirst?: number; forward?: string } = {}): FakeRule[] {
  return [
    rule('iperf3 reverse', argvMatch(['iperf3', '-c'], ['-R']), fromFixture('iperf3/reverse.json')),
    rule('iperf3 forward', argvMatch(['iperf3', '-c'], [], ['-R']), (_a, nth) => (nth < (opts.refusedFirst ?? 0) ? fromFixture('iperf3/refused.json') : fromFixture(opts.forward ?? 'iperf3/forward.json'))),
    rule('sockperf', argvMatch(['sockperf', 'ping-pong']), fromFixture('sockperf/ping-pong-tcp-full-rtt.txt')),
  ];
}

describe('network params', () => {
  it('applies defaults', () => {
    expect(defaults).toEqual({ seconds: 3, parallelStreams: 1, latencySeconds: 3, messageBytes: 64, iperfPort: 5201, sockperfPort: 11111 });
  });
  it('rejects unknown keys and bad types', () => {
    expect(networkParams.safeParse({ udp: true }).success).toBe(false);
    expect(networkParams.safeParse({ seconds: 'three' }).success).toBe(false);
    expect(networkParams.safeParse({ messageBytes: 4 }).success).toBe(false);
  });
});

describe('network run', () => {
  it('starts bounded servers in the instance, runs clients from the peer both ways, kills each server', async () => {
    const inst = netInstance(ADDR);
    const f = makeFakeContext<NetworkParams>({ params: defaults, instance: inst, peerRules: peerRules({ refusedFirst: 2 }) });
    const values = await networkWorkload.run(f.ctx);

    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['tcp-to-instance-gbps', 11.720370012480976],
      ['tcp-from-instance-gbps', 11.435913750846222],
      ['rr-rtt-avg-us', 37.406],
      ['rr-rtt-p50-us', 22.913],
      ['rr-rtt-p99-us', 176.104],
      ['rr-rtt-p999-us', 2484.214],
    ]);

    const steps = f.log.filter((e) => e.argv[3] !== ENV_SCRIPT).map((e) => `${e.side}:${e.argv[0] === 'busybox' ? (e.argv[3] === BG_SCRIPT ? `bg ${e.argv.slice(5).join(' ')}` : `kill ${e.argv.slice(5).join(' ')}`) : e.argv.join(' ')}`);
    expect(steps).toEqual([
      `instance:bg 63 iperf3 -s -1 -B ${ADDR} -p 5201`,
      // The first two connects were refused (server not listening yet): retried.
      `peer:iperf3 -c ${ADDR} -p 5201 -t 3 -P 1 --connect-timeout 3000 -J`,
      `peer:iperf3 -c ${ADDR} -p 5201 -t 3 -P 1 --connect-timeout 3000 -J`,
      `peer:iperf3 -c ${ADDR} -p 5201 -t 3 -P 1 --connect-timeout 3000 -J`,
      'instance:kill 4001 iperf3',
      `instance:bg 63 iperf3 -s -1 -B ${ADDR} -p 5202`,
      `peer:iperf3 -c ${ADDR} -p 5202 -t 3 -P 1 --connect-timeout 3000 -J -R`,
      'instance:kill 4002 iperf3',
      `instance:bg 63 sockperf server --tcp -i ${ADDR} -p 11111`,
      `peer:sockperf ping-pong --tcp --full-rtt -i ${ADDR} -p 11111 -t 3 -m 64`,
      'instance:kill 4003 sockperf',
    ]);
    // Clients are allowed to fail (success is judged from their output) and are time-bounded.
    for (const e of f.log.filter((x) => x.side === 'peer')) {
      expect(e.allowFailure).toBe(true);
      expect(e.timeoutMs).toBeGreaterThan(3000);
    }
  });

  it('fails on an iperf3 error in the JSON (exit code 0), naming the raw log, and still kills the server', async () => {
    const inst = netInstance(ADDR);
    const f = makeFakeContext<NetworkParams>({ params: defaults, instance: inst, peerRules: peerRules({ forward: 'iperf3/server-killed.json' }) });
    const err = await networkWorkload.run(f.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as Error).message).toMatch(/^iperf3: test failed: unable to write to stream socket: Connection reset by peer \[raw log: raw\/\d+-network-iperf3-to-instance\.log\]$/);
    expect(inst.calls.at(-1)?.slice(5)).toEqual(['4001', 'iperf3']);
  });

  it('gives up after bounded retries when the server never listens', async () => {
    const f = makeFakeContext<NetworkParams>({ params: defaults, instance: netInstance(ADDR), peerRules: peerRules({ refusedFirst: 1000 }) });
    await expect(networkWorkload.run(f.ctx)).rejects.toThrow(/^iperf3: test failed: unable to connect to server: Connection refused/);
    expect(f.log.filter((e) => e.side === 'peer').length).toBe(25);
  }, 20_000);

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
