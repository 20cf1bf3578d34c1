import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalTreePath, ext4SizeMiB, formatManifest, hashTree, parseLdd } from '../../../src/images/rootfs.js';

const dirs: string[] = [];
async function tree(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'rootfs-manifest-test-'));
  dirs.push(d);
  await fs.mkdir(path.join(d, 'usr/bin'), { recursive: true });
  await fs.writeFile(path.join(d, 'usr/bin/tool'), 'binary v1');
  await fs.chmod(path.join(d, 'usr/bin/tool'), 0o755);
  await fs.symlink('usr/bin', path.join(d, 'bin'));
  await fs.symlink('/usr/bin/tool', path.join(d, 'usr/bin/alias'));
  await fs.mkdir(path.join(d, 'tmp'));
  await fs.chmod(path.join(d, 'tmp'), 0o1777);
  return d;
}

afterEach(async () => {
  for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
});

describe('rootfs manifest', () => {
  it('is sorted, covers files/dirs/symlinks, and hashes the same twice', async () => {
    const d = await tree();
    const a = await hashTree(d);
    const b = await hashTree(d);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    const lines = a.manifest.trim().split('\n');
    expect(lines.map((l) => l.split('\t')[0])).toEqual([
      'bin',
      'tmp',
      'usr',
      'usr/bin',
      'usr/bin/alias',
      'usr/bin/tool',
    ]);
    expect(lines).toContain('bin\tsymlink\t->\tusr/bin');
    expect(lines).toContain('tmp\tdir\t1777');
    expect(lines.find((l) => l.startsWith('usr/bin/tool'))).toMatch(/^usr\/bin\/tool\tfile\t0755\t[0-9a-f]{64}\t9$/);
    expect(a.treeBytes).toBe(9);
  });

  it('does not depend on mtimes or creation order', async () => {
    const d = await tree();
    const before = await hashTree(d);
    await fs.utimes(path.join(d, 'usr/bin/tool'), new Date(0), new Date(0));
    expect((await hashTree(d)).hash).toBe(before.hash);
    expect(formatManifest([...before.entries].reverse())).toBe(before.manifest);
  });

  it('changes when a file, a mode or a link target changes', async () => {
    const d = await tree();
    const h0 = (await hashTree(d)).hash;
    await fs.writeFile(path.join(d, 'usr/bin/tool'), 'binary v2');
    const h1 = (await hashTree(d)).hash;
    expect(h1).not.toBe(h0);
    await fs.chmod(path.join(d, 'usr/bin/tool'), 0o700);
    const h2 = (await hashTree(d)).hash;
    expect(h2).not.toBe(h1);
    await fs.rm(path.join(d, 'usr/bin/alias'));
    await fs.symlink('/usr/bin/other', path.join(d, 'usr/bin/alias'));
    expect((await hashTree(d)).hash).not.toBe(h2);
  });
});

describe('image helpers', () => {
  it('parses ldd output (loader included, vdso skipped) and fails on missing libraries', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffc)',
      '\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f)',
    ].join('\n');
    expect(parseLdd(out)).toEqual(['/lib/x86_64-linux-gnu/libm.so.6', '/lib64/ld-linux-x86-64.so.2']);
    expect(parseLdd('\tnot a dynamic executable')).toEqual([]);
    expect(() => parseLdd('\tlibfoo.so.1 => not found', '/usr/bin/x')).toThrow(/libfoo/);
  });

  it('maps merged-/usr paths into the tree', () => {
    expect(canonicalTreePath('bin/sh')).toBe('usr/bin/sh');
    expect(canonicalTreePath('/sbin/ip')).toBe('usr/sbin/ip');
    expect(canonicalTreePath('/lib64/ld-linux-x86-64.so.2')).toBe('usr/lib64/ld-linux-x86-64.so.2');
    expect(canonicalTreePath('usr/bin/awk')).toBe('usr/bin/awk');
    expect(canonicalTreePath('binx/y')).toBe('binx/y');
  });

  it('sizes the ext4 image with a margin', () => {
    expect(ext4SizeMiB(100 * 2 ** 20)).toBeGreaterThanOrEqual(189);
    expect(ext4SizeMiB(0) % 4).toBe(0);
  });
});
