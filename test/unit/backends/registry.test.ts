import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allProviders, providerFor, registerProvider, runtimeClassHandler } from '../../../src/backends/registry.js';
import '../../../src/backends/providers/index.js';
import { parseScenarioText } from '../../../src/scenario/loader.js';

describe('backend provider registry', () => {
  it('every provider owns distinct shorthands, and each resolves to its own key', () => {
    for (const p of allProviders())
      for (const s of p.shorthands) {
        expect(providerFor(s)?.id).toBe(p.id);
        const r = p.resolve(s);
        expect(r.provider).toBe(p.id);
        expect(r.kind).toBe(p.kind);
      }
  });
  it('refuses a second provider with the same id or a claimed shorthand', () => {
    const base = {
      kind: 'container' as const,
      shorthandHelp: 'x',
      objectSchema: z.object({ kind: z.literal('x') }).strict(),
      needsImage: true,
      hostOverheadMiB: 0,
    };
    const resolve = () => ({ provider: 'x', kind: 'container' as const, key: 'x', variant: 'x', options: {} });
    const create = () => Promise.reject(new Error('not used'));
    expect(() => registerProvider({ ...base, id: 'container', shorthands: ['x-new'], resolve, create })).toThrow(
      /registered twice/,
    );
    expect(() => registerProvider({ ...base, id: 'x-dup', shorthands: ['container:runc'], resolve, create })).toThrow(
      /claimed by container/,
    );
  });
  it('the scenario schema accepts exactly the registered shorthands and object forms', () => {
    const ok = parseScenarioText(
      'name: r\nbackends: [native, container:runsc, {kind: vm, machine: microvm}]\nworkloads:\n  cpu: {}\n',
      'r.yaml',
    );
    expect(ok.problems).toEqual([]);
    const bad = parseScenarioText('name: r\nbackends: [container:nope]\nworkloads:\n  cpu: {}\n', 'r.yaml');
    expect(bad.problems.join('\n')).toMatch(/container\[:runc\|crun\|runsc\]/);
  });
  it('the RuntimeClass handler comes from the measured backend provider', () => {
    expect(runtimeClassHandler('container', 'runsc')).toEqual({ handler: 'runsc', guess: false });
    expect(runtimeClassHandler('vm', 'q35-tcg')).toEqual({ handler: 'kata-qemu', guess: true });
    expect(runtimeClassHandler('container', 'youki')).toEqual({ handler: 'youki', guess: true });
  });
});
