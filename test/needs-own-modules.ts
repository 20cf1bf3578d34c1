/**
 * Unit files that need a module graph of their own. The unit tier shares modules between the files a worker runs
 * (vitest.config.ts, isolate: false); these run in `unit-isolated` instead. A unit file that mocks a module
 * (vi.mock, vi.doMock) or sets process.env before it imports src/ belongs here: test/unit/tiers.test.ts fails
 * for one that is not listed.
 */
export const NEEDS_OWN_MODULES = [
  // vi.mock of host/capabilities.js: a module another file loaded first would keep the real probe.
  'test/unit/cli-reads-only.test.ts',
  // sets ISOBENCH_STATE_ROOT for itself and removes that directory when it ends.
  'test/unit/core/state.test.ts',
];

/** What makes a file need its own modules: a module mock, or an environment variable set at its top level. */
export function needsOwnModules(source: string): string | undefined {
  if (/\bvi\.(mock|doMock|unmock|resetModules)\(/.test(source)) return 'mocks or resets modules';
  if (/^process\.env\.[A-Z_]+\s*=/m.test(source)) return 'sets the environment when it loads';
  return undefined;
}
