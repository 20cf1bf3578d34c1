/**
 * Where isobench keeps what it builds (workload images, the guest kernel and
 * initramfs): /var/cache/isobench, or $ISOBENCH_CACHE. A module of its own so
 * the guest builder and doctor can name it without the rootfs builder.
 */

/** The cache root (ISOBENCH_CACHE overrides it, for tests). */
export function cacheDir(): string {
  return process.env.ISOBENCH_CACHE ?? '/var/cache/isobench';
}
