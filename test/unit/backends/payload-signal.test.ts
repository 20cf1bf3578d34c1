import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PAYLOAD_READY_MARKER,
  PayloadSignal,
  SIGNAL_THEN_QUIET,
  markerScanner,
  timePayloadToMarker,
} from '../../../src/backends/payload-signal.js';
import { run } from '../../../src/util/proc.js';

describe('markerScanner', () => {
  it('finds the marker once, also when a chunk boundary splits it', () => {
    const scan = markerScanner('isobench-payload-ready');
    expect(scan('noise isobench-pay')).toBe(false);
    expect(scan('load-re')).toBe(false);
    expect(scan('ady\n')).toBe(true);
    expect(scan('isobench-payload-ready\n')).toBe(false);
  });

  it('does not take a prefix for the marker', () => {
    const scan = markerScanner('isobench-payload-ready');
    expect(scan('isobench-payload-rea')).toBe(false);
    expect(scan('\n')).toBe(false);
  });
});

// Real processes and a real FIFO: the mechanism the container backend and the bench use.
describe('PayloadSignal over a FIFO', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'isobench-signal-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('timestamps the marker a child prints on the FIFO, after the spawn and before the child exits', async () => {
    const sig = await PayloadSignal.create(dir, 'a.fifo');
    try {
      const t0 = performance.now();
      const r = await run(['/bin/sh', '-c', `${SIGNAL_THEN_QUIET}; sleep 0.3; echo late`], {
        stdoutFd: sig.fd,
        timeoutMs: 10_000,
      });
      const t1 = performance.now();
      await sig.closeWriter();
      expect(r.code).toBe(0);
      const at = await sig.at(5_000);
      expect(at).toBeGreaterThan(t0);
      // The marker came before the child's 300 ms sleep ended.
      expect(at).toBeLessThan(t1 - 200);
    } finally {
      await sig.close();
    }
  });

  it('rejects when the payload closes its stdout without the marker, quoting what it wrote', async () => {
    const sig = await PayloadSignal.create(dir, 'b.fifo');
    try {
      await run(['/bin/sh', '-c', 'echo something else'], { stdoutFd: sig.fd, timeoutMs: 10_000 });
      await sig.closeWriter();
      await expect(sig.at(5_000)).rejects.toThrow(/without signalling ready.*something else/);
    } finally {
      await sig.close();
    }
  });

  it('times out when nothing arrives', async () => {
    const sig = await PayloadSignal.create(dir, 'c.fifo');
    try {
      await expect(sig.at(100)).rejects.toThrow(/within 100 ms/);
    } finally {
      await sig.close();
    }
  });
});

describe('timePayloadToMarker', () => {
  it('times spawn to the marker of a short payload over a pipe', async () => {
    const { launchedAt, readyAt } = await timePayloadToMarker(
      ['/bin/sh', '-c', `echo ${PAYLOAD_READY_MARKER}; sleep 0.2`],
      10_000,
    );
    expect(readyAt).toBeGreaterThan(launchedAt);
    expect(readyAt - launchedAt).toBeLessThan(1_000);
  });

  it('fails a payload that never prints the marker', async () => {
    await expect(timePayloadToMarker(['/bin/sh', '-c', 'echo nope; exit 3'], 10_000)).rejects.toThrow(
      /never signalled ready/,
    );
  });
});
