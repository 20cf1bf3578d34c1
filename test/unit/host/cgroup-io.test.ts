import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CgroupHandle,
  chooseIoMechanism,
  parseBlkioV1,
  parseIoStatV2,
  parseIoWeight,
  type CgroupLayout,
} from '../../../src/host/cgroup.js';

let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('cgroup I/O: throttle, counters, mechanism', () => {
  it('parses v1 blkio counters and v2 io.stat', () => {
    const v1 = parseBlkioV1(
      '254:0 Read 1001\n254:0 Write 11\n254:0 Sync 1012\n254:0 Total 1012\nTotal 1012\n',
      '254:0 Read 4100096\n254:0 Write 45056\n',
    );
    expect(v1.get('254:0')).toEqual({ readIos: 1001, writeIos: 11, readBytes: 4100096, writeBytes: 45056 });
    const v2 = parseIoStatV2(
      '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n7:0 rbytes=0 wbytes=0 rios=0 wios=0',
    );
    expect(v2.get('254:0')).toEqual({ readIos: 1, writeIos: 2, readBytes: 4096, writeBytes: 8192 });
    expect(v2.get('7:0')?.readIos).toBe(0);
  });

  it('v1: writes blkio.throttle.*_device and clears with 0', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'isobench-blkio-'));
    const layout: CgroupLayout = { version: 1, hybrid: true, mounts: { blkio: path.join(root, 'blkio') } };
    const cg = new CgroupHandle(layout, 'isobench/x');
    mkdirSync(path.join(root, 'blkio/isobench/x'), { recursive: true });
    await cg.setIoThrottle({ device: '254:0', readIops: 800, writeIops: 800 });
    const f = (n: string): string => readFileSync(path.join(root, 'blkio/isobench/x', `blkio.throttle.${n}`), 'utf8');
    expect(f('read_iops_device')).toBe('254:0 800');
    expect(f('read_bps_device')).toBe('254:0 0');
    expect(await cg.readIoThrottle()).toEqual([{ device: '254:0', readIops: 800, writeIops: 800 }]);
    await cg.clearIoThrottle('254:0');
    expect(f('read_iops_device')).toBe('254:0 0');
    await expect(cg.setIoThrottle({ device: '/dev/vda' })).rejects.toThrow(/major:minor/);
  });

  it('v2: writes io.max with max for no cap', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'isobench-iomax-'));
    const cg = new CgroupHandle({ version: 2, root, controllers: ['io'] }, 'isobench/x');
    mkdirSync(path.join(root, 'isobench/x'), { recursive: true });
    await cg.setIoThrottle({ device: '8:0', readIops: 200 });
    expect(readFileSync(path.join(root, 'isobench/x/io.max'), 'utf8')).toBe(
      '8:0 riops=200 wiops=max rbps=max wbps=max',
    );
    writeFileSync(path.join(root, 'isobench/x/io.max'), '8:0 rbps=max wbps=max riops=200 wiops=max\n');
    expect(await cg.readIoThrottle()).toEqual([{ device: '8:0', readIops: 200 }]);
  });

  it('bfq weights: v1 blkio.bfq.weight, v2 io.bfq.weight before io.weight; read back; the file written is returned', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'isobench-bfq-'));
    const v1 = new CgroupHandle(
      { version: 1, hybrid: true, mounts: { blkio: path.join(root, 'blkio') } },
      'isobench/a',
    );
    mkdirSync(path.join(root, 'blkio/isobench/a'), { recursive: true });
    writeFileSync(path.join(root, 'blkio/isobench/a/blkio.bfq.weight'), '100\n');
    expect(await v1.ioWeightFileExists()).toBe(true);
    expect(await v1.setIoWeight(1000)).toBe('blkio.bfq.weight');
    expect(readFileSync(path.join(root, 'blkio/isobench/a/blkio.bfq.weight'), 'utf8')).toBe('1000');
    expect(await v1.readIoWeight()).toBe(1000);
    // bfq's range is 1..1000: a larger weight is clamped, not rejected by the kernel.
    await v1.setIoWeight(5000);
    expect(await v1.readIoWeight()).toBe(1000);
    const v2dir = path.join(root, 'unified/isobench/b');
    mkdirSync(v2dir, { recursive: true });
    const v2 = new CgroupHandle({ version: 2, root: path.join(root, 'unified') } as CgroupLayout, 'isobench/b');
    expect(await v2.ioWeightFileExists()).toBe(false);
    writeFileSync(path.join(v2dir, 'io.weight'), 'default 100\n');
    expect(await v2.setIoWeight(250)).toBe('io.weight');
    expect(readFileSync(path.join(v2dir, 'io.weight'), 'utf8')).toBe('default 250');
    writeFileSync(path.join(v2dir, 'io.bfq.weight'), 'default 100\n');
    expect(await v2.setIoWeight(250)).toBe('io.bfq.weight');
    expect(await v2.readIoWeight()).toBe(250);
    expect(parseIoWeight('default 100\n8:0 200\n')).toBe(100);
    expect(parseIoWeight('garbage')).toBeUndefined();
  });

  it('weights only where something honours them', () => {
    expect(
      chooseIoMechanism({ version: 1, weightFileExists: true, scheduler: 'mq-deadline', ioCostEnabled: false })
        .mechanism,
    ).toBe('throttle');
    expect(
      chooseIoMechanism({ version: 1, weightFileExists: true, scheduler: 'bfq', ioCostEnabled: false }).mechanism,
    ).toBe('weight');
    expect(
      chooseIoMechanism({ version: 2, weightFileExists: true, scheduler: 'none', ioCostEnabled: true }).mechanism,
    ).toBe('weight');
    expect(
      chooseIoMechanism({ version: 2, weightFileExists: false, scheduler: 'bfq', ioCostEnabled: true }).mechanism,
    ).toBe('throttle');
    expect(
      chooseIoMechanism({ version: 1, weightFileExists: true, scheduler: 'mq-deadline', ioCostEnabled: false }).reason,
    ).toMatch(/ignored/);
  });
});
