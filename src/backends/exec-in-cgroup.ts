/**
 * Start a host process already inside a cgroup (and optionally a network
 * namespace) with no window where it runs outside: a tiny sh wrapper writes its
 * own pid to the cgroup's procs files, then execs the real argv. All values are
 * passed as positional arguments ("$@"), never interpolated into the script.
 */
import { netnsPath } from '../net/bench.js';
import type { CgroupHandle } from '../host/cgroup.js';

const WRAPPER = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

export function argvInCgroup(cgroup: CgroupHandle | undefined, argv: readonly string[], netns?: string): string[] {
  const inner = cgroup ? ['sh', '-c', WRAPPER, 'isobench-cgexec', ...cgroup.procsFiles(), '--', ...argv] : [...argv];
  return netns ? ['nsenter', `--net=${netnsPath(netns)}`, '--', ...inner] : inner;
}
