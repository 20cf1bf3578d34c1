/**
 * Import first (before anything under src/): the run lock and state of runs made in this test file live in a
 * private directory, not in /run/isobench (core/state.ts reads ISOBENCH_STATE_ROOT when it loads).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEST_STATE_ROOT = mkdtempSync(path.join(os.tmpdir(), 'ib-state-'));
process.env.ISOBENCH_STATE_ROOT = TEST_STATE_ROOT;
