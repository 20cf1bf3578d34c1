/**
 * The environment check: what, besides the binaries, shapes the work a tool
 * does, read inside the instance through Instance.exec with the same argv on
 * every backend (busybox from the shared rootfs, or the identical host binary
 * natively). Recorded once per workload and backend (the workload's setup,
 * before its first measured probe; with that repetition's number) in the cell's
 * `extra.environment`, so a reader can see what differed between backends
 * rather than assume it did not:
 *  - the mount count (stress-ng `get` statfs'd every mount: its cost per op grew
 *    with it, which made a container look 2x faster than the host);
 *  - /etc (file count and a hash of names + contents);
 *  - the transparent-huge-page mode (2 MiB vs 4 KiB pages change the
 *    random-access figure);
 *  - seccomp mode and filter count, no_new_privs;
 *  - the CPUs the process may run on (its affinity) and its cgroups.
 * The check never fails a workload: a check that cannot run is recorded as such.
 */
import { parseEnvironment, type InstanceEnvironment } from './parsers/environment.js';
import { ParseError, type WorkloadContext } from './types.js';

/**
 * Fixed script; nothing from input is spliced into it. No pipelines: gVisor
 * (runsc, ptrace platform, 20221219) was seen to lose its sandbox on a
 * multi-stage pipeline of short-lived processes here, so intermediate results
 * go through a temp file in /tmp (a tmpfs on every backend) instead.
 */
export const ENV_SCRIPT = [
  'b=busybox; t=/tmp/isobench-env.$$',
  'echo "mounts=$($b wc -l < /proc/self/mountinfo)"',
  'cd /etc 2>/dev/null && $b find . -type f > $t.l 2>/dev/null; $b sort $t.l > $t.s',
  'echo "etc-files=$($b wc -l < $t.s)"',
  '$b xargs $b sha256sum < $t.s > $t.h 2>/dev/null',
  `echo "etc-sha256=$($b sha256sum < $t.h)"`,
  'echo "thp=$($b cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unavailable)"',
  `$b grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs|Cpus_allowed_list):' /proc/self/status > $t.p; ` +
    `$b sed 's/:[[:space:]]*/=/' $t.p`,
  `$b sed 's/^/cgroup=/' /proc/self/cgroup`,
  '$b rm -f $t.l $t.s $t.h $t.p',
].join('\n');

export function environmentArgv(): string[] {
  return ['busybox', 'sh', '-c', ENV_SCRIPT, 'isobench-env'];
}

export type EnvironmentRecord = (InstanceEnvironment & { rawLog: string }) | { error: string; rawLog?: string };

/** Run the check in ctx.instance and keep it as extra `environment`; returns what was recorded. */
export async function recordEnvironment(ctx: WorkloadContext<unknown>, workload: string): Promise<EnvironmentRecord> {
  let rec: EnvironmentRecord;
  try {
    const r = await ctx.exec(ctx.instance, environmentArgv(), {
      tag: `${workload}-environment`,
      timeoutMs: Math.max(ctx.timeoutMs, 60_000),
      allowFailure: true,
    });
    try {
      rec = { ...parseEnvironment(r.stdout), rawLog: r.rawLog };
    } catch (e) {
      rec = { error: `${e instanceof ParseError ? e.message : String(e)} (exit ${r.code})`, rawLog: r.rawLog };
    }
  } catch (e) {
    rec = { error: e instanceof Error ? e.message : String(e) };
  }
  ctx.recordExtra?.('environment', rec);
  return rec;
}
