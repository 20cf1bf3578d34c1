import { describe, expect, it, afterEach } from 'vitest';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { FrameBuffer, QmpClient, encodeCommand, parseMessage, splitFrames } from '../../../src/backends/qmp.js';
import { QgaClient, decodeExecStatus, guestExecArgs, pollIntervalMs, syncRequest } from '../../../src/backends/qga.js';

describe('JSON-line framing', () => {
  it('splits on newline, CRLF and 0xFF, keeping the unfinished tail', () => {
    const buf = Buffer.concat([
      Buffer.from('{"return": {}}\r\n{"event":"STOP"}\n'),
      Buffer.from([0xff]),
      Buffer.from('{"return": 7}\n{"ret'),
    ]);
    const { frames, rest } = splitFrames(buf);
    expect(frames).toEqual(['{"return": {}}', '{"event":"STOP"}', '{"return": 7}']);
    expect(rest.toString()).toBe('{"ret');
  });

  it('reassembles frames split across chunks, including multi-byte UTF-8', () => {
    const fb = new FrameBuffer();
    const whole = Buffer.from('{"return": "héllo"}\n');
    const cut = whole.indexOf(0xc3) + 1; // inside the two-byte é
    expect(fb.push(whole.subarray(0, cut))).toEqual([]);
    expect(fb.pendingBytes).toBe(cut);
    expect(fb.push(whole.subarray(cut))).toEqual(['{"return": "héllo"}']);
    expect(fb.pendingBytes).toBe(0);
  });

  it('classifies greeting, return, error, event and garbage', () => {
    expect(parseMessage('{"QMP": {"version": {}, "capabilities": []}}').kind).toBe('greeting');
    expect(parseMessage('{"return": {"pid": 5}, "id": "a"}')).toMatchObject({
      kind: 'return',
      value: { pid: 5 },
      id: 'a',
    });
    expect(
      parseMessage('{"error": {"class": "GenericError", "desc": "JSON parse error, stray \'\\u00ff\'"}}'),
    ).toMatchObject({ kind: 'error', errorClass: 'GenericError' });
    expect(parseMessage('{"timestamp": {}, "event": "SHUTDOWN", "data": {"guest": true}}')).toMatchObject({
      kind: 'event',
      event: 'SHUTDOWN',
    });
    expect(parseMessage('not json').kind).toBe('garbage');
    expect(parseMessage('[1,2]').kind).toBe('garbage');
    expect(parseMessage('{"foo": 1}').kind).toBe('garbage');
  });

  it('encodes commands as one line', () => {
    expect(encodeCommand('qmp_capabilities')).toBe('{"execute":"qmp_capabilities"}\n');
    expect(encodeCommand('guest-exec-status', { pid: 3 }, 'x')).toBe(
      '{"execute":"guest-exec-status","arguments":{"pid":3},"id":"x"}\n',
    );
  });

  it('sync request starts with 0xFF', () => {
    const b = syncRequest(42);
    expect(b[0]).toBe(0xff);
    expect(JSON.parse(b.subarray(1).toString())).toEqual({ execute: 'guest-sync-delimited', arguments: { id: 42 } });
  });
});

describe('guest-exec decoding', () => {
  it('decodes base64 output and exit code', () => {
    const d = decodeExecStatus({
      exited: true,
      exitcode: 3,
      'out-data': Buffer.from('out\n').toString('base64'),
      'err-data': Buffer.from('err').toString('base64'),
    });
    expect(d).toEqual({ code: 3, signal: undefined, stdout: 'out\n', stderr: 'err', truncated: false });
  });
  it('maps a signal to 128+signal and flags truncation', () => {
    expect(decodeExecStatus({ exited: true, signal: 9, 'out-truncated': true })).toMatchObject({
      code: 137,
      signal: 9,
      stdout: '',
      truncated: true,
    });
  });
  it('builds guest-exec arguments', () => {
    expect(guestExecArgs(['sh', '-c', 'echo $1', 'x'], { input: 'hi' })).toEqual({
      path: 'sh',
      arg: ['-c', 'echo $1', 'x'],
      'capture-output': true,
      'input-data': 'aGk=',
    });
    expect(() => guestExecArgs([])).toThrow();
  });
  it('polls fast first, slower later', () => {
    expect(pollIntervalMs(0)).toBeLessThan(pollIntervalMs(5_000));
  });
});

