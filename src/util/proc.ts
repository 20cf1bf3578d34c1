/**
 * The one place subprocesses are started: execa with argv arrays only (never a
 * shell string built from input), a timeout on everything, and a result shape
 * that is the same on success and failure.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { execa, type ResultPromise } from 'execa';
import { IsobenchError } from '../errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  timedOut: boolean;
  /** Ended (SIGKILL) because the caller's AbortSignal fired. */
  canceled?: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Send stdout and stderr to this file (appended) instead of capturing them.
   * For starters that leave children holding their stdio (e.g. `runc run --detach`):
   * a captured pipe would never reach EOF. The result's stdout/stderr are then empty.
   */
  outputFile?: string;
  /** Aborting kills the process (SIGKILL) at once; the result says canceled. */
  signal?: AbortSignal;
  /**
   * The child's stdout is this open file descriptor (e.g. a payload-signal FIFO's
   * write end, see backends/payload-signal.ts); stderr then goes to outputFile when
   * given, else is captured.
   */
  stdoutFd?: number;
}

/** Run argv, never throwing on a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run(): empty argv');
  const t0 = performance.now();
  // A stream with an open fd is handed to the child as that fd (execa's `{file}` target would
  // stream through a pipe and wait for children that keep it open).
  const out = opts.outputFile ? createWriteStream(opts.outputFile, { flags: 'a' }) : undefined;
  if (out) await once(out, 'open');
  const r = await execa(file, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
    stripFinalNewline: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(out ? { stdout: out, stderr: out } : {}),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    // execa takes only fds 0-2 as numbers; a stream on the fd is handed to the child as that fd (its owner closes it).
    ...(opts.stdoutFd !== undefined ? { stdout: createWriteStream('', { fd: opts.stdoutFd, autoClose: false }) } : {}),
  }).finally(() => out?.close());
  const wallMs = performance.now() - t0;
  const signalCode = r.signal ? 128 + (signalNumber(r.signal) ?? 9) : undefined;
  return {
    code: typeof r.exitCode === 'number' ? r.exitCode : (signalCode ?? -1),
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? '') + (r.failed && r.exitCode === undefined && !r.timedOut ? `\n${r.shortMessage}` : ''),
    wallMs,
    timedOut: Boolean(r.timedOut),
    ...(r.isCanceled ? { canceled: true } : {}),
  };
}

/** Run argv and throw a clear error when it fails. Returns stdout. */
export async function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0 || r.timedOut) {
    if (r.canceled) throw abortError(opts.signal);
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : `exit ${r.code}`;
    throw new IsobenchError(
      'RUN_FAILED',
      `${argv.join(' ')} failed (${why}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  return r.stdout;
}

/** Start a long-running process (servers, QEMU). Caller owns killing it. */
export function spawnLong(argv: readonly string[], opts: { cwd?: string } = {}): ResultPromise {
  const [file, ...args] = argv;
  if (!file) throw new Error('spawnLong(): empty argv');
  return execa(file, args, { reject: false, stdin: 'ignore', buffer: true, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};
function signalNumber(name: string): number | undefined {
  return SIGNALS[name];
}

/** Version line of a tool, or null when it is missing. */
export async function toolVersion(
  argv: readonly string[],
  pattern: RegExp = /(\d+\.\d+(?:\.\d+)?[\w.+~-]*)/,
): Promise<string | null> {
  try {
    const r = await run(argv, { timeoutMs: 10_000 });
    if (r.code === -1) return null;
    const text = `${r.stdout}\n${r.stderr}`;
    return pattern.exec(text)?.[1] ?? (text.trim().split('\n')[0] || null);
  } catch {
    return null;
  }
}

/**
 * Wait ms; with a signal, reject with an AbortError as soon as it fires (at
 * once when it already has), so no loop of a cancelled run waits out its sleep.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise((r) => setTimeout(r, ms));
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error a cancelled operation throws: name AbortError, the signal's reason in the message. */
export function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  const why = reason instanceof Error ? reason.message : reason !== undefined ? String(reason) : 'aborted';
  return Object.assign(new Error(`cancelled: ${why}`), { name: 'AbortError' });
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** Throw the AbortError when the signal has fired: the check before starting anything new. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Wait for p, but stop waiting when the signal fires (rejecting with an
 * AbortError). For steps that cannot take a signal themselves: the caller must
 * make sure what p started is released (its cleanup registry does).
 */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      p.catch(() => undefined);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
