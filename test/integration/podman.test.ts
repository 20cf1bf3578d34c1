/** container:podman on the real podman (Debian's, over runc, cgroupfs): never skipped. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PodmanDriver } from '../../src/backends/podman.js';
import { engineSuite } from '../helpers/engine-suite.js';

describe('podman engine backend', () => {
  engineSuite({ engine: 'podman', helper: /^conmon$/, driver: () => new PodmanDriver(), daemon: false });
  it('is installed by scripts/setup.sh (not skipped when missing)', () => {
    expect(existsSync('/usr/bin/podman')).toBe(true);
  });
});
