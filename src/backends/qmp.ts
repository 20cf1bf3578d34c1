/**
 * QMP (QEMU Machine Protocol) client over a unix socket, plus the JSON framing
 * shared with the guest-agent client (qga.ts). The framing functions are pure
 * and unit-tested; the clients are thin.
 *
 * Wire format: one JSON object per message. QMP ends messages with "\r\n";
 * qemu-guest-agent ends them with "\n" and puts a 0xFF byte before the answer to
 * guest-sync-delimited (a client sends 0xFF first to reset the agent's parser).
 * So a frame ends at "\n" and 0xFF bytes are separators too.
 */
import net from 'node:net';
import { sleep } from '../util/proc.js';

export type JsonObject = Record<string, unknown>;

export type ProtocolMessage =
  | { kind: 'greeting'; raw: JsonObject }
  | { kind: 'return'; value: unknown; id: unknown; raw: JsonObject }
  | { kind: 'error'; errorClass: string; desc: string; id: unknown; raw: JsonObject }
  | { kind: 'event'; event: string; data: unknown; raw: JsonObject }
  | { kind: 'garbage'; text: string };

/** Split a byte buffer into complete frames; returns the unfinished tail to prepend to the next chunk. */
export function splitFrames(buf: Buffer): { frames: string[]; rest: Buffer } {
  const frames: string[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0x0a || b === 0xff) {
      const text = buf.subarray(start, i).toString('utf8').trim();
      if (text) frames.push(text);
      start = i + 1;
    }
  }
  return { frames, rest: Buffer.from(buf.subarray(start)) };
}

/** Incremental form of splitFrames for a socket's data events. */
export class FrameBuffer {
  private rest: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): string[] {
    const { frames, rest } = splitFrames(this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk);
    this.rest = rest;
    return frames;
  }
  get pendingBytes(): number {
    return this.rest.length;
  }
}

/** Classify one frame. Never throws: what is not a QMP/QGA message is `garbage`. */
export function parseMessage(frame: string): ProtocolMessage {
  let obj: unknown;
  try {
    obj = JSON.parse(frame);
  } catch {
    return { kind: 'garbage', text: frame };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { kind: 'garbage', text: frame };
  const raw = obj as JsonObject;
  if ('QMP' in raw) return { kind: 'greeting', raw };
  if ('return' in raw) return { kind: 'return', value: raw.return, id: raw.id, raw };
  if ('error' in raw) {
    const err = (raw.error ?? {}) as JsonObject;
    return {
      kind: 'error',
      errorClass: String(err.class ?? 'GenericError'),
      desc: String(err.desc ?? ''),
      id: raw.id,
      raw,
    };
  }
  if (typeof raw.event === 'string') return { kind: 'event', event: raw.event, data: raw.data, raw };
  return { kind: 'garbage', text: frame };
}

/** One command as sent on the wire (newline-terminated). */
export function encodeCommand(execute: string, args?: JsonObject, id?: string | number): string {
  const msg: JsonObject = { execute };
  if (args !== undefined) msg.arguments = args;
  if (id !== undefined) msg.id = id;
  return `${JSON.stringify(msg)}\n`;
}

export class ProtocolError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`${command}: ${errorClass}: ${desc}`);
    this.name = 'ProtocolError';
  }
}

