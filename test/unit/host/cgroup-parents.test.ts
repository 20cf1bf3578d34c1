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
import { CgroupHandle, removeEmptyParents, type CgroupLayout } from '../../../src/host/cgroup.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ib-cgparents-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('removeEmptyParents', () => {
  it('removes empty isobench parents in every hierarchy and the v2 root, keeps ones with children', async () => {
    for (const h of ['cpu', 'memory', 'devices']) mkdirSync(path.join(root, h, 'isobench'), { recursive: true });
    mkdirSync(path.join(root, 'isobench'), { recursive: true });
    mkdirSync(path.join(root, 'pids', 'isobench', 'abc123-n-0'), { recursive: true });
    mkdirSync(path.join(root, 'freezer', 'other'), { recursive: true });
    const removed = await removeEmptyParents(root);
    expect(removed.sort()).toEqual(
      [
        path.join(root, 'cpu', 'isobench'),
        path.join(root, 'devices', 'isobench'),
        path.join(root, 'isobench'),
        path.join(root, 'memory', 'isobench'),
      ].sort(),
    );
    expect(existsSync(path.join(root, 'pids', 'isobench', 'abc123-n-0'))).toBe(true);
    expect(existsSync(path.join(root, 'freezer', 'other'))).toBe(true);
    expect(await removeEmptyParents(root)).toEqual([]);
  });
});

describe('CgroupHandle.destroy', () => {
  it('the last instance out removes the isobench parents; one still in use keeps them', async () => {
    const fake = mkdtempSync(path.join(os.tmpdir(), 'ib-cgdestroy-'));
    try {
      const layout: CgroupLayout = {
        version: 1,
        hybrid: true,
        mounts: { cpu: path.join(fake, 'cpu'), memory: path.join(fake, 'memory'), pids: path.join(fake, 'pids') },
      };
      for (const h of ['cpu', 'memory', 'pids', 'devices']) mkdirSync(path.join(fake, h), { recursive: true });
      // The OCI runtime's own hierarchy (devices) holds an empty parent of its own.
      mkdirSync(path.join(fake, 'devices', 'isobench'));
      const a = new CgroupHandle(layout, 'isobench/aaa-n-0');
      const b = new CgroupHandle(layout, 'isobench/bbb-n-0');
      await a.create();
      await b.create();
      await a.destroy();
      // b (another run's instance) is alive: its parents stay, with it inside.
      for (const h of ['cpu', 'memory', 'pids'])
        expect(existsSync(path.join(fake, h, 'isobench', 'bbb-n-0'))).toBe(true);
      expect(existsSync(path.join(fake, 'cpu', 'isobench', 'aaa-n-0'))).toBe(false);
      await b.destroy();
      for (const h of ['cpu', 'memory', 'pids', 'devices'])
        expect(existsSync(path.join(fake, h, 'isobench'))).toBe(false);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
