/**
 * The payload's own readiness signal, the end point of the one start-up
 * definition (STARTUP_DEFINITION in types.ts): the instance's payload (the
 * container's init, the guest's /init, the native process) writes a marker line
 * on its stdout (a VM: its console) as its first instruction, and the host
 * timestamps the moment it reads that line. No second runtime invocation is
 * involved, so the figure is what a user means by "my process started".
 *
 * For a detached container the payload's stdout outlives the `runc run` that
 * started it, so it cannot be an execa pipe (the child would never reach EOF
 * for execa). It is a FIFO the harness creates and reads: the harness opens the
 * read end (non-blocking, served by the event loop) and a write end that the
 * runtime hands to the container as its stdout, then drops its own copy.
 */
import { promises as fs, constants as fsConstants, close as closeFdCb, open as openCb } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { run, spawnLong } from '../util/proc.js';

/** The line every payload prints first. */
export const PAYLOAD_READY_MARKER = 'isobench-payload-ready';

/**
 * A shell snippet that prints the marker and sends later stdout to /dev/null (the FIFO's reader goes away after
 * start-up).
 */
export const SIGNAL_THEN_QUIET = `echo ${PAYLOAD_READY_MARKER}; exec >/dev/null`;

/**
 * Scans a stream of chunks for the marker line; returns true the first time the marker is complete (pure, stateful).
 */
export function markerScanner(marker: string): (chunk: string) => boolean {
  let buf = '';
  let seen = false;
  return (chunk) => {
    if (seen) return false;
    buf += chunk;
    if (buf.includes(marker)) {
      seen = true;
      return true;
    }
    // Keep only a tail long enough to hold a split marker.
    if (buf.length > 4 * marker.length) buf = buf.slice(-2 * marker.length);
    return false;
  };
}

export class PayloadSignal {
  private constructor(
    readonly fifo: string,
    private readonly reader: net.Socket,
    /** The write end, for the runtime's stdout; closed by closeWriter() once the runtime has it. */
    private writeFd: number | undefined,
    private readonly seen: Promise<number>,
  ) {}

  /** Create the FIFO under `dir` and open both ends. The returned `at` resolves to performance.now() at the marker. */
  static async create(dir: string, name = 'payload.fifo'): Promise<PayloadSignal> {
    const fifo = `${dir}/${name}`;
    await fs.rm(fifo, { force: true });
    const r = await run(['mkfifo', '-m', '0600', fifo], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`mkfifo ${fifo}: ${r.stderr.trim()}`);
    // Read end first, non-blocking (an O_RDONLY open would wait for a writer); then the write end opens at once.
    // Plain fds (not FileHandles, which close themselves when collected): the socket and the runtime own them.
    const rfd = await openFd(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    const wfd = await openFd(fifo, fsConstants.O_WRONLY);
    const reader = new net.Socket({ fd: rfd, readable: true, writable: false });
    const scan = markerScanner(PAYLOAD_READY_MARKER);
    let tail = '';
    const seen = new Promise<number>((resolve, reject) => {
      reader.on('data', (chunk: Buffer) => {
        // Timestamp first: the data event fires as soon as the event loop sees the bytes.
        const at = performance.now();
        const text = chunk.toString('utf8');
        tail = (tail + text).slice(-400);
        if (scan(text)) resolve(at);
      });
      reader.on('end', () =>
        reject(
          new Error(
            `the payload closed its stdout without signalling ` +
              `ready${tail.trim() ? ` (it wrote: ${JSON.stringify(tail.trim())})` : ''}`,
          ),
        ),
      );
      reader.on('error', (e) => reject(e));
    });
    // A rejection nobody awaits yet (the runtime failed first) must not crash the process.
    seen.catch(() => undefined);
    return new PayloadSignal(fifo, reader, wfd, seen);
  }

  /** The write end to hand to the runtime as the payload's stdout. */
  get fd(): number {
    if (this.writeFd === undefined) throw new Error('payload signal: write end already closed');
    return this.writeFd;
  }

  /** Drop the harness's copy of the write end (after spawning), so EOF means the payload went away. */
  async closeWriter(): Promise<void> {
    const fd = this.writeFd;
    this.writeFd = undefined;
    if (fd !== undefined) await closeFd(fd).catch(() => undefined);
  }

  /** performance.now() when the marker arrived; rejects on EOF before it or after timeoutMs. */
  async at(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ready signal from the payload within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.seen, timeout]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Close both ends and remove the FIFO (idempotent). */
  async close(): Promise<void> {
    await this.closeWriter();
    this.reader.destroy();
    await fs.rm(this.fifo, { force: true });
  }
}

const openFd = promisify(openCb) as (path: string, flags: number) => Promise<number>;
const closeFd = promisify(closeFdCb);

/**
 * Spawn a short payload whose stdout is a pipe and time it the same way: from the
 * spawn to the moment its marker line arrives. For a payload that exits (native),
 * where a pipe reaches EOF by itself. Returns performance.now() at both points.
 */
export async function timePayloadToMarker(
  argv: readonly string[],
  timeoutMs: number,
): Promise<{ launchedAt: number; readyAt: number }> {
  const launchedAt = performance.now();
  const proc = spawnLong(argv);
  const scan = markerScanner(PAYLOAD_READY_MARKER);
  let readyAt: number | undefined;
  proc.stdout?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    if (readyAt === undefined && scan(chunk.toString('utf8'))) readyAt = at;
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  try {
    const r = await proc;
    if (readyAt === undefined)
      throw new Error(
        `payload ${argv.join(' ')} never signalled ready (exit ${String(r.exitCode ?? r.signal)}: ${String(
          r.stderr ?? '',
        )
          .trim()
          .slice(-300)})`,
      );
    return { launchedAt, readyAt };
  } finally {
    clearTimeout(timer);
  }
}
