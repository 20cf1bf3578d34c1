/**
 * Three tiers (vitest projects), run in this order (groupOrder), never at the same time:
 *  - unit (test/unit, mirroring src/): pure code, fake cgroup trees and the fake provider; files in parallel
 *    (one more at a time than the CPUs).
 *  - integration (test/integration): real native, runc, runsc and podman, network namespaces; one file at a
 *    time.
 *  - slow (test/slow): QEMU boots, dockerd, Ansible over SSH, Chromium, the real-backend fault matrix; one
 *    file at a time.
 * `npm test` runs unit and integration (after typecheck and lint); `npm run test:all` every tier (CI).
 */
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          fileParallelism: true,
          // One more than the CPUs (3 on 2 cores): some unit files mostly wait (retry sleeps, subprocesses such
          // as ansible-playbook) and the extra worker fills those gaps (65 s with 2 workers, 56 s with 3 here).
          maxWorkers: availableParallelism() + 1,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Real instances on a 2-core machine: one file at a time.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'slow',
          include: ['test/slow/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
