/**
 * The one results schema (src/results/schema.ts) and the one loader
 * (results/io.ts loadResultsFile): every recorded results fixture loads, and a
 * field of the wrong type is refused with a message naming its path.
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadResultsFile, parseResults } from '../../../src/results/io.js';
import { runResultsSchema } from '../../../src/results/schema.js';
import { IsobenchError } from '../../../src/errors.js';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'fixtures', 'results');
const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ib-schema-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The error message of loading `data` through the loader, or '' when it loads. */
async function refusal(data: unknown): Promise<string> {
  const file = path.join(dir, 'results.json');
  writeFileSync(file, JSON.stringify(data));
  try {
    await loadResultsFile(file);
    return '';
  } catch (e) {
    expect(e).toBeInstanceOf(IsobenchError);
    expect((e as IsobenchError).exitCode).toBe(2);
    return (e as Error).message;
  }
}

describe('recorded results files', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  it('there are fixtures to check', () => expect(files.length).toBeGreaterThanOrEqual(5));
  for (const f of files) {
    it(`${f} loads through the one loader, every recorded field kept`, async () => {
      const r = await loadResultsFile(path.join(FIXTURES, f));
      // Nothing isobench wrote is lost or changed on the way in (a strip of an unlisted field would show here).
      expect(JSON.parse(JSON.stringify(r))).toEqual(fixture(f));
      expect(r.cells.length).toBeGreaterThan(0);
    });
  }
});

describe('a wrong field is refused, naming its path', () => {
  const cases: Array<[string, (r: Record<string, any>) => void, RegExp]> = [
    [
      'a metric unit that is a number',
      (r) => (r.cells[0].metrics[0].unit = 5),
      /not an isobench results file: cells\.0\.metrics\.0\.unit: .*expected string/,
    ],
    ['an unknown backend kind', (r) => (r.backends[1].kind = 'hypervisor'), /: backends\.1\.kind: /],
    ['a CI with one bound', (r) => (r.overheads[0].ratioCi95 = [1]), /: overheads\.0\.ratioCi95: /],
    ['an unknown verdict', (r) => (r.overheads[0].verdict = 'fine'), /: overheads\.0\.verdict: /],
    [
      'a failed cell without its error',
      (r) => Object.assign(r.cells[0], { state: 'failed', stage: 'run', error: undefined }),
      /: cells\.0\.error: /,
    ],
    ['an unknown cell state', (r) => (r.cells[0].state = 'done'), /: cells\.0\.state: /],
    [
      'a headline entry without its text',
      (r) => delete r.headline[0].entries[0].value,
      /: headline\.0\.entries\.0\.value: /,
    ],
    ['a status of the wrong kind', (r) => (r.status = 'ok'), /: status: /],
  ];
  for (const [name, spoil, re] of cases) {
    it(name, async () => {
      const r = fixture('run-a.json');
      spoil(r);
      expect(await refusal(r)).toMatch(re);
    });
  }
  it('the same message from parseResults for data that is not a file', () => {
    const r = fixture('run-a.json');
    r.cells[2].metrics[0].values = [1, 'two'];
    expect(() => parseResults(r, 'in memory')).toThrow(
      /^in memory: not an isobench results file: cells\.2\.metrics\.0\.values\.1: /,
    );
  });
});

describe('numbers as JSON stores them', () => {
  it('a null where a figure was NaN or infinite reads as NaN (JSON.stringify wrote it as null)', () => {
    const r = fixture('run-a.json');
    r.cells[0].metrics[0].summary.cv = null;
    r.overheads[0].ratioCi95 = [null, 2];
    const parsed = runResultsSchema.parse(r);
    expect(parsed.cells[0]!.metrics[0]!.summary!.cv).toBeNaN();
    expect(parsed.overheads[0]!.ratioCi95[0]).toBeNaN();
  });
  it('a null measured value is still refused (values are never undefined)', async () => {
    const r = fixture('run-a.json');
    r.cells[0].metrics[0].values[0] = null;
    expect(await refusal(r)).toMatch(/cells\.0\.metrics\.0\.values\.0: /);
  });
});
