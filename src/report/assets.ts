/**
 * The report's static assets (src/report/assets/: the chart runtime, the
 * stylesheet) are real files, so they can be read, linted and diffed as what
 * they are; the HTML inlines them (a report stays one offline file). They are
 * found next to this module: under src/ when run through tsx (bin/isobench.js,
 * vitest) and under dist/src/ after `npm run build`, which copies them there.
 */
import { readFileSync } from 'node:fs';

/** An asset's text, exactly as stored. */
export function readAsset(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
}
