/**
 * The unit tier shares modules between a worker's files (vitest.config.ts): a file that mocks a module or sets
 * the environment before importing src/ would see, or leave, another file's modules. Such a file must be listed in
 * test/needs-own-modules.ts (it then runs in unit-isolated); a listed file must still exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEEDS_OWN_MODULES, needsOwnModules } from '../needs-own-modules.js';

const ROOT = path.resolve(__dirname, '../..');

function unitFiles(dir = path.join(ROOT, 'test/unit')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? unitFiles(path.join(dir, e.name))
      : e.name.endsWith('.test.ts')
        ? [path.relative(ROOT, path.join(dir, e.name))]
        : [],
  );
}

describe('unit files that need their own modules', () => {
  it('the rule sees a mock and a top-level environment change, not a spread of process.env', () => {
    expect(needsOwnModules("vi.mock('../../src/x.js', () => ({}));")).toBe('mocks or resets modules');
    expect(needsOwnModules("process.env.ISOBENCH_STATE_ROOT = '/tmp/x';")).toBe('sets the environment when it loads');
    expect(needsOwnModules('const env = { ...process.env, A: "1" };')).toBeUndefined();
  });

  it('are listed in test/needs-own-modules.ts, and every listed file exists', () => {
    const unlisted = unitFiles()
      .map((f) => [f, needsOwnModules(readFileSync(path.join(ROOT, f), 'utf8'))] as const)
      .filter(([f, why]) => why && !NEEDS_OWN_MODULES.includes(f) && f !== 'test/unit/tiers.test.ts')
      .map(([f, why]) => `${f} (${why})`);
    expect(unlisted).toEqual([]);
    for (const f of NEEDS_OWN_MODULES) expect(existsSync(path.join(ROOT, f)), f).toBe(true);
  });
});
