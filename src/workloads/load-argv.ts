/**
 * The loads the isolation workloads (partition, noisy-neighbor) run inside an
 * instance: a one-thread CPU burn and fio random reads on a file it lays out.
 */

/**
 * One CPU-bound thread in one process (sysbench cpu): a background burn must die with
 * its pid (stress-ng's workers are separate processes that would outlive a kill -9 of
 * their parent).
 */
export function cpuBurnArgv(seconds: number, threads = 1): string[] {
  return ['sysbench', 'cpu', `--threads=${threads}`, `--time=${seconds}`, '--cpu-max-prime=10000', 'run'];
}

export function fioRandreadArgv(file: string, fileMiB: number, seconds: number, name = 'randread'): string[] {
  return [
    'fio',
    `--name=${name}`,
    `--filename=${file}`,
    `--size=${fileMiB}M`,
    '--direct=1',
    '--ioengine=psync',
    '--rw=randread',
    '--bs=4k',
    '--time_based',
    `--runtime=${seconds}`,
    '--output-format=json',
  ];
}

/**
 * Write the whole file with real data (no fallocate, fsync at the end): direct reads
 * of unwritten extents or holes are answered by the filesystem without any block I/O,
 * which neither measures the device nor is seen by I/O throttling.
 */
export function fioLayoutArgv(file: string, fileMiB: number): string[] {
  return [
    'fio',
    '--name=layout',
    `--filename=${file}`,
    `--size=${fileMiB}M`,
    '--rw=write',
    '--bs=1M',
    '--fallocate=none',
    '--end_fsync=1',
    '--output-format=terse',
  ];
}
