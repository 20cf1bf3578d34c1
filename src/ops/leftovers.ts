/**
 * Finding and removing what crashed runs left behind. Ownership, not names:
 * every run keeps a state file under /run/isobench/<short-id>/ (see
 * core/state.ts) and every resource it creates carries its short id
 * (namespaces isobench-<id>-*, cgroups isobench/<id>-*, QEMU -name
 * isobench-<id>-*, temp and socket folders isobench-<id>-* and
 * isobench-vm-<id>-*, runtime roots /run/isobench/<id>/<runtime>). A resource
 * whose run has a live owner is never touched; one whose owner is dead (or
 * that names no run at all) is a leftover. The `isobench` cgroup parent is
 * only ever rmdir'ed when empty, so it cannot take a live run's children down.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/proc.js';
import { listNetns, deleteNetns, NETNS_PREFIX } from '../net/bench.js';
import { allProviders } from '../backends/providers/index.js';
import { CgroupHandle, CGROUP_PARENT, type CgroupLayout } from '../host/cgroup.js';
import type { Leftover } from '../host/ownership.js';
import { stateRoot } from '../core/state.js';
import {
  TAKEOVER_PREFIX,
  listStates,
  liveHeldSettings,
  nameHasShortId,
  restoreHostSetting,
  type RunStateData,
} from '../core/state.js';

export { type Leftover, OWNER_FILE } from '../host/ownership.js';

export interface LeftoverScan {
  /** Resources of dead (or unknown) owners, in removal order. */
  leftovers: Leftover[];
  /** Resources left alone because their run's owner is alive. */
  kept: Array<{ kind: Leftover['kind']; name: string; owner: string }>;
  /** State of runs whose owner is dead: their host settings to restore and their state to drop. */
  deadRuns: RunStateData[];
}

export interface ScanOptions {
  /** Only resources of this run (short id); used by a resume and by `doctor --cleanup --run`. */
  only?: string;
  /** Treat `only` as dead even though the caller owns it now: the caller holds its lock and has created nothing yet. */
  ownLock?: boolean;
}

