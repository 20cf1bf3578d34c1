/**
 * Start a host process already inside a cgroup (and optionally a network
 * namespace) with no window where it runs outside: a tiny sh wrapper writes its
 * own pid to the cgroup's procs files, then execs the real argv. All values are
 * passed as positional arguments ("$@"), never interpolated into the script.
 * Used for native workloads and for QEMU.
 */
import { netnsPath } from '../net/bench.js';
import type { CgroupHandle } from '../host/cgroup.js';

const WRAPPER =
  'while [ "$#" -gt 0 ]; do f=$1; shift; [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; done; exec "$@"';

/** argv that joins the given cgroup.procs files, then execs `inner` (pure). */
export function cgroupWrappedArgv(procsFiles: readonly string[], inner: readonly string[]): string[] {
  for (const f of procsFiles) if (f === '--') throw new Error('bad cgroup procs file');
  return ['sh', '-c', WRAPPER, 'isobench-cgroup-wrap', ...procsFiles, '--', ...inner];
}

export function argvInCgroup(cgroup: CgroupHandle | undefined, argv: readonly string[], netns?: string): string[] {
  const inner = cgroup ? cgroupWrappedArgv(cgroup.procsFiles(), argv) : [...argv];
  return netns ? ['nsenter', `--net=${netnsPath(netns)}`, '--', ...inner] : inner;
}
