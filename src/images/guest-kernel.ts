/**
 * The guest kernel: the Debian cloud kernel scripts/setup.sh unpacked under
 * cacheDir()/kernel (the pointer file `current` names its directory), and its
 * vmlinuz, version and modules directory.
 */
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir } from './cache-dir.js';
import { IsobenchError } from '../errors.js';

export interface GuestKernel {
  /** Unpacked kernel package directory (from cacheDir()/kernel/current). */
  dir: string;
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

/** The kernel setup.sh unpacked, or null when there is none (doctor's and the VM provider's check: no throw). */
export function guestKernelDir(): string | null {
  const pointer = path.join(cacheDir(), 'kernel', 'current');
  if (!existsSync(pointer)) return null;
  const dir = readFileSync(pointer, 'utf8').trim();
  return existsSync(path.join(dir, 'boot')) ? dir : null;
}

/** The kernel setup.sh unpacked (cacheDir()/kernel/current). */
export async function currentKernelDir(): Promise<string> {
  const file = path.join(cacheDir(), 'kernel', 'current');
  try {
    const dir = (await fs.readFile(file, 'utf8')).trim();
    if (dir && existsSync(path.join(dir, 'boot'))) return dir;
  } catch {
    /* fall through */
  }
  throw new IsobenchError('NOT_BUILT', `no guest kernel unpacked (${file} missing or stale)`, {
    details: ['run scripts/setup.sh (as root) to fetch and unpack the Debian cloud kernel'],
  });
}

export async function resolveGuestKernel(kernelDir: string): Promise<GuestKernel> {
  const boot = path.join(kernelDir, 'boot');
  let entries: string[];
  try {
    entries = await fs.readdir(boot);
  } catch {
    throw new IsobenchError('NOT_BUILT', `guest kernel directory ${kernelDir} has no boot/`, {
      details: ['run scripts/setup.sh'],
    });
  }
  const vmlinuz = entries.find((e) => e.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new IsobenchError('NOT_BUILT', `no vmlinuz-* in ${boot}`, { details: ['run scripts/setup.sh'] });
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = path.join(kernelDir, 'lib', 'modules', version);
  return { dir: kernelDir, version, vmlinuz: path.join(boot, vmlinuz), modulesDir };
}
