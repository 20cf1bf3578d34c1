/**
 * Parser of the environment check's output (src/workloads/environment.ts): one
 * `key=value` line per fact, `cgroup=` repeated once per /proc/self/cgroup line.
 */
import { ParseError } from './common.js';

export interface InstanceEnvironment {
  /** Lines of /proc/self/mountinfo: work that walks the mount table scales with it. */
  mounts: number;
  /** Regular files under /etc and a hash of their names and contents (what resolvers, locales, nsswitch read). */
  etcFiles: number;
  etcSha256: string;
  /** The bracketed mode of /sys/kernel/mm/transparent_hugepage/enabled, or "unavailable". */
  thp: string;
  /** /proc/self/status Seccomp: 0 off, 1 strict, 2 filter. */
  seccomp: number | null;
  seccompFilters: number | null;
  noNewPrivs: number | null;
  /** CPUs the checking process may run on (its affinity: the placement the workload got). */
  cpusAllowed: string | null;
  /** /proc/self/cgroup lines: where the processes are accounted. */
  cgroup: string[];
}

const TOOL = 'environment-check';

function intOrNull(v: string | undefined): number | null {
  if (v === undefined || !/^\d+$/.test(v)) return null;
  return Number(v);
}

export function parseEnvironment(text: string): InstanceEnvironment {
  const kv = new Map<string, string>();
  const cgroup: string[] = [];
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    if (k === 'cgroup') cgroup.push(v);
    else if (!kv.has(k)) kv.set(k, v);
  }
  const mounts = intOrNull(kv.get('mounts'));
  if (mounts === null) throw new ParseError(TOOL, 'mounts= line missing (truncated output or the check did not run)');
  const etcFiles = intOrNull(kv.get('etc-files'));
  // `sha256sum < file` prints "<hash>  -".
  const etcSha256 = (kv.get('etc-sha256') ?? '').split(/\s+/)[0] ?? '';
  if (etcFiles === null || !/^[0-9a-f]{64}$/.test(etcSha256))
    throw new ParseError(TOOL, 'etc-files= or etc-sha256= line missing or malformed');
  const thpRaw = kv.get('thp');
  if (thpRaw === undefined) throw new ParseError(TOOL, 'thp= line missing');
  const thp = /\[([a-z]+)\]/.exec(thpRaw)?.[1] ?? (thpRaw || 'unavailable');
  return {
    mounts,
    etcFiles,
    etcSha256,
    thp,
    seccomp: intOrNull(kv.get('Seccomp')),
    seccompFilters: intOrNull(kv.get('Seccomp_filters')),
    noNewPrivs: intOrNull(kv.get('NoNewPrivs')),
    cpusAllowed: kv.get('Cpus_allowed_list') ?? null,
    cgroup,
  };
}
