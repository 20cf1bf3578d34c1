/**
 * removeEmptyParents on a fake /sys/fs/cgroup: an `isobench` parent with no
 * child cgroup goes, one with a child (a live run's) stays. On cgroupfs the
 * kernel also refuses rmdir of a cgroup with children; here the fake tree's
 * plain directories give the same answer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeEmptyParents } from '../../src/host/cgroup.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ib-cgparents-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('removeEmptyParents', () => {
  it('removes empty isobench parents in every hierarchy and the v2 root, keeps ones with children', async () => {
    for (const h of ['cpu', 'memory', 'devices']) mkdirSync(path.join(root, h, 'isobench'), { recursive: true });
    mkdirSync(path.join(root, 'isobench'), { recursive: true });
    mkdirSync(path.join(root, 'pids', 'isobench', 'abc123-n-0'), { recursive: true });
    mkdirSync(path.join(root, 'freezer', 'other'), { recursive: true });
    const removed = await removeEmptyParents(root);
    expect(removed.sort()).toEqual([path.join(root, 'cpu', 'isobench'), path.join(root, 'devices', 'isobench'), path.join(root, 'isobench'), path.join(root, 'memory', 'isobench')].sort());
    expect(existsSync(path.join(root, 'pids', 'isobench', 'abc123-n-0'))).toBe(true);
    expect(existsSync(path.join(root, 'freezer', 'other'))).toBe(true);
    expect(await removeEmptyParents(root)).toEqual([]);
  });
});
