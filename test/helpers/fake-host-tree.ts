/**
 * A throwaway directory standing for a host's root (sysfs, procfs and cgroup files written by the test), made
 * per test and removed after each: the fake trees the capability model and doctor are tested on.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

export function fakeHostTree(): { make(prefix: string): string; file(rel: string, text?: string): void } {
  let root = '';
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = '';
  });
  return {
    make(prefix) {
      root = mkdtempSync(path.join(os.tmpdir(), prefix));
      return root;
    },
    file(rel, text = '') {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    },
  };
}
