/**
 * A BackendContext for the VM tests and bench/startup-vm.ts. Uses the workload
 * image from src/images/rootfs.ts (ensureWorkloadImage) when that is
 * implemented; until then a throwaway ext4 with busybox, qemu-ga and iperf3 (and
 * their libraries, found with ldd) built here, cached by content.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackendContext } from '../../src/backends/types.js';
import { CleanupRegistry } from '../../src/runner/cleanup.js';
import { hostFacts } from '../../src/host/facts.js';
import { BenchNet } from '../../src/net/bench.js';
import { cacheDir, type WorkloadImage } from '../../src/images/rootfs.js';
import { runOk } from '../../src/util/proc.js';

const DEV_BINARIES = ['/bin/busybox', '/usr/sbin/qemu-ga', '/usr/bin/iperf3'];

export async function workloadImageForTests(): Promise<WorkloadImage> {
  const mod = (await import('../../src/images/rootfs.js')) as Record<string, unknown>;
  if (typeof mod.ensureWorkloadImage === 'function') return (mod.ensureWorkloadImage as () => Promise<WorkloadImage>)();
  return devWorkloadImage();
}

/** Throwaway dev image (NOT the real workload image): busybox + qemu-ga + iperf3. */
export async function devWorkloadImage(): Promise<WorkloadImage> {
  const files = new Set<string>(DEV_BINARIES);
  for (const b of DEV_BINARIES.slice(1)) {
    for (const m of (await runOk(['ldd', b])).matchAll(/(\/\S+)/g)) if (m[1]) files.add(m[1]);
  }
  const h = createHash('sha256');
  for (const f of [...files].sort()) h.update(`${f} ${(await fs.stat(f)).size} ${(await fs.stat(f)).mtimeMs}\n`);
  const hash = `dev-${h.digest('hex').slice(0, 12)}`;
  const dir = path.join(cacheDir(), 'dev-image', hash);
  const ext4Path = path.join(dir, 'rootfs.ext4');
  const rootfsDir = path.join(dir, 'rootfs');
  const manifestPath = path.join(dir, 'manifest.txt');
  if (!existsSync(path.join(dir, 'complete'))) {
    await fs.rm(dir, { recursive: true, force: true });
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'run', 'scratch']) await fs.mkdir(path.join(rootfsDir, d), { recursive: true });
    for (const f of files) {
      const dest = path.join(rootfsDir, f);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.copyFile(await fs.realpath(f), dest);
      await fs.chmod(dest, 0o755);
    }
    for (const a of (await runOk(['/bin/busybox', '--list'])).split('\n').filter(Boolean)) {
      if (!existsSync(path.join(rootfsDir, 'bin', a))) await fs.symlink('busybox', path.join(rootfsDir, 'bin', a));
    }
    await runOk(['mke2fs', '-q', '-F', '-t', 'ext4', '-d', rootfsDir, '-L', 'isobench-dev', ext4Path, '96M']);
    await fs.writeFile(manifestPath, [...files].sort().join('\n'));
    await fs.writeFile(path.join(dir, 'complete'), '');
  }
  return { rootfsDir, ext4Path, hash, manifestPath };
}

export interface VmTestContext {
  ctx: BackendContext;
  /** Releases everything registered and removes the work directory; returns the cleanup failures. */
  dispose: () => Promise<string[]>;
}

export async function makeVmTestContext(opts: { network?: boolean } = {}): Promise<VmTestContext> {
  const shortId = randomBytes(3).toString('hex');
  const base = await fs.mkdtemp(path.join(os.tmpdir(), `isobench-vmtest-${shortId}-`));
  const cleanup = new CleanupRegistry();
  const host = await hostFacts();
  const image = await workloadImageForTests();
  const net = opts.network ? await BenchNet.create(shortId, cleanup) : undefined;
  const ctx: BackendContext = {
    runId: `test-${shortId}`,
    shortId,
    workDir: path.join(base, 'work'),
    rawDir: path.join(base, 'raw'),
    host,
    cleanup,
    image,
    net,
  };
  await fs.mkdir(ctx.workDir, { recursive: true });
  await fs.mkdir(ctx.rawDir, { recursive: true });
  return {
    ctx,
    dispose: async () => {
      const failures = await cleanup.releaseAll();
      await fs.rm(base, { recursive: true, force: true });
      return failures.map((f) => `${f.label}: ${f.error}`);
    },
  };
}
