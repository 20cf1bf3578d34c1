/**
 * Exec helpers the isolation workloads share (they need a WorkloadContext, so they
 * are not pure): bounded background processes inside an instance, iperf3 clients
 * that retry while the server comes up, tc inside the bench namespace, and the
 * instance's cgroup as a hard requirement.
 */
import type { Instance } from '../backends/types.js';
import type { CgroupHandle } from '../host/cgroup.js';
import { sleep } from '../util/proc.js';
import { timeoutFor } from './common.js';
import { backgroundArgv, killArgv } from './network.js';
import { iperf3Error } from './parsers/iperf3.js';
import type { WorkloadContext } from './types.js';

/** Start argv in the background inside an instance, bounded by a KILL timeout; returns its pid. */
export async function startBackground(
  ctx: WorkloadContext<unknown>,
  inst: Instance,
  lifetimeS: number,
  argv: string[],
  tag: string,
): Promise<number> {
  const r = await ctx.exec(inst, backgroundArgv(lifetimeS, argv), { tag, timeoutMs: 30_000 });
  const pid = Number(r.stdout.trim().split('\n').pop());
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(
      `${argv[0]} did not start in the background in ${inst.name} (output: ${JSON.stringify(r.stdout.slice(0, 200))})`,
    );
  return pid;
}

/** Kill a background process by pid if it still is `comm` (never throws). */
export async function stopBackground(
  ctx: WorkloadContext<unknown>,
  inst: Instance,
  pid: number,
  comm: string,
  tag: string,
): Promise<void> {
  await ctx.exec(inst, killArgv(pid, comm), { tag, timeoutMs: 30_000, allowFailure: true }).catch(() => undefined);
}

export function iperfClientArgv(addr: string, port: number, seconds: number): string[] {
  return ['iperf3', '-c', addr, '-p', String(port), '-t', String(seconds), '--connect-timeout', '3000', '-J'];
}

/** iperf3 client in the bench namespace, retried while the server is not listening yet. */
export async function iperfClient(
  ctx: WorkloadContext<unknown>,
  addr: string,
  port: number,
  seconds: number,
  tag: string,
) {
  const argv = iperfClientArgv(addr, port, seconds);
  for (let attempt = 1; ; attempt++) {
    const r = await ctx.execPeer(argv, {
      tag: attempt === 1 ? tag : `${tag}-retry${attempt}`,
      timeoutMs: timeoutFor(ctx, seconds + 10),
      allowFailure: true,
    });
    let refused = false;
    try {
      refused = /unable to connect|connection refused/i.test(iperf3Error(r.stdout) ?? '');
    } catch {
      refused = false;
    }
    if (refused && attempt < 25) {
      await sleep(200, ctx.signal);
      continue;
    }
    return r;
  }
}

/** Run tc (or any argv) inside the bench namespace; throws with tc's message on failure. */
export async function benchTc(ctx: WorkloadContext<unknown>, argv: string[]): Promise<string> {
  if (!ctx.net) throw new Error('this workload needs the bench network, which the run did not create');
  const r = await ctx.net.exec(argv, { timeoutMs: 15_000 });
  if (r.code !== 0 || r.timedOut)
    throw new Error(
      `${argv.join(' ')} (in ${ctx.net.ns}) failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`,
    );
  return r.stdout;
}

export function requireCgroup(inst: Instance, what: string): CgroupHandle {
  if (!inst.cgroup)
    throw new Error(`${what}: instance ${inst.name} has no host cgroup to set weights, caps or read usage from`);
  return inst.cgroup;
}

/** The last CPU of the scenario's set: both instances of a share test run there (CPU 0 stays with the harness). */
export function sharedCpu(cpus: readonly number[]): number {
  const c = cpus[cpus.length - 1];
  if (c === undefined) throw new Error('the instance spec has no CPUs');
  return c;
}
