/**
 * No line of src/**\/*.ts is wider than 120 columns (issue 24): a reviewer reads two files side by side, and
 * Biome's formatter (lineWidth 120) does not split string literals, so nothing else keeps them short.
 * Columns are counted in characters (code points), not bytes: a "─" or "×" is one column.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAX_COLUMNS = 120;

/** `file:line (N columns)` for each line of `text` wider than `max` columns. */
function longLines(file: string, text: string, max = MAX_COLUMNS): string[] {
  return text.split('\n').flatMap((line, i) => {
    const columns = [...line.replace(/\r$/, '')].length;
    return columns > max ? [`${file}:${i + 1} (${columns} columns)`] : [];
  });
}

/** Every .ts file under src/, as a path relative to the repository with forward slashes. */
function sourceFiles(): string[] {
  return readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/${f.split(path.sep).join('/')}`)
    .sort();
}

const offenders = new Map(
  sourceFiles().map((f) => [f, longLines(f, readFileSync(path.join(ROOT, f), 'utf8'))] as const),
);

describe('source line width', () => {
  it('counts columns in characters and flags only what is over the limit', () => {
    const at = 'x'.repeat(MAX_COLUMNS);
    expect(longLines('a.ts', `${at}\n${'─'.repeat(MAX_COLUMNS)}\r\nshort`)).toEqual([]);
    expect(longLines('a.ts', `short\n${at}y\n${at}`)).toEqual([`a.ts:2 (${MAX_COLUMNS + 1} columns)`]);
  });

  it('finds the source files', () => {
    expect(offenders.size).toBeGreaterThan(100);
    expect(offenders.has('src/cli.ts')).toBe(true);
  });

  it(`has no src line over ${MAX_COLUMNS} columns`, () => {
    const found = [...offenders].flatMap(([, lines]) => lines);
    expect(found, `split these lines (strings with +, or a named constant):\n${found.join('\n')}`).toEqual([]);
  });
});
