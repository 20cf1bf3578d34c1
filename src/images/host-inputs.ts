/**
 * What the workload image is made of, found on the host: the workload binaries
 * and busybox, and every shared library they load (ldd), as chains of symlinks
 * to the real files, each at its canonical place in the tree.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IsobenchError } from '../errors.js';
import { run } from '../util/proc.js';
import { BUILDER_VERSION, type HostItem } from './rootfs-tree.js';
import { workloadDeclarations } from '../core/declarations.js';

/** Workload binaries copied from the host, by name (searched in this order). */
export const WORKLOAD_BINARIES = ['sysbench', 'fio', 'iperf3', 'stress-ng', 'sockperf', 'qemu-ga'] as const;

/** The common binaries, then every program a workload declares it runs inside the instance (its declaration). */
export function imageBinaries(): string[] {
  const declared = workloadDeclarations().flatMap((d) =>
    (d.tools ?? []).filter((t) => t.where === 'instance').map((t) => t.name),
  );
  return [...new Set<string>([...WORKLOAD_BINARIES, ...declared])];
}
const SEARCH_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin'];
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** Parse `ldd` output into the absolute paths it names (loader included, vdso skipped). */
export function parseLdd(output: string, binary = '?'): string[] {
  const out: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line || /^statically linked|not a dynamic executable/.test(line)) continue;
    if (line.includes('=> not found'))
      throw new IsobenchError('MISSING_DEPENDENCY', `${binary}: shared library ${line.split(/\s/)[0]} not found (ldd)`);
    const arrow = /=>\s+(\/\S+)/.exec(line);
    if (arrow?.[1]) {
      out.push(arrow[1]);
      continue;
    }
    const direct = /^(\/\S+)\s+\(/.exec(line);
    if (direct?.[1]) out.push(direct[1]);
  }
  return out;
}

export async function findBinary(name: string): Promise<string> {
  for (const d of SEARCH_DIRS) {
    const p = path.join(d, name);
    try {
      const st = await fs.stat(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {
      /* try next */
    }
  }
  throw new IsobenchError(
    'MISSING_DEPENDENCY',
    `workload binary ${name} not found in ${SEARCH_DIRS.join(', ')}; install it (see scripts/setup.sh)`,
  );
}

export async function findBusybox(): Promise<string> {
  for (const p of BUSYBOX_CANDIDATES) {
    try {
      await fs.access(p);
      const r = await run(['ldd', p], { timeoutMs: 10_000 });
      if (/not a dynamic executable|statically linked/.test(r.stdout + r.stderr)) return p;
    } catch {
      /* next */
    }
  }
  throw new IsobenchError(
    'MISSING_DEPENDENCY',
    'a static busybox was not found (/bin/busybox): apt-get install busybox-static',
  );
}

export async function resolveChain(hostPath: string, seen: Map<string, HostItem>): Promise<void> {
  let cur = hostPath;
  for (let hops = 0; hops < 40; hops++) {
    const dir = await fs.realpath(path.dirname(cur));
    const p = path.join(dir, path.basename(cur));
    if (seen.has(p)) return;
    const st = await fs.lstat(p);
    if (st.isSymbolicLink()) {
      const target = await fs.readlink(p);
      seen.set(p, { treePath: p, kind: 'symlink', target, stat: st });
      cur = path.resolve(dir, target);
      continue;
    }
    if (!st.isFile()) throw new Error(`${p} is not a regular file`);
    seen.set(p, { treePath: p, kind: 'file', source: p, stat: st });
    return;
  }
  throw new Error(`symlink loop at ${hostPath}`);
}

export interface Inputs {
  busybox: string;
  binaries: Record<string, string>;
  items: HostItem[];
  key: string;
}

export async function collectInputs(): Promise<Inputs> {
  const busybox = await findBusybox();
  const binaries: Record<string, string> = {};
  const seen = new Map<string, HostItem>();
  for (const name of imageBinaries()) {
    const bin = await findBinary(name);
    binaries[name] = bin;
    await resolveChain(bin, seen);
    const r = await run(['ldd', bin], { timeoutMs: 20_000 });
    if (r.code !== 0 && !/not a dynamic executable/.test(r.stdout + r.stderr))
      throw new IsobenchError('RUN_FAILED', `ldd ${bin} failed: ${r.stderr.trim()}`);
    for (const lib of parseLdd(r.stdout, bin)) await resolveChain(lib, seen);
  }
  const bbStat = await fs.stat(busybox);
  const items = [...seen.values()].sort((a, b) => (a.treePath < b.treePath ? -1 : 1));
  const h = createHash('sha256').update(`${BUILDER_VERSION}\n`);
  h.update(`busybox\t${busybox}\t${bbStat.size}\t${bbStat.mtimeMs}\t${bbStat.ino}\n`);
  for (const [n, p] of Object.entries(binaries)) h.update(`bin\t${n}\t${p}\n`);
  for (const it of items)
    h.update(
      `${it.treePath}\t${it.kind}\t${it.target ?? ''}\t` +
        `${it.stat.size}\t${it.stat.mtimeMs}\t${it.stat.ino}\t${it.stat.mode}\n`,
    );
  return { busybox, binaries, items, key: h.digest('hex').slice(0, 32) };
}