export async function scanLeftovers(layout: CgroupLayout, opts: ScanOptions = {}): Promise<LeftoverScan> {
  const out: Leftover[] = [];
  // What each backend provider leaves behind (containers, QEMU and engine processes) before the generic
  // resources those hold (cgroups, namespaces, mounts, directories).
  for (const p of allProviders()) if (p.leftovers) out.push(...(await p.leftovers()));
  for (const ns of await listNetns())
    if (ns.startsWith(NETNS_PREFIX)) out.push({ kind: 'netns', name: ns, remove: () => deleteNetns(ns) });
  const parent = new CgroupHandle(layout, CGROUP_PARENT);
  for (const dir of parent.dirs()) {
    let kids: string[] = [];
    try {
      kids = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const k of kids) {
      const name = `${CGROUP_PARENT}/${k}`;
      if (!out.some((o) => o.kind === 'cgroup' && o.name === name))
        out.push({ kind: 'cgroup', name, remove: () => new CgroupHandle(layout, name).destroy() });
    }
  }
  const mounts = await fs.readFile('/proc/self/mounts', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const mp = line.split(' ')[1];
    if (mp && /\/isobench-[^/]*/.test(mp) && mp.startsWith(os.tmpdir()))
      out.push({ kind: 'mount', name: mp, remove: async () => void (await run(['umount', '-l', mp])) });
  }
  // Loop devices whose backing file lies in an isobench temp folder (scratch images,
  // the partition's own bfq device): after a SIGKILL the mount goes above, the device here.
  const loops = await run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { timeoutMs: 10_000 });
  for (const line of loops.stdout.split('\n')) {
    const [dev, back] = line.trim().split(/\s+/, 2);
    if (dev && back && /\/isobench-[^/]*/.test(back))
      out.push({
        kind: 'loop',
        name: `${dev} (${back})`,
        remove: async () => void (await run(['losetup', '--detach', dev], { timeoutMs: 30_000 })),
      });
  }
  const root = stateRoot();
  for (const id of await fs.readdir(root).catch(() => [] as string[])) {
    const dir = path.join(root, id);
    // A takeover mutex is held for milliseconds: only one a dead claimant left (older than 10 s) is a leftover.
    if (
      id.startsWith(TAKEOVER_PREFIX) &&
      Date.now() - ((await fs.stat(dir).catch(() => undefined))?.mtimeMs ?? 0) < 10_000
    )
      continue;
    out.push({ kind: 'tempdir', name: dir, remove: () => fs.rm(dir, { recursive: true, force: true }) });
  }
  for (const d of await fs.readdir(os.tmpdir()).catch(() => [] as string[]))
    if (d.startsWith('isobench-'))
      out.push({
        kind: 'tempdir',
        name: path.join(os.tmpdir(), d),
        remove: () => fs.rm(path.join(os.tmpdir(), d), { recursive: true, force: true }),
      });
  // Mounts before directories, processes before cgroups; a run's state directory goes last.
  const order = ['container', 'process', 'mount', 'loop', 'netns', 'cgroup', 'tempdir'];
  const states = await listStates();
  const liveIds = states.filter((s) => s.alive && !(opts.ownLock && s.shortId === opts.only)).map((s) => s.shortId);
  const ownerOf = (o: Leftover): string | undefined => liveIds.find((id) => nameHasShortId(o.name, id));
  const leftovers: Leftover[] = [];
  const kept: LeftoverScan['kept'] = [];
  for (const o of out) {
    if (opts.only && !nameHasShortId(o.name, opts.only)) continue;
    const owner = ownerOf(o);
    if (owner) {
      const st = states.find((s) => s.shortId === owner)?.state;
      kept.push({ kind: o.kind, name: o.name, owner: `run ${st?.runId ?? owner} (pid ${st?.owner.pid ?? '?'})` });
    } else leftovers.push(o);
  }
  const isStateDir = (o: Leftover): boolean => o.name.startsWith(`${stateRoot()}/`);
  leftovers.sort(
    (a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || Number(isStateDir(a)) - Number(isStateDir(b)),
  );
  const deadRuns = states
    .filter((s) => !liveIds.includes(s.shortId) && s.state && (!opts.only || s.shortId === opts.only))
    .map((s) => s.state as RunStateData);
  return { leftovers, kept, deadRuns };
}

/** Leftovers of dead or unknown owners (what `doctor --cleanup` removes). */
export async function findLeftovers(layout: CgroupLayout, opts: ScanOptions = {}): Promise<Leftover[]> {
  return (await scanLeftovers(layout, opts)).leftovers;
}

/**
 * Put back the host settings dead runs changed (KSM, cgroup v2 root
 * controllers). A file a live run also holds is left to that run (it took the
 * dead run's original as its own and restores it); the dead run's record
 * stays for a later cleanup, reported in `waiting`.
 */
export async function restoreDeadRunSettings(
  deadRuns: RunStateData[],
): Promise<{ restored: string[]; failed: string[]; waiting: string[] }> {
  const restored: string[] = [];
  const failed: string[] = [];
  const waiting: string[] = [];
  const held = await liveHeldSettings();
  for (const r of deadRuns)
    for (const h of r.hostSettings) {
      if (held.has(h.file)) {
        waiting.push(`run ${r.runId}: ${h.file} (a live run holds it and restores the host's value)`);
        continue;
      }
      const err = await restoreHostSetting(h);
      if (err) failed.push(`host setting of run ${r.runId}: ${err}`);
      else {
        const how = h.kind === 'value' ? `back to ${h.original}` : `controllers ${(h.added ?? []).join(' ')} disabled`;
        restored.push(`host setting ${h.file} ${how} (run ${r.runId})`);
      }
    }
  return { restored, failed, waiting };
}

export async function removeLeftovers(items: Leftover[]): Promise<{ removed: string[]; failed: string[] }> {
  const removed: string[] = [];
  const failed: string[] = [];
  for (const item of items) {
    try {
      await item.remove();
      removed.push(`${item.kind} ${item.name}`);
    } catch (e) {
      failed.push(`${item.kind} ${item.name}: ${(e as Error).message}`);
    }
  }
  return { removed, failed };
}