export class ProtocolTimeout extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command}: no answer within ${timeoutMs} ms`);
    this.name = 'ProtocolTimeout';
  }
}

/**
 * A unix-socket connection that delivers parsed messages to one waiter at a time.
 * Requests are serialised by the owner (QMP and QGA both answer in order).
 */
export class JsonSocket {
  private frames = new FrameBuffer();
  private queue: ProtocolMessage[] = [];
  private waiter: ((m: ProtocolMessage | null) => void) | undefined;
  private closedFlag = false;
  readonly events: ProtocolMessage[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (chunk: Buffer) => {
      for (const f of this.frames.push(chunk)) this.deliver(parseMessage(f));
    });
    const onClose = (): void => {
      this.closedFlag = true;
      const w = this.waiter;
      this.waiter = undefined;
      w?.(null);
    };
    sock.on('close', onClose);
    sock.on('error', onClose);
  }

  /** Connect, retrying while the socket does not exist yet or refuses (QEMU still starting). */
  static async connect(
    socketPath: string,
    timeoutMs: number,
    isAlive: () => boolean = () => true,
  ): Promise<JsonSocket> {
    const deadline = performance.now() + timeoutMs;
    let lastError = 'timeout';
    for (;;) {
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(socketPath);
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', (e) => {
            s.destroy();
            reject(e);
          });
        });
        return new JsonSocket(sock);
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
      if (!isAlive()) throw new Error(`connect ${socketPath}: process exited (${lastError})`);
      if (performance.now() > deadline) throw new Error(`connect ${socketPath}: ${lastError} after ${timeoutMs} ms`);
      await sleep(5);
    }
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  private deliver(m: ProtocolMessage): void {
    if (m.kind === 'event') {
      this.events.push(m);
      if (this.events.length > 200) this.events.shift();
      return;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** Next non-event message, or null when the socket closed; rejects with ProtocolTimeout. */
  next(timeoutMs: number, command = 'read'): Promise<ProtocolMessage | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedFlag) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ProtocolTimeout(command, timeoutMs));
      }, timeoutMs);
      this.waiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }

  /** Drop messages already received (stale answers after a timeout). */
  discardQueued(): void {
    this.queue = [];
  }

  close(): void {
    this.closedFlag = true;
    this.sock.destroy();
  }
}

/** Serialise async critical sections. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export interface QmpStatus {
  status: string;
  running: boolean;
}

export class QmpClient {
  private nextId = 1;
  private readonly lock = new Mutex();
  private constructor(private readonly js: JsonSocket) {}

  /** Connect, read the greeting and enter command mode (qmp_capabilities). */
  static async connect(
    socketPath: string,
    opts: { timeoutMs?: number; isAlive?: () => boolean } = {},
  ): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const js = await JsonSocket.connect(socketPath, timeoutMs, opts.isAlive);
    try {
      const greeting = await js.next(timeoutMs, 'QMP greeting');
      if (!greeting || greeting.kind !== 'greeting')
        throw new Error(`QMP ${socketPath}: expected a greeting, got ${JSON.stringify(greeting)}`);
      const c = new QmpClient(js);
      await c.execute('qmp_capabilities', undefined, timeoutMs);
      return c;
    } catch (e) {
      js.close();
      throw e;
    }
  }

  execute<T = unknown>(command: string, args?: JsonObject, timeoutMs = 10_000): Promise<T> {
    return this.lock.run(async () => {
      const id = `isobench-${this.nextId++}`;
      this.js.write(encodeCommand(command, args, id));
      for (;;) {
        const m = await this.js.next(timeoutMs, command);
        if (m === null) throw new Error(`QMP ${command}: connection closed`);
        if ((m.kind === 'return' || m.kind === 'error') && m.id !== id) continue; // stale answer
        if (m.kind === 'return') return m.value as T;
        if (m.kind === 'error') throw new ProtocolError(command, m.errorClass, m.desc);
      }
    });
  }

  async status(): Promise<QmpStatus> {
    return this.execute<QmpStatus>('query-status');
  }

  /** vCPU index -> host thread id (query-cpus-fast): which host threads run guest code. */
  async vcpuThreads(): Promise<Array<{ cpuIndex: number; threadId: number }>> {
    const r = await this.execute<Array<{ 'cpu-index': number; 'thread-id': number }>>('query-cpus-fast');
    return r.map((c) => ({ cpuIndex: c['cpu-index'], threadId: c['thread-id'] }));
  }

  /** The I/O threads QEMU runs (query-iothreads): id and host thread id. */
  async iothreads(): Promise<Array<{ id: string; threadId: number }>> {
    const r = await this.execute<Array<{ id: string; 'thread-id': number }>>('query-iothreads');
    return r.map((t) => ({ id: t.id, threadId: t['thread-id'] }));
  }

  /** ACPI power button (the guest may ignore it). */
  async powerdown(): Promise<void> {
    await this.execute('system_powerdown');
  }

  /** Ask QEMU to exit; the connection closing before the answer also counts as success. */
  async quit(timeoutMs = 3_000): Promise<void> {
    try {
      await this.execute('quit', undefined, timeoutMs);
    } catch (e) {
      if (!this.js.closed && !(e instanceof Error && /connection closed/.test(e.message))) throw e;
    }
  }

  get events(): ProtocolMessage[] {
    return this.js.events;
  }

  close(): void {
    this.js.close();
  }
}
