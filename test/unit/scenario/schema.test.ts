import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseScenarioText, loadScenario } from '../../../src/scenario/loader.js';
import { resolveBackend } from '../../../src/scenario/schema.js';
import { scenarioHostProblems } from '../../../src/runner/preflight.js';
import { IsobenchError } from '../../../src/errors.js';

const ROOT = path.resolve(__dirname, '../../..');

describe('shipped scenarios', () => {
  for (const f of readdirSync(path.join(ROOT, 'scenarios')).filter((x) => x.endsWith('.yaml'))) {
    it(`${f} is valid`, async () => {
      const s = await loadScenario(path.join(ROOT, 'scenarios', f));
      expect(s.scenario.backends.length).toBeGreaterThan(0);
    });
  }
});

describe('scenario validation: one clear line per problem', () => {
  const bad = (name: string) =>
    loadScenario(path.join(ROOT, 'test/fixtures/scenarios/bad', name)).then(
      () => {
        throw new Error('expected an error');
      },
      (e: unknown) => e as IsobenchError,
    );
  it('a typo names the file, line, field and suggests the right key', async () => {
    const e = await bad('typo.yaml');
    expect(e).toBeInstanceOf(IsobenchError);
    expect(e.exitCode).toBe(2);
    expect(e.details).toEqual([
      'test/fixtures/scenarios/bad/typo.yaml:4: instance.vcpu: unknown key "vcpu" (did you mean "vcpus"?); ' +
        'allowed: vcpus, cpus, memoryMiB, pidsLimit, disk, shareHarnessCpu',
    ]);
  });
  it("the allowed keys are the schema's at any depth: nested objects and a workload's parameters", () => {
    const text = 'name: k\nbackends: [native]\ninstance:\n  disk: {sizeMib: 64}\nworkloads:\n  cpu: {second: 5}\n';
    const r = parseScenarioText(text, 'k.yaml');
    expect(r.problems).toContainEqual(
      'k.yaml:4: instance.disk.sizeMib: unknown key "sizeMib" (did you mean "sizeMiB"?); allowed: sizeMiB, mode',
    );
    const cpu = r.problems.find((p) => p.includes('workloads.cpu.second'));
    expect(cpu).toMatch(/did you mean "seconds"\?\); allowed: (\w+, )*seconds, (\w+, )*repetitions, warmup, probes$/);
  });
  it('a negative vcpus says what is allowed', async () => {
    const e = await bad('negative-vcpus.yaml');
    expect(e.details).toEqual([
      'test/fixtures/scenarios/bad/negative-vcpus.yaml:4: instance.vcpus: must be >= 1, got number -1',
    ]);
  });
  it('an unknown workload lists the known ones', async () => {
    const e = await bad('unknown-workload.yaml');
    expect(e.details).toHaveLength(1);
    expect(e.details[0]).toMatch(
      /^test\/fixtures\/scenarios\/bad\/unknown-workload\.yaml:4: workloads\.cpux: unknown workload "cpux" \(did you mean "cpu"\?\); allowed: cpu, /,
    );
  });
  it('invalid YAML is reported with its line, not a stack trace', async () => {
    const e = await bad('invalid-yaml.yaml');
    expect(e.details).toHaveLength(1);
    expect(e.details[0]).toMatch(/^test\/fixtures\/scenarios\/bad\/invalid-yaml\.yaml:\d+: invalid YAML: /);
  });
  it('a missing file is one line', async () => {
    await expect(loadScenario('/nonexistent/x.yaml')).rejects.toThrow(/cannot read scenario file \(ENOENT\)/);
  });
  it('several problems give several lines', () => {
    const r = parseScenarioText('name: "Bad Name"\nbackends: []\nworkloads: {}\nrepetitions: 0\n', 's.yaml');
    expect(r.problems.length).toBeGreaterThanOrEqual(3);
    expect(r.problems.join('\n')).toMatch(/s\.yaml:1: name: /);
    expect(r.problems.join('\n')).toMatch(/s\.yaml:4: repetitions: must be >= 1/);
  });
  it('applies defaults', () => {
    const r = parseScenarioText('name: d\nbackends: [native]\nworkloads:\n  cpu: {}\n', 'd.yaml');
    expect(r.problems).toEqual([]);
    expect(r.scenario?.repetitions).toBe(3);
    expect(r.scenario?.instance.vcpus).toBe(1);
    expect(r.scenario?.order).toBe('interleaved');
  });
  it('rejects a backend listed twice and path traversal in the name', () => {
    const r = parseScenarioText('name: ../../etc\nbackends: [native, native]\nworkloads:\n  cpu: {}\n', 'x.yaml');
    expect(r.problems.some((p) => p.includes('name:'))).toBe(true);
    const r2 = parseScenarioText('name: x\nbackends: [native, native]\nworkloads:\n  cpu: {}\n', 'x.yaml');
    expect(r2.problems).toEqual(['x.yaml:2: backends[1]: "native" is listed twice; list each backend variant once']);
  });
  it('resolves backend shorthands', () => {
    expect(resolveBackend('container:runsc')).toEqual({
      provider: 'container',
      kind: 'container',
      key: 'container:runsc',
      variant: 'runsc',
      options: { runtime: 'runsc', runscPlatform: 'ptrace' },
    });
    // A CPU limit keeps the row's key (compare pairs it with an unlimited run's row) and travels in the options.
    expect(resolveBackend({ kind: 'container', runtime: 'runc', cpuQuotaPercent: 90 })).toEqual({
      provider: 'container',
      kind: 'container',
      key: 'container:runc',
      variant: 'runc',
      options: { runtime: 'runc', runscPlatform: 'ptrace', cpuQuotaPercent: 90 },
    });
    expect(resolveBackend('vm')).toEqual({
      provider: 'vm',
      kind: 'vm',
      key: 'vm:q35',
      variant: 'q35',
      options: { machine: 'q35', accel: 'auto' },
    });
  });
  it('host checks: an instance CPU set that takes the harness CPU is refused unless the scenario says so', () => {
    const all = parseScenarioText(
      'name: all\nbackends: [native]\ninstance:\n  vcpus: 2\nworkloads:\n  cpu: {}\n',
      'all.yaml',
    );
    expect(scenarioHostProblems(all.scenario!, { cpus: 2, memTotalBytes: 24 * 2 ** 30 }, 'all.yaml')).toEqual([
      'all.yaml: instance.vcpus: 2 (cpus: auto) takes every CPU of this 2-CPU host, leaving none for the harness and traffic peers; use at most 1 vCPUs, or set instance.shareHarnessCpu: true to accept sharing',
    ]);
    const listed = parseScenarioText(
      'name: all\nbackends: [native]\ninstance:\n  cpus: [0, 1]\nworkloads:\n  cpu: {}\n',
      'l.yaml',
    );
    expect(scenarioHostProblems(listed.scenario!, { cpus: 2, memTotalBytes: 24 * 2 ** 30 }, 'l.yaml')[0]).toMatch(
      /^l\.yaml: instance\.cpus \[0, 1\] takes every CPU/,
    );
    const shared = parseScenarioText(
      'name: all\nbackends: [native]\ninstance:\n  vcpus: 2\n  shareHarnessCpu: true\nworkloads:\n  cpu: {}\n',
      'ok.yaml',
    );
    expect(scenarioHostProblems(shared.scenario!, { cpus: 2, memTotalBytes: 24 * 2 ** 30 }, 'ok.yaml')).toEqual([]);
    // One CPU of two for the instance: the other is the harness's.
    const one = parseScenarioText(
      'name: one\nbackends: [native]\ninstance:\n  vcpus: 1\nworkloads:\n  cpu: {}\n',
      'one.yaml',
    );
    expect(scenarioHostProblems(one.scenario!, { cpus: 2, memTotalBytes: 24 * 2 ** 30 }, 'one.yaml')).toEqual([]);
  });

  it('host checks: more vcpus or memory than the host has', () => {
    const r = parseScenarioText(
      'name: big\nbackends: [native]\ninstance:\n  vcpus: 64\n  memoryMiB: 900000\nworkloads:\n  cpu: {}\n',
      'big.yaml',
    );
    const problems = scenarioHostProblems(r.scenario!, { cpus: 2, memTotalBytes: 24 * 2 ** 30 }, 'big.yaml');
    expect(problems).toEqual([
      "big.yaml: instance.vcpus: 64 exceeds this host's 2 CPUs; use at most 2",
      'big.yaml: instance.memoryMiB: 900000 MiB is more than this host has (24576 MiB); lower it',
    ]);
  });
});
