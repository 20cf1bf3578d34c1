/**
 * The run lock and state of runs made in a test file live in a private directory, not in /run/isobench
 * (core/state.ts reads ISOBENCH_STATE_ROOT at each use). The unit tier shares modules between the files of a
 * worker (isolate: false), so this runs once per worker: every file of that worker that imports it gets the
 * same directory, which each may remove when it ends (the state code makes it again on its next use).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEST_STATE_ROOT = mkdtempSync(path.join(os.tmpdir(), 'ib-state-'));
process.env.ISOBENCH_STATE_ROOT = TEST_STATE_ROOT;
