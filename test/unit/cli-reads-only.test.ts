/**
 * Commands that only read (scenarios validate) do not probe the host's capabilities: the probe's live tc
 * check creates a network namespace, which a command that checks a YAML file has no business doing.
 */
import { describe, expect, it, vi } from 'vitest';
import { cli } from '../helpers/cli.js';

vi.mock('../../src/host/capabilities.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/host/capabilities.js')>();
  return {
    ...real,
    probeCapabilities: () => {
      throw new Error('probeCapabilities called by a command that only reads');
    },
  };
});

describe('read-only commands', () => {
  it('scenarios validate checks the shipped scenarios without a capability probe', async () => {
    const r = await cli(['scenarios', 'validate', 'scenarios/quick.yaml', 'scenarios/full.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/quick\.yaml: ok/);
  });
});
