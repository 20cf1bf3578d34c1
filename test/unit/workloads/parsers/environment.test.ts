import { describe, expect, it } from 'vitest';
import { parseEnvironment } from '../../../../src/workloads/parsers/environment.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('environment check parser', () => {
  it('reads mounts, /etc, THP mode, seccomp, CPUs and cgroups from recorded host output', () => {
    const e = parseEnvironment(fixture('environment/host.txt'));
    expect(e).toMatchObject({
      mounts: 21,
      etcFiles: 335,
      thp: 'madvise',
      seccomp: 0,
      seccompFilters: 0,
      noNewPrivs: 0,
      cpusAllowed: '0-1',
    });
    expect(e.etcSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(e.cgroup).toHaveLength(10);
    expect(e.cgroup[0]).toBe('9:name=systemd:/');
  });

  it('keeps "unavailable" where the THP file does not exist (a sandbox)', () => {
    const text = fixture('environment/host.txt').replace(/^thp=.*$/m, 'thp=unavailable');
    expect(parseEnvironment(text).thp).toBe('unavailable');
  });

  it('throws a ParseError naming the check on truncated output', () => {
    expect(() => parseEnvironment(fixture('environment/host.truncated.txt'))).toThrow(ParseError);
    expect(() => parseEnvironment(fixture('environment/host.truncated.txt'))).toThrow(
      /^environment-check: thp= line missing/,
    );
    expect(() => parseEnvironment('')).toThrow(/mounts= line missing/);
  });
});
