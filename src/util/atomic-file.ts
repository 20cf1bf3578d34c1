/**
 * Durable whole-file replacement: write a temp file beside the target, fsync
 * it, rename it over the target, fsync the folder. A reader sees the old
 * content or the new, never a half-written file, and the rename survives a
 * power loss once this resolves. Used for results, reports, fleet files and
 * the per-run state under /run/isobench.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

let tmpCounter = 0;

export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tmpCounter++}.tmp`);
  const fh = await fs.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // The rename itself is durable only once the folder is synced.
  const dir = await fs.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
