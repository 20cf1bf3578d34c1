import { describe, expect, it } from 'vitest';
import { activeScheduler, loopName } from '../../../src/host/loopdev.js';

describe('owned loop device helpers', () => {
  it('reads the active scheduler from sysfs text', () => {
    expect(activeScheduler('[none] mq-deadline kyber bfq \n')).toBe('none');
    expect(activeScheduler('none mq-deadline kyber [bfq]\n')).toBe('bfq');
    expect(activeScheduler('none\n')).toBeNull();
  });
  it('accepts only /dev/loopN from losetup', () => {
    expect(loopName('/dev/loop7\n')).toBe('loop7');
    expect(() => loopName('/dev/vda')).toThrow(/not a \/dev\/loopN/);
    expect(() => loopName('')).toThrow();
  });
});
