/**
 * The content manifest of a tree and its hash: a sorted list of (path, type,
 * mode, sha256 of the file or the symlink's target); its sha256 is the image's
 * content hash that names the image and goes into every result.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

// Manifest (pure, unit-tested)

export type ManifestEntry =
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'file'; mode: number; sha256: string; size: number }
  | { path: string; type: 'symlink'; target: string };

/** One line per entry, sorted by path (byte order), paths relative to the rootfs root. */
export function formatManifest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map((e) => {
    switch (e.type) {
      case 'dir':
        return `${e.path}\tdir\t${octal(e.mode)}`;
      case 'file':
        return `${e.path}\tfile\t${octal(e.mode)}\t${e.sha256}\t${e.size}`;
      case 'symlink':
        return `${e.path}\tsymlink\t->\t${e.target}`;
    }
  });
  return lines.join('\n') + '\n';
}

export function manifestHash(manifestText: string): string {
  return createHash('sha256').update(manifestText).digest('hex');
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Walk a tree and describe every entry (the root itself excluded). */
export async function scanTree(root: string): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const abs = path.join(root, rel);
    const entries = await fs.readdir(abs, { withFileTypes: true });
    for (const d of entries) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const a = path.join(root, r);
      const st = await fs.lstat(a);
      if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', target: await fs.readlink(a) });
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: st.mode });
        await walk(r);
      } else if (st.isFile())
        out.push({ path: r, type: 'file', mode: st.mode, sha256: await sha256File(a), size: st.size });
      else throw new Error(`unexpected file type in rootfs: ${a}`);
    }
  }
  await walk('');
  return out;
}

/** Content hash of a tree: returns the manifest text and its sha256. */
export async function hashTree(
  root: string,
): Promise<{ manifest: string; hash: string; treeBytes: number; entries: ManifestEntry[] }> {
  const entries = await scanTree(root);
  const manifest = formatManifest(entries);
  const treeBytes = entries.reduce((s, e) => s + (e.type === 'file' ? e.size : 0), 0);
  return { manifest, hash: manifestHash(manifest), treeBytes, entries };
}
