/**
 * Three tiers (vitest projects), run in this order (groupOrder), never at the same time:
 *  - unit (test/unit, mirroring src/): pure code, fake cgroup trees and the fake provider; files in parallel
 *    (one more at a time than the CPUs).
 *  - integration (test/integration): real native, runc, runsc and podman, network namespaces; one file at a
 *    time.
 *  - slow (test/slow): QEMU boots, dockerd, Ansible over SSH, Chromium, the real-backend fault matrix; one
 *    file at a time.
 * `npm test` runs unit and integration (after typecheck and lint); `npm run test:all` every tier (CI).
 *
 * The unit tier shares modules between the files a worker runs (isolate: false): importing src/ once per worker
 * instead of once per file takes it from about 48 s to 33 s here. That is safe for code that keeps no state of its
 * own between calls and reads nothing from the environment when it loads (src/ is written so). A unit file that
 * needs a fresh module graph (vi.mock of a src module, environment set before importing src) is listed in
 * test/needs-own-modules.ts and runs in `unit-isolated`, beside `unit`.
 */
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { NEEDS_OWN_MODULES } from './test/needs-own-modules.js';

/** Unit workers: one more than the CPUs (see the unit project). */
const UNIT_WORKERS = availableParallelism() + 1;

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
          exclude: NEEDS_OWN_MODULES,
          fileParallelism: true,
          isolate: false,
          // One more than the CPUs (3 on 2 cores): some unit files mostly wait (retry sleeps, subprocesses such
          // as ansible-playbook) and the extra worker fills those gaps (65 s with 2 workers, 56 s with 3 here).
          maxWorkers: UNIT_WORKERS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'unit-isolated',
          include: NEEDS_OWN_MODULES,
          maxWorkers: UNIT_WORKERS, // one pool with unit (vitest runs a group's projects together)
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
