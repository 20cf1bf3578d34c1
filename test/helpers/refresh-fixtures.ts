/**
 * Recompute the derived blocks (summaries, overheads, differences, headline, plausibility warnings) of
 * recorded result fixtures with today's code, leaving their measured values as recorded:
 *   npx tsx test/helpers/refresh-fixtures.ts test/fixtures/results/aa-quick-1.json ...
 * Needed when the estimator or the headline's wording changes (test/unit/headline.test.ts checks that a
 * stored headline recomputes to itself).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { recomputeDerived } from '../../src/report/derive.js';
import type { RunResults } from '../../src/results/types.js';

for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, 'utf8')) as RunResults;
  writeFileSync(file, `${JSON.stringify(recomputeDerived(r), null, 2)}\n`);
  process.stderr.write(`refreshed ${file}\n`);
}
