import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKsmSettled, Ksm, waitKsmSettled, withKsmOn } from '../../../src/host/ksm.js';

let root: string;
const read = (f: string): string => readFileSync(path.join(root, f), 'utf8').trim();
const write = (f: string, v: string | number): void => writeFileSync(path.join(root, f), String(v));

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'isobench-ksm-'));
  write('run', 0);
  write('pages_sharing', 0);
  write('pages_shared', 0);
  write('pages_to_scan', 100);
  write('full_scans', 7);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('KSM control on a fake sysfs', () => {
  it('turns KSM on for the measurement and restores run and pages_to_scan', async () => {
    const ksm = new Ksm(root);
    expect(await ksm.available()).toBe(true);
    const r = await withKsmOn(ksm, { pagesToScan: 2000 }, async (before) => {
      expect(before.run).toBe(0);
      expect(read('run')).toBe('1');
      expect(read('pages_to_scan')).toBe('2000');
      return 42;
    });
    expect(r.result).toBe(42);
    expect(read('run')).toBe('0');
    expect(read('pages_to_scan')).toBe('100');
    expect(r.restored).toEqual({ run: 0, pagesToScan: 100 });
  });

  it('restores the host setting when the measurement throws, and keeps a host that had KSM on, on', async () => {
    const ksm = new Ksm(root);
    await expect(withKsmOn(ksm, { pagesToScan: 5000 }, async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(read('run')).toBe('0');
    expect(read('pages_to_scan')).toBe('100');
    write('run', 1);
    await withKsmOn(ksm, {}, async () => undefined);
    expect(read('run')).toBe('1');
  });

  it('a missing KSM is reported, not written', async () => {
    expect(await new Ksm(path.join(root, 'nope')).available()).toBe(false);
  });

  it('settled: two full scans and stable pages_sharing', () => {
    expect(isKsmSettled([100, 5000, 9000], 5)).toBe(false);
    expect(isKsmSettled([9000, 9010, 9020], 1)).toBe(false);
    expect(isKsmSettled([9000, 9010, 9020], 2)).toBe(true);
    expect(isKsmSettled([0, 0, 0], 2)).toBe(true);
    expect(isKsmSettled([0, 0], 2)).toBe(false);
    // Idle ksmd (nothing mergeable): pages_scanned does not move.
    expect(isKsmSettled([0, 0, 0], 0, { scannedHistory: [5, 5, 5, 5] })).toBe(true);
    expect(isKsmSettled([0, 0, 0], 0, { scannedHistory: [5, 9, 12, 15] })).toBe(false);
    expect(isKsmSettled([0, 0, 0], 0, { scannedHistory: [5, 5, 5] })).toBe(false);
  });

  it('settles at once when ksmd has nothing to scan', async () => {
    write('pages_scanned', 0);
    const w = await waitKsmSettled(new Ksm(root), { timeoutMs: 5000, pollMs: 10 });
    expect(w.settled).toBe(true);
    expect(w.waitedMs).toBeLessThan(1000);
  });

  it('waits until settled, bounded in time', async () => {
    const ksm = new Ksm(root);
    let i = 0;
    const timer = setInterval(() => {
      i++;
      write('full_scans', 7 + i);
      write('pages_sharing', Math.min(3000, i * 1000));
    }, 20);
    try {
      const w = await waitKsmSettled(ksm, { timeoutMs: 5000, pollMs: 25 });
      expect(w.settled).toBe(true);
      expect(w.state.pagesSharing).toBe(3000);
    } finally {
      clearInterval(timer);
    }
    const never = await waitKsmSettled(ksm, { timeoutMs: 100, pollMs: 20 });
    expect(never.settled).toBe(false);
  });
});
