/**
 * What `find /sys/fs/cgroup -name '*isobench*'` would show that nobody uses:
 * an `isobench` parent with no child cgroup left (in any hierarchy, the OCI
 * runtime's own included), and any child cgroup whose name carries the given
 * short id. On a host where only the test runs, both being empty means the find
 * shows nothing; a parent that still has children belongs to another live run
 * (other test files or helpers on a shared host) and is not ours to judge.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

export function cgroupLeftovers(shortId?: string, root = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  const parents = [path.join(root, 'isobench'), ...readdirSync(root).map((h) => path.join(root, h, 'isobench'))];
  for (const p of parents) {
    if (!existsSync(p)) continue;
    let kids: string[];
    try {
      kids = readdirSync(p, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    if (kids.length === 0) out.push(`empty parent ${p}`);
    if (shortId) for (const k of kids) if (k.includes(shortId)) out.push(`cgroup ${path.join(p, k)}`);
  }
  return out;
}
