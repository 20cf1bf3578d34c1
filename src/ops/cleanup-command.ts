/**
 * `isobench doctor --cleanup [--run <id>]`: remove what runs whose owner
 * process is gone left behind, put back the host settings they changed
 * (KSM, cgroup v2 root controllers) from their state files, and rmdir the
 * `isobench` cgroup parents that are empty. A live run's resources are
 * listed as kept and never touched; the parent cgroup is never destroyed
 * (that would SIGKILL every live run's processes).
 */
import { createHash } from 'node:crypto';
import { hostBasics } from '../host/facts.js';
import { removeEmptyParents } from '../host/cgroup.js';
import { stateRoot } from '../core/state.js';
import { removeLeftovers, restoreDeadRunSettings, scanLeftovers } from './leftovers.js';
import { IsobenchError } from '../errors.js';

export interface CleanupReport {
  removed: string[];
  failed: string[];
  kept: string[];
}

/** A run id, or the 6-hex short id its resources carry. */
function shortIdFor(ref: string): string {
  if (/^[0-9a-f]{6}$/.test(ref)) return ref;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(ref))
    throw new IsobenchError('BAD_ARGS', `--run "${ref.slice(0, 60)}": not a run id`);
  return createHash('sha256').update(ref).digest('hex').slice(0, 6);
}

export async function cleanupLeftovers(run?: string): Promise<CleanupReport> {
  const host = await hostBasics();
  const only = run !== undefined ? shortIdFor(run) : undefined;
  const scan = await scanLeftovers(host.cgroup, only ? { only } : {});
  // Host settings first: they are what the next run would mistake for the host's own.
  const settings = await restoreDeadRunSettings(scan.deadRuns);
  const failedRuns = new Set(
    scan.deadRuns
      .filter((r) => [...settings.failed, ...settings.waiting].some((f) => f.includes(`run ${r.runId}:`)))
      .map((r) => r.shortId),
  );
  // A dead run whose settings could not be restored keeps its state file, so a later cleanup retries.
  const items = scan.leftovers.filter((l) => ![...failedRuns].some((id) => l.name === `${stateRoot()}/${id}`));
  const { removed, failed } = await removeLeftovers(items);
  const parents = await removeEmptyParents();
  return {
    removed: [...settings.restored, ...removed, ...parents.map((p) => `cgroup parent ${p} (empty)`)],
    failed: [...settings.failed, ...failed],
    kept: [
      ...scan.kept.map((k) => `${k.kind} ${k.name}: owned by ${k.owner}`),
      ...settings.waiting.map((w) => `host setting of ${w}`),
    ],
  };
}
