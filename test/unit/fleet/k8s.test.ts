/**
 * Kubernetes manifests of a fleet: rendered for a scenario, validated against
 * the Kubernetes schemas (kubernetes-models) and KubeVirt's API models, and
 * bad input (node names, scenario) refused with exit 2 and one line.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNodes, renderK8s, validateVmi } from '../../../src/fleet/k8s.js';
import { IsobenchError } from '../../../src/errors.js';
import { isobench } from '../../helpers/cli.js';

const SCENARIO = 'test/fixtures/scenarios/fleet-short.yaml';
const work = mkdtempSync(path.join(tmpdir(), 'isobench-k8s-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Obj = Record<string, any>;

describe('fleet k8s manifests', () => {
  it('a privileged Job per node pinned by node affinity, with the host paths and the collect commands', async () => {
    const m = await renderK8s({ scenarioFile: SCENARIO, nodes: 'node-a,node-b.example', fleetId: 'f1', resultsRoot: '/r', workloadImage: 'registry.example/sysbench:1', vmImage: 'quay.io/containerdisks/debian:12' });
    const jobs = m.files.find((f) => f.name === '20-node-jobs.yaml')!.objects as Obj[];
    expect(jobs).toHaveLength(2);
    for (const [i, node] of ['node-a', 'node-b.example'].entries()) {
      const j = jobs[i]!;
      // The schema accepts it as a batch/v1 Job (validate() throws otherwise).
      expect(() => new Job(j as never).validate()).not.toThrow();
      const pod = j.spec.template.spec;
      expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: 'kubernetes.io/hostname', operator: 'In', values: [node] });
      expect(pod.hostPID).toBe(true);
      expect(pod.hostNetwork).toBe(true);
      expect(pod.containers[0].securityContext.privileged).toBe(true);
      expect(pod.volumes.map((v: Obj) => v.hostPath?.path ?? v.configMap?.name)).toEqual(['/', '/var/lib/isobench/fleet/f1', 'isobench-f1-scenario']);
      expect(pod.containers[0].command[2]).toContain(`--run-id f1-${node}`);
    }
    expect(m.collect.some((c) => c.includes('kubectl -n isobench cp') && c.includes('/results/f1-node-a') && c.endsWith('/r/f1/node-a'))).toBe(true);

    const classes = m.files.find((f) => f.name === '10-runtimeclasses.yaml')!.objects as Obj[];
    expect(classes.map((c) => [c.metadata.name, c.handler])).toEqual([
      ['runc', 'runc'],
      ['runsc', 'runsc'],
      ['kata', 'kata'],
    ]);
    const arms = m.files.find((f) => f.name === '30-runtimeclass-arms.yaml')!.objects as Obj[];
    expect(arms.map((a) => a.spec.template.spec.runtimeClassName)).toEqual(['runc', 'runsc', 'kata', 'runc', 'runsc', 'kata']);
    const vmis = m.files.find((f) => f.name === '40-kubevirt-vmis.yaml')!.objects as Obj[];
    expect(vmis.map((v) => [v.kind, v.spec.nodeSelector['kubernetes.io/hostname'], v.spec.domain.resources.requests.memory])).toEqual([
      ['VirtualMachineInstance', 'node-a', '256Mi'],
      ['VirtualMachineInstance', 'node-b.example', '256Mi'],
    ]);
  });

  it('RuntimeClass overhead.podFixed comes from the measured figures when a run is given', async () => {
    const m = await renderK8s({
      scenarioFile: SCENARIO,
      nodes: 'n1',
      fleetId: 'f2',
      resultsRoot: '/r',
      run: { runId: 'measured-run' } as never,
      runtimeClassOverheads: [
        { variant: 'runc', kind: 'container', memoryMi: 13, cpuMillicores: 40 },
        { variant: 'q35-tcg', kind: 'vm', memoryMi: 230, cpuMillicores: null },
      ],
    });
    const classes = m.files.find((f) => f.name === '10-runtimeclasses.yaml')!.objects as Obj[];
    expect(classes[0]!.overhead).toEqual({ podFixed: { memory: '13Mi', cpu: '40m' } });
    expect(classes[0]!.metadata.annotations).toEqual({ 'isobench/overhead-from-run': 'measured-run' });
    expect(classes[1]!.overhead).toBeUndefined();
    expect(m.notes.join('\n')).toContain('RuntimeClass runsc: run measured-run has no measured runsc footprint');
    expect(classes[2]!.overhead).toEqual({ podFixed: { memory: '230Mi' } });
    for (const c of classes) expect(() => new RuntimeClass(c as never).validate()).not.toThrow();
  });

  it('the schemas catch a broken object: a bad quantity, a field KubeVirt does not define', () => {
    const bad = new RuntimeClass({ metadata: { name: 'x' }, handler: 'x', overhead: { podFixed: { memory: 'lots' } } } as never);
    expect(() => bad.validate()).toThrow(/quantity/);
    const vmi = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'v' }, spec: { domain: { devices: {}, cpu: { cores: 1, turbo: true } } } };
    expect(() => validateVmi(vmi as never, 'VMI v')).toThrow(/not in the KubeVirt API: spec\.domain\.cpu\.turbo/);
    expect(() => validateVmi({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: {} } as never, 'VMI w')).toThrow(/spec/);
  });

  it('node names are checked as Kubernetes checks them', () => {
    expect(parseNodes('a, b.c')).toEqual(['a', 'b.c']);
    for (const bad of ['', 'Node_A', 'a,,b', 'a,a', `${'x'.repeat(64)}`, '-a']) expect(() => parseNodes(bad), bad).toThrow(IsobenchError);
  });

  it('the CLI writes validated manifests and prints the commands', async () => {
    const results = path.join(work, 'results');
    const r = await isobench(['fleet', 'k8s', SCENARIO, '--nodes', 'node-a,node-b', '--fleet-id', 'kf'], { ISOBENCH_RESULTS: results });
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(results, 'kf', 'k8s');
    expect(readdirSync(dir).sort()).toEqual(['00-namespace.yaml', '10-runtimeclasses.yaml', '20-node-jobs.yaml', 'collect.sh']);
    const docs = parseAllDocuments(readFileSync(path.join(dir, '20-node-jobs.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => d.kind)).toEqual(['Job', 'Job']);
    for (const d of docs) expect(() => new Job(d as never).validate()).not.toThrow();
    expect(r.stdout).toContain(`kubectl apply -f ${dir}`);
    expect(JSON.parse(readFileSync(path.join(results, 'kf', 'fleet.json'), 'utf8'))).toMatchObject({ engine: 'k8s', hosts: ['node-a', 'node-b'] });
  });

  it('an invalid node selector is exit 2 with one line, nothing written', async () => {
    const results = path.join(work, 'bad');
    const r = await isobench(['fleet', 'k8s', SCENARIO, '--nodes', 'Node_A', '--fleet-id', 'kb'], { ISOBENCH_RESULTS: results });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--nodes "Node_A": not a Kubernetes node name/);
    expect(() => readdirSync(results)).toThrow();
  });

  it('an invalid scenario is exit 2 naming the file and the field', async () => {
    const r = await isobench(['fleet', 'k8s', 'test/fixtures/scenarios/bad/typo.yaml', '--nodes', 'node-a'], { ISOBENCH_RESULTS: path.join(work, 'bad2') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('typo.yaml:4: instance.vcpu: unknown key');
  });
});
