/**
 * Changing a host setting (a sysfs or cgroupfs file that outlives the run:
 * KSM's run and pages_to_scan, the cgroup v2 root's subtree_control) goes
 * through here. While a run is live its guard saves the original value to the
 * run's state file (fsynced) before the write and registers the restore in the
 * run's cleanup registry, so the value comes back on success, failure, every
 * signal, a forced exit, and through `doctor --cleanup` after a SIGKILL.
 * Without a run (unit tests on fake trees, one-off commands) the change is
 * undone by the returned function only.
 */
import { promises as fs } from 'node:fs';
import type { CleanupRegistry } from '../core/cleanup.js';
import { deadRunOriginal, restoreHostSetting, type HostSettingRecord, type RunState } from '../core/state.js';

export interface HostSettingGuard {
  /** Write `value` to `file`, the original saved first; returns the restore (idempotent). */
  change(file: string, value: string): Promise<() => Promise<void>>;
  /** Enable cgroup v2 controllers in a subtree_control file, remembering which ones were added. */
  enableControllers(file: string, controllers: string[]): Promise<void>;
}

let active: HostSettingGuard | undefined;

export function setHostSettingGuard(g: HostSettingGuard | undefined): void {
  active = g;
}

export function hostSettingGuard(): HostSettingGuard | undefined {
  return active;
}

async function readTrim(file: string): Promise<string> {
  return (await fs.readFile(file, 'utf8')).trim();
}

/** Change a setting through the active guard, or directly (restore returned) when no run is live. */
export async function changeHostSetting(file: string, value: string): Promise<() => Promise<void>> {
  if (active) return active.change(file, value);
  const original = await readTrim(file);
  await fs.writeFile(file, value);
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    await fs.writeFile(file, original);
  };
}

export function makeHostSettingGuard(state: RunState, cleanup: CleanupRegistry): HostSettingGuard {
  const restoreFor =
    (file: string): (() => Promise<void>) =>
    async () => {
      const rec = state.hostSettings().find((h) => h.file === file);
      if (!rec) return; // already restored by an earlier release of the same file
      const err = await restoreHostSetting(rec);
      if (err) throw new Error(`could not restore ${err}`);
      await state.forgetHostSetting(file);
    };
  return {
    async change(file, value) {
      // A dead run may have left its value here: the host's own is in its state file.
      const original = (await deadRunOriginal(file)) ?? (await readTrim(file));
      await state.recordHostSetting({ file, kind: 'value', original });
      const release = cleanup.add(`host setting ${file} (back to ${original})`, restoreFor(file));
      await fs.writeFile(file, value);
      return release;
    },
    async enableControllers(file, controllers) {
      const original = await readTrim(file).catch(() => '');
      const have = original.split(/\s+/).filter(Boolean);
      const added = controllers.filter((c) => !have.includes(c));
      if (added.length > 0) {
        const rec: HostSettingRecord = { file, kind: 'controllers', original, added };
        await state.recordHostSetting(rec);
        cleanup.add(`host setting ${file} (disable ${added.join(' ')})`, restoreFor(file));
      }
      await fs.writeFile(file, controllers.map((c) => `+${c}`).join(' '));
    },
  };
}
