/**
 * qemu-guest-agent client over the host end of the virtio-serial port (a unix
 * socket QEMU serves). Exec = guest-exec (capture-output) then guest-exec-status
 * polled until the process exited.
 *
 * The agent answers in order and without ids, so each connection is first
 * flushed with guest-sync-delimited and a random id: everything before the
 * matching answer (stale replies, parser errors) is dropped. After any timeout
 * the next request re-syncs first.
 */
import { randomInt } from 'node:crypto';
import { JsonSocket, Mutex, ProtocolError, ProtocolTimeout, encodeCommand, type JsonObject } from './qmp.js';
import { sleep } from '../util/proc.js';

export interface GuestExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
  'out-truncated'?: boolean;
  'err-truncated'?: boolean;
}

export interface QgaExecResult {
  /** Exit code; 128+signal when killed by a signal; -1 when it never started. */
  code: number;
  signal: number | undefined;
  stdout: string;
  stderr: string;
  wallMs: number;
  timedOut: boolean;
  truncated: boolean;
  /** Guest pid (for diagnostics). */
  pid: number | undefined;
  /** Killed because the caller's AbortSignal fired. */
  canceled?: boolean;
}

/** Turn a finished guest-exec-status into exit code, signal and decoded output (pure). */
export function decodeExecStatus(s: GuestExecStatus): {
  code: number;
  signal: number | undefined;
  stdout: string;
  stderr: string;
  truncated: boolean;
} {
  const stdout = s['out-data'] ? Buffer.from(s['out-data'], 'base64').toString('utf8') : '';
  const stderr = s['err-data'] ? Buffer.from(s['err-data'], 'base64').toString('utf8') : '';
  const signal = typeof s.signal === 'number' ? s.signal : undefined;
  const code = signal !== undefined ? 128 + signal : typeof s.exitcode === 'number' ? s.exitcode : -1;
  return { code, signal, stdout, stderr, truncated: Boolean(s['out-truncated'] || s['err-truncated']) };
}

/** The guest-exec arguments for argv (pure). */
export function guestExecArgs(argv: readonly string[], opts: { input?: string; env?: string[] } = {}): JsonObject {
  const [pathArg, ...rest] = argv;
  if (!pathArg) throw new Error('guest exec: empty argv');
  const args: JsonObject = { path: pathArg, arg: rest, 'capture-output': true };
  if (opts.input !== undefined) args['input-data'] = Buffer.from(opts.input, 'utf8').toString('base64');
  if (opts.env) args.env = opts.env;
  return args;
}

/** The sync request bytes: a 0xFF to reset the agent's parser, then guest-sync-delimited (pure). */
export function syncRequest(id: number): Buffer {
  return Buffer.concat([Buffer.from([0xff]), Buffer.from(encodeCommand('guest-sync-delimited', { id }))]);
}

/** Poll interval for guest-exec-status: quick at first (short commands), slower for long runs. */
export function pollIntervalMs(elapsedMs: number): number {
  if (elapsedMs < 200) return 2;
  if (elapsedMs < 2_000) return 10;
  return 50;
}

export class QgaClient {
  private readonly lock = new Mutex();
  private synced = false;
  private constructor(
    private readonly js: JsonSocket,
    readonly socketPath: string,
  ) {}

  static async connect(
    socketPath: string,
    opts: { timeoutMs?: number; isAlive?: () => boolean } = {},
  ): Promise<QgaClient> {
    const js = await JsonSocket.connect(socketPath, opts.timeoutMs ?? 10_000, opts.isAlive);
    return new QgaClient(js, socketPath);
  }

  get closed(): boolean {
    return this.js.closed;
  }

  /** Flush the channel: send 0xFF + guest-sync-delimited(random id), drop everything up to the matching answer. */
  sync(timeoutMs = 1_000): Promise<void> {
    return this.lock.run(() => this.syncLocked(timeoutMs));
  }

