/**
 * container:docker on a real dockerd (Debian's docker.io): the driver uses a running daemon or starts its own
 * (private data-root and exec-root, no bridge, no iptables) and stops it at cleanup. Never skipped.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { DockerDriver, DOCKER_CLIENT, dockerExecRoot } from '../../src/backends/docker.js';
import { run } from '../../src/util/proc.js';
import { engineSuite } from '../helpers/engine-suite.js';

describe('docker engine backend', () => {
  const s = engineSuite({
    engine: 'docker',
    helper: /^containerd-shim/,
    driver: () => new DockerDriver(),
    daemon: true,
    // The daemon the driver started (none ran here) is stopped with everything it ran, its state removed.
    afterDispose: async (shortId) => {
      const root = dockerExecRoot(shortId);
      expect((await run(['pgrep', '-f', root])).stdout.trim()).toBe('');
      expect(existsSync(root)).toBe(false);
      expect((await run(['ip', '-o', 'link', 'show'])).stdout).not.toMatch(/\bdocker0\b/);
    },
  });
  it('uses the client from docker.io, imports the rootfs tagged with its hash, adds no bridge', async () => {
    expect(DOCKER_CLIENT).toBe('/usr/bin/docker');
    const b = s.backend();
    const image = String(b.info().details.image);
    expect(image).toContain(`isobench-rootfs:${b.ctx.image.hash}`);
    const links = await run(['ip', '-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(/\bdocker0\b/);
  });
});
