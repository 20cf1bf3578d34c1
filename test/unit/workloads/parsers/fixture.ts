import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures');

/** A recorded tool output under test/fixtures/<tool>/. */
export function fixture(rel: string): string {
  return readFileSync(path.join(FIXTURES, rel), 'utf8');
}
