/**
 * A run killed outright (SIGKILL) leaves the idle instances it froze frozen;
 * `doctor --cleanup` removes their cgroups with CgroupHandle.destroy, whose
 * kill stays pending on a frozen task until the cgroup is thawed. Real
 * cgroups and a real process: destroy must thaw, kill and remove.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { promises as fs } from 'node:fs';
import { CgroupHandle, detectCgroupLayout } from '../../src/host/cgroup.js';
import { Freezer } from '../../src/runner/placement.js';

describe('CgroupHandle.destroy on a frozen cgroup', () => {
  it('thaws it, so its tasks die and the cgroup goes', async () => {
    const layout = await detectCgroupLayout();
    const cg = new CgroupHandle(layout, `isobench/frozentest-${process.pid}`);
    await cg.create();
    const child = execa('sleep', ['600'], { reject: false });
    try {
      for (const f of cg.procsFiles()) await fs.writeFile(f, String(child.pid));
      const freezer = new Freezer();
      await freezer.freeze(cg);
      expect(freezer.isFrozen(cg)).toBe(true);
      const t0 = Date.now();
      await cg.destroy();
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await cg.exists()).toBe(false);
      const r = await child;
      expect(r.signal).toBe('SIGKILL');
    } finally {
      child.kill('SIGKILL');
      await cg.destroy().catch(() => undefined);
    }
  }, 30_000);
});
