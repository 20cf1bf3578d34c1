import { describe, expect, it } from 'vitest';
import { fioJob, parseFioJson } from '../../../../src/workloads/parsers/fio.js';
import { ParseError } from '../../../../src/workloads/types.js';
import { fixture } from './fixture.js';

describe('parseFioJson', () => {
  it('reads the four jobs of the disk workload (IOPS, bandwidth, clat percentiles in µs)', () => {
    const r = parseFioJson(fixture('fio/four-jobs-psync.json'));
    expect(r.version).toBe('fio-3.33');
    expect(r.jobs.map((j) => j.name)).toEqual(['randread', 'randwrite', 'seqread', 'seqwrite']);
    expect(fioJob(r, 'randread').read).toEqual({
      iops: 6908.091908,
      bwBytesPerSec: 28295544,
      ioBytes: 28323840,
      totalIos: 6915,
      clatP50Us: 123.392,
      clatP99Us: 464.896,
      clatMeanUs: 144.023533478,
    });
    expect(fioJob(r, 'randwrite').write).toMatchObject({ iops: 6797.202797, clatP50Us: 122.368, clatP99Us: 407.552 });
    expect(fioJob(r, 'seqread').read).toMatchObject({ bwBytesPerSec: 2064678617, ioBytes: 2066743296 });
    expect(fioJob(r, 'seqwrite').write).toMatchObject({ bwBytesPerSec: 1645233445, ioBytes: 1656750080 });
  });
  it('has no latency for a direction that did no I/O', () => {
    const r = parseFioJson(fixture('fio/four-jobs-psync.json'));
    expect(fioJob(r, 'randread').write).toMatchObject({ totalIos: 0, clatP50Us: undefined, clatP99Us: undefined });
  });
  it('skips the note fio prints before its JSON', () => {
    const text = fixture('fio/randread-with-note.json');
    expect(text.startsWith('note: both iodepth')).toBe(true);
    expect(fioJob(parseFioJson(text), 'randread').read).toMatchObject({
      iops: 7608.391608,
      clatP50Us: 89.6,
      clatP99Us: 485.376,
    });
  });
  it('throws a ParseError naming fio on truncated JSON', () => {
    expect(() => parseFioJson(fixture('fio/four-jobs-psync.truncated.json'))).toThrow(ParseError);
    expect(() => parseFioJson(fixture('fio/four-jobs-psync.truncated.json'))).toThrow(
      /^fio: JSON output is truncated or garbled/,
    );
  });
  it('throws when a job failed (fio still printed JSON)', () => {
    expect(() => parseFioJson(fixture('fio/job-error.json'))).toThrow(/^fio: job randwrite failed with error 1/);
  });
  it('throws on text without JSON', () => {
    expect(() => parseFioJson('fio: engine libaio not loadable\n')).toThrow(/^fio: no JSON document/);
  });
});