/** A fake guest agent on a unix socket: answers the 0xFF with a parse error, syncs, runs a scripted exec. */
async function fakeAgent(
  sockPath: string,
  opts: { staleFirst?: boolean; neverExits?: boolean } = {},
): Promise<{ server: net.Server; killed: string[] }> {
  const killed: string[] = [];
  const server = net.createServer((c) => {
    const fb = new FrameBuffer();
    let polls = 0;
    if (opts.staleFirst) c.write('{"return": {"pid": 999}}\n');
    c.on('data', (chunk: Buffer) => {
      if (chunk.includes(0xff)) c.write('{"error": {"class": "GenericError", "desc": "JSON parse error"}}\n');
      for (const f of fb.push(chunk)) {
        const m = JSON.parse(f) as { execute: string; arguments?: Record<string, unknown> };
        if (m.execute === 'guest-sync-delimited')
          c.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`{"return": ${String(m.arguments?.id)}}\n`)]));
        else if (m.execute === 'guest-exec') {
          const args = m.arguments as { path: string; arg: string[] };
          if (args.path === 'kill') killed.push(args.arg.join(' '));
          if (args.path === '/nonexistent')
            c.write('{"error": {"class": "GenericError", "desc": "Failed to execute child process (No such file)"}}\n');
          else c.write('{"return": {"pid": 77}}\n');
        } else if (m.execute === 'guest-exec-status') {
          polls++;
          if (opts.neverExits && killed.length === 0) c.write('{"return": {"exited": false}}\n');
          else if (killed.length > 0) c.write('{"return": {"exited": true, "signal": 9}}\n');
          else if (polls < 3) c.write('{"return": {"exited": false}}\n');
          else
            c.write(
              `{"return": {"exited": true, "exitcode": 2, "out-data": "${Buffer.from('hello\n').toString('base64')}"}}\n`,
            );
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(sockPath, r));
  return { server, killed };
}

describe('QgaClient against a fake agent', () => {
  let dir: string | undefined;
  let server: net.Server | undefined;
  afterEach(async () => {
    server?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('drops stale answers and parser errors, then execs and decodes', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qga-'));
    const sock = path.join(dir, 'qga.sock');
    ({ server } = await fakeAgent(sock, { staleFirst: true }));
    const qga = await QgaClient.connect(sock, { timeoutMs: 2_000 });
    await qga.sync(1_000);
    const r = await qga.exec(['sh', '-c', 'echo hello; exit 2']);
    expect(r).toMatchObject({ code: 2, stdout: 'hello\n', timedOut: false, pid: 77 });
    const missing = await qga.exec(['/nonexistent']);
    expect(missing.code).toBe(-1);
    expect(missing.stderr).toMatch(/No such file/);
    qga.close();
  });

  it('kills the guest process on timeout and reports timedOut', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qga-'));
    const sock = path.join(dir, 'qga.sock');
    const fake = await fakeAgent(sock, { neverExits: true });
    server = fake.server;
    const qga = await QgaClient.connect(sock, { timeoutMs: 2_000 });
    const r = await qga.exec(['sleep', '100'], { timeoutMs: 100 });
    expect(r.timedOut).toBe(true);
    expect(r.code).toBe(137);
    expect(fake.killed).toEqual(['-9 77']);
    qga.close();
  });

  it('sync times out when nobody answers', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qga-'));
    const sock = path.join(dir, 'qga.sock');
    server = net.createServer(() => undefined);
    await new Promise<void>((r) => server?.listen(sock, r));
    const qga = await QgaClient.connect(sock, { timeoutMs: 1_000 });
    await expect(qga.sync(100)).rejects.toThrow(/no answer within 100 ms/);
    qga.close();
  });
});

describe('QmpClient against a fake QEMU', () => {
  it('negotiates capabilities, matches ids and skips events', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'qmp-'));
    const sock = path.join(dir, 'qmp.sock');
    const server = net.createServer((c) => {
      c.write('{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}\r\n');
      const fb = new FrameBuffer();
      c.on('data', (chunk: Buffer) => {
        for (const f of fb.push(chunk)) {
          const m = JSON.parse(f) as { execute: string; id: string };
          if (m.execute === 'query-status')
            c.write(
              `{"event": "RESUME", "timestamp": {}}\r\n{"return": {"status": "running", "running": true}, "id": "${m.id}"}\r\n`,
            );
          else if (m.execute === 'quit') c.end(`{"return": {}, "id": "${m.id}"}\r\n`);
          else c.write(`{"return": {}, "id": "${m.id}"}\r\n`);
        }
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const qmp = await QmpClient.connect(sock, { timeoutMs: 2_000 });
      expect(await qmp.status()).toEqual({ status: 'running', running: true });
      expect(qmp.events.map((e) => (e.kind === 'event' ? e.event : ''))).toEqual(['RESUME']);
      await qmp.quit();
      qmp.close();
    } finally {
      server.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
