import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultHostsDir,
  loadHostProfile,
  parseHostSpec,
  parseInstanceDemand,
  parseReserve,
} from '../../../src/capacity/spec.js';
import { IsobenchError } from '../../../src/errors.js';

/** The thrown error, asserted to be BAD_ARGS with exit code 2. */
function badArgs(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IsobenchError);
    const err = e as IsobenchError;
    expect(err.code).toBe('BAD_ARGS');
    expect(err.exitCode).toBe(2);
    expect(err.message).not.toContain('\n');
    return err.message;
  }
  throw new Error('expected a BAD_ARGS error');
}

const HOST_EX =
  'give --host cores=64,memoryGiB=256 (optional: diskIops=100000,netGbps=25) or --host scenarios/hosts/<name>.yaml';
const INST_EX = 'give --instance vcpus=2,memoryMiB=2048 (optional: iops=500,mbps=200)';

describe('--host key=value', () => {
  it('parses the required and optional fields', () => {
    expect(parseHostSpec('cores=64,memoryGiB=256')).toEqual({
      cores: 64,
      memoryGiB: 256,
      name: 'command line',
      source: 'cores=64,memoryGiB=256',
    });
    expect(parseHostSpec(' cores=64 , memoryGiB=256 , diskIops=100000 , netGbps=25 ')).toMatchObject({
      cores: 64,
      memoryGiB: 256,
      diskIops: 100000,
      netGbps: 25,
    });
  });
  it('keys are case-insensitive; decimals allowed', () => {
    expect(parseHostSpec('CORES=8,memorygib=15.5')).toMatchObject({ cores: 8, memoryGiB: 15.5 });
  });
  it.each([
    [undefined, `--host is required: ${HOST_EX}`],
    ['', `--host is empty: ${HOST_EX}`],
    ['cores=64', `--host is missing "memoryGiB": ${HOST_EX}`],
    ['memoryGiB=256', `--host is missing "cores": ${HOST_EX}`],
    [
      'cores=64,memoryGiB=256,gpus=2',
      '--host has unknown field "gpus": known fields are cores, memoryGiB, diskIops, netGbps',
    ],
    [
      'cores=64,memoryGiB=256GiB',
      '--host field "memoryGiB" must be a plain number, got "256GiB" (units are in the name: memoryGiB=<number>)',
    ],
    ['cores=0,memoryGiB=256', '--host field "cores" must be > 0, got 0'],
    ['cores=-4,memoryGiB=256', '--host field "cores" must be > 0, got -4'],
    ['cores=64,cores=32,memoryGiB=256', '--host gives "cores" twice: give it once'],
    ['cores=64,,memoryGiB=256', `--host "cores=64,,memoryGiB=256" has an empty item (a stray comma?): ${HOST_EX}`],
    ['cores=,memoryGiB=256', '--host field "cores" has no value: write cores=<number>'],
    [
      'cores=0x40,memoryGiB=256',
      '--host field "cores" must be a plain number, got "0x40" (units are in the name: cores=<number>)',
    ],
    ['cores=64,memoryGiB=256,=3', `--host item "=3" is not key=value: ${HOST_EX}`],
  ])('%j → %s', (spec, message) => {
    expect(badArgs(() => parseHostSpec(spec))).toBe(message);
  });
  it('a bare word that is no profile says where it looked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isobench-hosts-'));
    try {
      expect(badArgs(() => parseHostSpec('nope', { hostsDir: dir }))).toBe(
        `--host "nope" is neither key=value nor a profile in ${dir}: ${HOST_EX}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--instance', () => {
  it('parses required and optional fields', () => {
    expect(parseInstanceDemand('vcpus=2,memoryMiB=2048')).toEqual({ vcpus: 2, memoryMiB: 2048 });
    expect(parseInstanceDemand('vcpus=0.5,memoryMiB=512,iops=500,mbps=200')).toEqual({
      vcpus: 0.5,
      memoryMiB: 512,
      iops: 500,
      mbps: 200,
    });
  });
  it.each([
    [undefined, `--instance is required: ${INST_EX}`],
    ['vcpus=2', `--instance is missing "memoryMiB": ${INST_EX}`],
    ['memoryMiB=2048', `--instance is missing "vcpus": ${INST_EX}`],
    ['vcpus=2,memoryGiB=2', '--instance has unknown field "memoryGiB": known fields are vcpus, memoryMiB, iops, mbps'],
    [
      'vcpus=two,memoryMiB=2048',
      '--instance field "vcpus" must be a plain number, got "two" (units are in the name: vcpus=<number>)',
    ],
    ['vcpus=2,memoryMiB=0', '--instance field "memoryMiB" must be > 0, got 0'],
    ['vcpus 2', `--instance item "vcpus 2" is not key=value: ${INST_EX}`],
  ])('%j → %s', (spec, message) => {
    expect(badArgs(() => parseInstanceDemand(spec))).toBe(message);
  });
});

describe('--reserve', () => {
  it('returns only the fields given (they override profile and defaults)', () => {
    expect(parseReserve('cores=2')).toEqual({ cores: 2 });
    expect(parseReserve('cores=0,memoryPct=0,memoryMiB=1024')).toEqual({ cores: 0, memoryPct: 0, memoryMiB: 1024 });
  });
  it('rejects out-of-range values', () => {
    expect(badArgs(() => parseReserve('memoryPct=95'))).toBe('--reserve field "memoryPct" must be <= 90, got 95');
    expect(badArgs(() => parseReserve('swap=1'))).toBe(
      '--reserve has unknown field "swap": known fields are cores, memoryPct, memoryMiB',
    );
  });
});

describe('host profiles (YAML)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isobench-hosts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('the shipped profiles load and validate', () => {
    const ex = parseHostSpec('example-64c-256g');
    expect(ex).toMatchObject({
      name: 'example-64c-256g',
      cores: 64,
      memoryGiB: 256,
      diskIops: 100000,
      netGbps: 25,
      reserve: { cores: 1, memoryPct: 4 },
    });
    expect(ex.source).toBe(join(defaultHostsDir(), 'example-64c-256g.yaml'));
    expect(parseHostSpec('dual-socket-128c-512g')).toMatchObject({
      cores: 128,
      memoryGiB: 512,
      reserve: { cores: 2, memoryPct: 3, memoryMiB: 2048 },
    });
  });

  it('loads by path (relative to cwd) and by name from a hosts dir', () => {
    const f = write('mine.yaml', 'name: mine\ncores: 8\nmemoryGiB: 32\n');
    expect(parseHostSpec(f)).toMatchObject({ name: 'mine', cores: 8, memoryGiB: 32, source: f });
    expect(parseHostSpec('mine.yaml', { cwd: dir })).toMatchObject({ name: 'mine' });
    expect(parseHostSpec('mine', { hostsDir: dir })).toMatchObject({ name: 'mine' });
  });

  it.each([
    [
      'unknown.yaml',
      'name: x\ncores: 8\nmemoryGiB: 32\ngpus: 2\n',
      '--host profile unknown.yaml: field "(top level)" unknown field(s) "gpus"; allowed: name, description, cores, memoryGiB, diskIops, netGbps, reserve{cores,memoryPct,memoryMiB}',
    ],
    ['missing.yaml', 'name: x\ncores: 8\n', '--host profile missing.yaml: field "memoryGiB" is required'],
    ['negative.yaml', 'name: x\ncores: -8\nmemoryGiB: 32\n', '--host profile negative.yaml: field "cores" must be > 0'],
    [
      'string.yaml',
      'name: x\ncores: "eight"\nmemoryGiB: 32\n',
      '--host profile string.yaml: field "cores" must be a number, got "eight"',
    ],
    [
      'reserve.yaml',
      'name: x\ncores: 8\nmemoryGiB: 32\nreserve:\n  memoryPct: 99\n',
      '--host profile reserve.yaml: field "reserve.memoryPct" must be <= 90',
    ],
    [
      'reserve-key.yaml',
      'name: x\ncores: 8\nmemoryGiB: 32\nreserve:\n  gpu: 1\n',
      '--host profile reserve-key.yaml: field "reserve" unknown field(s) "gpu"; allowed: name, description, cores, memoryGiB, diskIops, netGbps, reserve{cores,memoryPct,memoryMiB}',
    ],
  ])('%s is rejected with one clear line', (file, text, message) => {
    expect(badArgs(() => loadHostProfile(write(file, text)))).toBe(message);
  });

  it('not YAML, not a mapping, missing file', () => {
    expect(badArgs(() => loadHostProfile(write('bad.yaml', 'name: [unclosed\n')))).toMatch(
      /^--host profile .*bad\.yaml is not valid YAML: /,
    );
    expect(badArgs(() => loadHostProfile(write('list.yaml', '- 1\n- 2\n')))).toMatch(
      /list\.yaml must be a YAML mapping with at least "name", "cores" and "memoryGiB"$/,
    );
    expect(badArgs(() => parseHostSpec(join(dir, 'absent.yaml')))).toBe(
      `--host profile ${join(dir, 'absent.yaml')} does not exist: check the path, or ${HOST_EX}`,
    );
  });
});
