/**
 * Property-based fuzz of the scenario loader (fast-check, fixed seed, a few
 * seconds): whatever the text or the parsed value, the loader answers with a
 * scenario or with one-line problems, and never throws or shows a stack.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseScenarioText, validateScenarioData } from '../../../src/scenario/loader.js';

const SEED = 15_2026;

function checkAnswer(r: { scenario?: unknown; problems: string[] }): void {
  expect(Array.isArray(r.problems)).toBe(true);
  if (!r.scenario) expect(r.problems.length).toBeGreaterThan(0);
  for (const p of r.problems) {
    expect(typeof p).toBe('string');
    expect(p).not.toContain('\n');
    expect(p).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(p.startsWith('f.yaml')).toBe(true);
  }
}

/** Pieces of scenario-like YAML, so the fuzz reaches past the parser into the schema. */
const fragment = fc.oneof(
  fc.constantFrom(
    'name: t\n',
    'backends: [native]\n',
    'backends: [native, container, vm:microvm]\n',
    'workloads:\n  cpu: {}\n',
    'workloads:\n  disk:\n    sizeMiB: 64\n',
  ),
  fc.constantFrom(
    'instance:\n  vcpus: 2\n  cpus: [1]\n',
    'repetitions: 0\n',
    'adaptive: {targetCiPct: 5, maxRepetitions: 1}\n',
    'timeouts: {bootSeconds: -1}\n',
    'order: random\n',
  ),
  fc.constantFrom(
    'a: &a [1,2]\nb: [*a,*a,*a]\n',
    '? [a, b]\n: c\n',
    '- x\n',
    '!!binary AAAA\n',
    '"\\u0000": 1\n',
    'name: t\nname: u\n',
    '\t\t:\n',
    '%YAML 1.2\n---\n',
    '--- |\n  x\n',
  ),
  fc.string({ maxLength: 40 }).map((s) => `${s}\n`),
  fc
    .tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}\n`),
  fc.integer({ min: 1, max: 80 }).map((n) => `description: ${'['.repeat(n)}${']'.repeat(n)}\n`),
  // Alias chains: from harmless to a "billion laughs" bomb.
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })).map(([levels, width]) => {
    const lines = ['l0: &l0 [x]'];
    for (let i = 1; i <= levels; i++)
      lines.push(
        `l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    return `${lines.join('\n')}\n`;
  }),
);

describe('scenario loader fuzz', () => {
  it('any text: a scenario or one-line problems, never a throw', () => {
    fc.assert(
      fc.property(
        fc.array(fragment, { maxLength: 12 }).map((xs) => xs.join('')),
        (text) => {
          checkAnswer(parseScenarioText(text, 'f.yaml'));
        },
      ),
      { seed: SEED, numRuns: 2000, interruptAfterTimeLimit: 4000 },
    );
  });

  it('any parsed value: a scenario or one-line problems, never a throw', () => {
    const scenarioish = fc.record(
      {
        name: fc.oneof(fc.constant('t'), fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 })),
        backends: fc.oneof(
          fc.constant(['native']),
          fc.array(
            fc.oneof(fc.constantFrom('native', 'container:runsc', 'vm', 'vm:q35'), fc.jsonValue({ maxDepth: 2 })),
            { maxLength: 4 },
          ),
        ),
        instance: fc.oneof(
          fc.record(
            {
              vcpus: fc.integer({ min: -2, max: 5 }),
              cpus: fc.oneof(fc.constant('auto'), fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 4 })),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        workloads: fc.oneof(
          fc.constant({ cpu: {} }),
          fc.dictionary(
            fc.constantFrom('cpu', 'memory', 'disk', 'network', 'cpux', 'startup'),
            fc.jsonValue({ maxDepth: 2 }),
            { maxKeys: 3 },
          ),
        ),
        extra: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(scenarioish, fc.jsonValue({ maxDepth: 4 })), (raw) => {
        checkAnswer(validateScenarioData(raw, 'f.yaml'));
      }),
      { seed: SEED, numRuns: 2000, interruptAfterTimeLimit: 4000 },
    );
  });
});
