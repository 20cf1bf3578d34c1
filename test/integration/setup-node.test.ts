/**
 * scripts/setup.sh on a host whose Node is too old (Debian 12 ships 18): it checks
 * the version before anything else and installs a supported Node from the npm
 * registry (node-linux-<arch>), or, when it cannot, stops with one line that names
 * the fix. A fake `node` first on the PATH reports v18 (and runs as the real one
 * otherwise, as an old node runs npm); the install goes to a temporary prefix.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SETUP = path.join(import.meta.dirname, '..', '..', 'scripts', 'setup.sh');
let dir = '';

function fakeNode18(bin: string): void {
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, 'node'),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo v18.19.0; exit 0; fi\nexec ${process.execPath} "$@"\n`,
  );
  chmodSync(path.join(bin, 'node'), 0o755);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'isobench-setup-node-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('setup.sh with Node 18 first on the PATH', () => {
  it('installs Node 20 from the npm registry into its prefix and says the old one still comes first', async () => {
    const fake = path.join(dir, 'fake');
    fakeNode18(fake);
    const env = {
      PATH: `${fake}:${process.env.PATH}`,
      ISOBENCH_SETUP_STEPS: 'node',
      ISOBENCH_NODE_PREFIX: path.join(dir, 'prefix'),
      ISOBENCH_NODE_LINK_DIR: path.join(dir, 'link'),
    };
    const r = await execa('bash', [SETUP], { env, reject: false, timeout: 300_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Node v18\.19\.0 at .*fake\/node is older than 20: installing Node 20\.\d+\.\d+/);
    expect(r.stdout).toMatch(/note: on your PATH .*fake\/node \(Node v18\.19\.0\) still comes first/);
    const v = await execa(path.join(dir, 'link', 'node'), ['--version']);
    expect(v.stdout).toMatch(/^v20\./);
    // A second run with the new Node first is a no-op for this step.
    const again = await execa('bash', [SETUP], {
      env: { ...env, PATH: `${path.join(dir, 'link')}:${process.env.PATH}` },
      reject: false,
    });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/\[setup\] Node v20\.\d+\.\d+ at .*link\/node\n/);
  }, 300_000);

  it('without npm (and told not to use apt) it stops with one line naming the fix, exit 2', async () => {
    const bin = path.join(dir, 'bare');
    fakeNode18(bin);
    // Only what setup.sh needs before the Node step: no npm anywhere on this PATH.
    for (const tool of ['id', 'dirname', 'uname']) symlinkSync(path.join('/usr/bin', tool), path.join(bin, tool));
    const r = await execa('/bin/bash', [SETUP], {
      env: {
        PATH: bin,
        ISOBENCH_SETUP_STEPS: 'node',
        ISOBENCH_NODE_NO_APT: '1',
        ISOBENCH_NODE_PREFIX: path.join(dir, 'p2'),
      },
      reject: false,
    });
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^setup\.sh: no npm to install Node 20\.\d+\.\d+ with: install Node >= 20 yourself .*and rerun$/,
    );
  });
});
