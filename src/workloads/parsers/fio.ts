/**
 * fio --output-format=json. Units in that document: `iops` per second,
 * `bw_bytes` bytes/s, `io_bytes` bytes, `clat_ns` nanoseconds (completion
 * latency: submission to completion, what an application waits per I/O).
 */
import { ParseError, extractJson, finite, isRecord, record } from './common.js';

const TOOL = 'fio';

export interface FioDirection {
  iops: number;
  /** Bytes per second. */
  bwBytesPerSec: number;
  /** Bytes moved in this direction. */
  ioBytes: number;
  totalIos: number;
  /** Completion latency percentiles in microseconds; undefined when the direction saw no I/O. */
  clatP50Us: number | undefined;
  clatP99Us: number | undefined;
  clatMeanUs: number | undefined;
}

export interface FioJob {
  name: string;
  read: FioDirection;
  write: FioDirection;
}

export interface FioResult {
  version: string;
  jobs: FioJob[];
}

export function parseFioJson(text: string): FioResult {
  const doc = record(TOOL, 'document', extractJson(TOOL, text));
  const version = typeof doc['fio version'] === 'string' ? doc['fio version'] : '';
  if (!version) throw new ParseError(TOOL, '"fio version" missing: not fio JSON output');
  if (!Array.isArray(doc.jobs) || doc.jobs.length === 0) throw new ParseError(TOOL, 'no jobs in JSON output');
  const jobs = doc.jobs.map((j: unknown, i: number): FioJob => {
    const job = record(TOOL, `jobs[${i}]`, j);
    const name = typeof job.jobname === 'string' ? job.jobname : `#${i}`;
    const error = finite(TOOL, `job ${name} error`, job.error);
    if (error !== 0)
      throw new ParseError(TOOL, `job ${name} failed with error ${error} (see the raw log for fio's message)`);
    return { name, read: direction(name, 'read', job.read), write: direction(name, 'write', job.write) };
  });
  return { version, jobs };
}

/** The named job, or a ParseError. */
export function fioJob(result: FioResult, name: string): FioJob {
  const j = result.jobs.find((x) => x.name === name);
  if (!j)
    throw new ParseError(
      TOOL,
      `job ${name} missing from JSON output (jobs: ${result.jobs.map((x) => x.name).join(', ')})`,
    );
  return j;
}

/** A latency percentile that must be there (the direction did I/O). */
export function requireLatency(job: string, what: string, v: number | undefined): number {
  if (v === undefined) throw new ParseError(TOOL, `job ${job}: ${what} missing (no I/O completed?)`);
  return v;
}

function direction(job: string, dir: string, v: unknown): FioDirection {
  const d = record(TOOL, `job ${job} ${dir}`, v);
  const totalIos = finite(TOOL, `job ${job} ${dir}.total_ios`, d.total_ios);
  const clat = isRecord(d.clat_ns) ? d.clat_ns : undefined;
  const pct = clat && isRecord(clat.percentile) ? clat.percentile : undefined;
  const us = (key: string, raw: unknown): number | undefined =>
    raw === undefined ? undefined : finite(TOOL, `job ${job} ${dir} clat ${key}`, raw) / 1000;
  const did = totalIos > 0;
  return {
    iops: finite(TOOL, `job ${job} ${dir}.iops`, d.iops),
    bwBytesPerSec: finite(TOOL, `job ${job} ${dir}.bw_bytes`, d.bw_bytes),
    ioBytes: finite(TOOL, `job ${job} ${dir}.io_bytes`, d.io_bytes),
    totalIos,
    clatP50Us: did && pct ? us('p50', pct['50.000000']) : undefined,
    clatP99Us: did && pct ? us('p99', pct['99.000000']) : undefined,
    clatMeanUs: did && clat ? us('mean', clat.mean) : undefined,
  };
}
