/**
 * The one workload image (STUB: interface only; the images issue implements it).
 */
export interface WorkloadImage {
  /** Directory holding the rootfs (read-only for containers). */
  rootfsDir: string;
  /** ext4 image of the same rootfs, for the VM (mke2fs -d, no mounting). */
  ext4Path: string;
  /** sha256 over the manifest (sorted path + mode + sha256 of each file). */
  hash: string;
  manifestPath: string;
}

export function cacheDir(): string {
  return process.env.ISOBENCH_CACHE ?? '/var/cache/isobench';
}
