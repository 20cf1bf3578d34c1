/**
 * Table of malformed scenarios: each gets one clear line naming file:line,
 * the field and what is allowed. Nothing runs for any of them.
 */
import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../src/scenario/loader.js';
import { scenarioHostProblems } from '../../src/runner/preflight.js';

const OK_TAIL = 'workloads:\n  cpu: {}\n';
const HEAD = 'name: t\nbackends: [native]\n';

const cases: Array<[string, string, RegExp]> = [
  ['invalid YAML (unclosed list)', 'name: t\nbackends: [native\n', /^f\.yaml:\d+: invalid YAML: /],
  ['invalid YAML (bad indentation)', 'name: t\n  backends: x\n', /^f\.yaml:\d+: invalid YAML: /],
  ['duplicate key', 'name: t\nname: u\nbackends: [native]\n' + OK_TAIL, /^f\.yaml:2: invalid YAML: Map keys must be unique/],
  ['top level is a list', '- a\n- b\n', /^f\.yaml:1: \(top level\): expected a mapping/],
  ['empty file', '', /^f\.yaml:1: \(top level\): expected a mapping/],
  ['unknown top-level key', HEAD + 'repetitons: 3\n' + OK_TAIL, /^f\.yaml:3: repetitons: unknown key "repetitons" \(did you mean "repetitions"\?\)/],
  ['unknown instance key', HEAD + 'instance:\n  memMiB: 512\n' + OK_TAIL, /^f\.yaml:4: instance\.memMiB: unknown key "memMiB"/],
  ['unknown workload', HEAD + 'workloads:\n  gpu: {}\n', /^f\.yaml:4: workloads\.gpu: unknown workload "gpu".*allowed: cpu/],
  ['unknown workload parameter', HEAD + 'workloads:\n  cpu:\n    secs: 3\n', /^f\.yaml:5: workloads\.cpu\.secs: unknown key "secs"/],
  ['missing name', 'backends: [native]\n' + OK_TAIL, /^f\.yaml:1: name: required \(expected string\)/],
  ['missing backends', 'name: t\n' + OK_TAIL, /^f\.yaml:1: backends: required/],
  ['missing workloads', HEAD, /^f\.yaml:1: workloads: required/],
  ['no workloads', HEAD + 'workloads: {}\n', /^f\.yaml:3: workloads: at least one workload is required/],
  ['empty backends', 'name: t\nbackends: []\n' + OK_TAIL, /^f\.yaml:2: backends: must be >= 1 items/],
  ['unknown backend', 'name: t\nbackends: [docker]\n' + OK_TAIL, /^f\.yaml:2: backends\[0\]: .*got "docker"/],
  ['unknown container runtime', 'name: t\nbackends: [container:kata]\n' + OK_TAIL, /^f\.yaml:2: backends\[0\]: .*got "container:kata"/],
  ['backend listed twice', 'name: t\nbackends: [native, native]\n' + OK_TAIL, /^f\.yaml:2: backends\[1\]: "native" is listed twice/],
  ['zero vcpus', HEAD + 'instance:\n  vcpus: 0\n' + OK_TAIL, /^f\.yaml:4: instance\.vcpus: must be >= 1, got number 0/],
  ['negative vcpus', HEAD + 'instance:\n  vcpus: -2\n' + OK_TAIL, /^f\.yaml:4: instance\.vcpus: must be >= 1, got number -2/],
  ['fractional vcpus', HEAD + 'instance:\n  vcpus: 1.5\n' + OK_TAIL, /^f\.yaml:4: instance\.vcpus: expected a whole number, got number 1\.5/],
  ['vcpus as text', HEAD + 'instance:\n  vcpus: two\n' + OK_TAIL, /^f\.yaml:4: instance\.vcpus: expected number, got "two"/],
  ['tiny memory', HEAD + 'instance:\n  memoryMiB: 8\n' + OK_TAIL, /^f\.yaml:4: instance\.memoryMiB: must be >= 64, got number 8/],
  ['bad disk mode', HEAD + 'instance:\n  disk:\n    mode: nfs\n' + OK_TAIL, /^f\.yaml:5: instance\.disk\.mode: expected one of "dir", "image", got "nfs"/],
  ['zero repetitions', HEAD + 'repetitions: 0\n' + OK_TAIL, /^f\.yaml:3: repetitions: must be >= 1, got number 0/],
  ['negative warmup', HEAD + 'warmup: -1\n' + OK_TAIL, /^f\.yaml:3: warmup: must be >= 0/],
  ['bad order', HEAD + 'order: random\n' + OK_TAIL, /^f\.yaml:3: order: expected one of "interleaved", "sequential", got "random"/],
  ['adaptive max below repetitions', HEAD + 'repetitions: 5\nadaptive:\n  targetCiPct: 2\n  maxRepetitions: 3\n' + OK_TAIL, /^f\.yaml:6: adaptive\.maxRepetitions: must be >= repetitions \(5\)/],
  ['zero timeout', HEAD + 'timeouts:\n  bootSeconds: 0\n' + OK_TAIL, /^f\.yaml:4: timeouts\.bootSeconds: must be > 0/],
  ['path traversal in name', 'name: ../../etc/passwd\nbackends: [native]\n' + OK_TAIL, /^f\.yaml:1: name: use 1-32 characters a-z 0-9 -/],
  ['name with spaces', 'name: my run\nbackends: [native]\n' + OK_TAIL, /^f\.yaml:1: name: use 1-32 characters/],
  ['workload param wrong type', HEAD + 'workloads:\n  cpu:\n    seconds: "3s"\n', /^f\.yaml:5: workloads\.cpu\.seconds: expected number, got "3s"/],
  ['workload param out of range', HEAD + 'workloads:\n  disk:\n    runtimeSeconds: 0\n', /^f\.yaml:5: workloads\.disk\.runtimeSeconds: must be >= 1/],
  ['bad VM machine type', 'name: t\nbackends: [{kind: vm, machine: xen}]\n' + OK_TAIL, /^f\.yaml:2: backends\[0\]\.machine: expected one of "q35", "microvm", got "xen"/],
  ['cpu listed twice', HEAD + 'instance:\n  cpus: [1, 1]\n' + OK_TAIL, /^f\.yaml:4: instance\.cpus: lists a CPU twice/],
];

describe('malformed scenarios', () => {
  it('has at least 25 cases', () => expect(cases.length).toBeGreaterThanOrEqual(25));
  for (const [name, text, re] of cases) {
    it(name, () => {
      const { scenario, problems } = parseScenarioText(text, 'f.yaml');
      expect(scenario).toBeUndefined();
      expect(problems.length).toBeGreaterThanOrEqual(1);
      expect(problems[0]).toMatch(re);
      for (const p of problems) expect(p).not.toMatch(/\n|at Object|ZodError/);
    });
  }
  it('more memory or vCPUs than this host has is refused before anything runs', () => {
    const { scenario } = parseScenarioText(HEAD + 'instance:\n  memoryMiB: 4000000\n  vcpus: 512\n' + OK_TAIL, 'f.yaml');
    const problems = scenarioHostProblems(scenario!, { cpus: 2, memTotalBytes: 2 ** 34 }, 'f.yaml');
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/instance\.vcpus: 512 exceeds this host's 2 CPUs/);
    expect(problems[1]).toMatch(/instance\.memoryMiB: 4000000 MiB is more than this host has/);
  });
});