  private async syncLocked(timeoutMs: number): Promise<void> {
    const id = randomInt(1, 2 ** 31 - 1);
    this.js.discardQueued();
    this.js.write(syncRequest(id));
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw new ProtocolTimeout('guest-sync-delimited', timeoutMs);
      let m;
      try {
        m = await this.js.next(left, 'guest-sync-delimited');
      } catch (e) {
        if (e instanceof ProtocolTimeout) throw new ProtocolTimeout('guest-sync-delimited', timeoutMs);
        throw e;
      }
      if (m === null) throw new Error('guest agent connection closed');
      if (m.kind === 'return' && m.value === id) {
        this.synced = true;
        return;
      }
      // anything else (a stale answer, the parser error the 0xFF provokes) is dropped
    }
  }

  /** One request; re-syncs first when an earlier request timed out. */
  request<T = unknown>(command: string, args?: JsonObject, timeoutMs = 10_000): Promise<T> {
    return this.lock.run(async () => {
      if (!this.synced) await this.syncLocked(Math.min(timeoutMs, 5_000));
      this.js.write(encodeCommand(command, args));
      let m;
      try {
        m = await this.js.next(timeoutMs, command);
      } catch (e) {
        this.synced = false;
        throw e;
      }
      if (m === null) throw new Error(`guest agent connection closed during ${command}`);
      if (m.kind === 'return') return m.value as T;
      if (m.kind === 'error') throw new ProtocolError(command, m.errorClass, m.desc);
      this.synced = false;
      throw new Error(`guest agent: unexpected answer to ${command}: ${JSON.stringify(m)}`);
    });
  }

  async ping(timeoutMs = 1_000): Promise<void> {
    await this.request('guest-ping', undefined, timeoutMs);
  }

  /**
   * Run argv in the guest and wait for it. On timeout the guest process is
   * killed (SIGKILL via the guest's own `kill`) and the result says timedOut.
   */
  async exec(
    argv: readonly string[],
    opts: { timeoutMs?: number; input?: string; env?: string[]; signal?: AbortSignal } = {},
  ): Promise<QgaExecResult> {
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const t0 = performance.now();
    let pid: number;
    try {
      const started = await this.request<{ pid: number }>(
        'guest-exec',
        guestExecArgs(argv, opts),
        Math.min(timeoutMs, 30_000),
      );
      pid = started.pid;
    } catch (e) {
      if (e instanceof ProtocolError) {
        // The agent could not start it (no such file, ...): same shape as a failed spawn.
        return {
          code: -1,
          signal: undefined,
          stdout: '',
          stderr: e.desc,
          wallMs: performance.now() - t0,
          timedOut: false,
          truncated: false,
          pid: undefined,
        };
      }
      throw e;
    }
    for (;;) {
      const elapsed = performance.now() - t0;
      const st = await this.request<GuestExecStatus>('guest-exec-status', { pid }, 30_000);
      if (st.exited) {
        const d = decodeExecStatus(st);
        return { ...d, wallMs: performance.now() - t0, timedOut: false, pid };
      }
      if (elapsed > timeoutMs) return this.killTimedOut(pid, t0);
      // Cancelled: kill the guest process as on a timeout, and say so.
      if (opts.signal?.aborted) return { ...(await this.killTimedOut(pid, t0)), timedOut: false, canceled: true };
      await sleep(pollIntervalMs(elapsed), opts.signal).catch(() => undefined);
    }
  }

  private async killTimedOut(pid: number, t0: number): Promise<QgaExecResult> {
    try {
      await this.request('guest-exec', { path: 'kill', arg: ['-9', String(pid)], 'capture-output': false }, 5_000);
    } catch {
      /* reported below as timed out either way */
    }
    for (let i = 0; i < 50; i++) {
      try {
        const st = await this.request<GuestExecStatus>('guest-exec-status', { pid }, 5_000);
        if (st.exited) return { ...decodeExecStatus(st), wallMs: performance.now() - t0, timedOut: true, pid };
      } catch {
        break;
      }
      await sleep(20);
    }
    return {
      code: 137,
      signal: 9,
      stdout: '',
      stderr: `guest process ${pid} did not exit after kill`,
      wallMs: performance.now() - t0,
      timedOut: true,
      truncated: false,
      pid,
    };
  }

  close(): void {
    this.js.close();
  }
}
