/** container:podman on the real podman (Debian's, over runc, cgroupfs): never skipped. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineBackend } from '../../src/backends/engine.js';
import { PodmanDriver } from '../../src/backends/podman.js';
import { engineSuite } from '../helpers/engine-suite.js';
import { makeTestContext } from '../helpers/context.js';

describe('podman engine backend', () => {
  engineSuite({ engine: 'podman', helper: /^conmon$/, driver: () => new PodmanDriver(), daemon: false });
  it('is installed by scripts/setup.sh (not skipped when missing)', () => {
    expect(existsSync('/usr/bin/podman')).toBe(true);
  });
  it('where podman cannot run, prepare says why (the run skips its cells with that reason)', async () => {
    const t = await makeTestContext();
    const path = process.env.PATH;
    try {
      // No podman on this PATH: the same refusal a host without the package gets.
      process.env.PATH = '/nonexistent';
      await expect(new EngineBackend(t.ctx, new PodmanDriver()).prepare()).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        message: expect.stringMatching(/podman is not installed.*apt-get install podman/),
      });
    } finally {
      process.env.PATH = path;
      await t.dispose();
    }
  });
});
