/**
 * Three tiers (vitest projects), run in this order (groupOrder), never at the same time:
 *  - unit: pure code, fake trees and the fake provider; files in parallel.
 *  - integration: real native, runc, runsc and podman, network namespaces; one file at a time.
 *  - slow: QEMU boots, dockerd, Ansible over SSH, Chromium, the real-backend fault cases; one file at a time.
 * `npm test` runs unit and integration (after typecheck and lint); `npm run test:all` every tier (CI).
 */
import { defineConfig } from 'vitest/config';

/** Integration files that boot QEMU, start dockerd, drive Ansible over SSH or open Chromium. */
export const SLOW = [
  'doctor', // doctor --vm boots a guest
  'docker',
  'fault-matrix',
  'faults-backends',
  'fleet-ansible',
  'isolation-vm',
  'report-html',
  'vm',
];
const slowFiles = SLOW.map((f) => `test/{integration,slow}/**/${f}.test.ts`);

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
          maxWorkers: 2,
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: slowFiles,
          // Real instances on a 2-core machine: one file at a time.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'slow',
          include: slowFiles,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
