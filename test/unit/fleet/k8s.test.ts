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
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { Namespace } from 'kubernetes-models/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNodeTarget, parseNodes, renderK8s, validateVmi } from '../../../src/fleet/k8s.js';
import { parseArmLog } from '../../../src/fleet/arms.js';
import { runtimeClassHandler } from '../../../src/backends/providers/index.js';
import { KATA_HANDLER } from '../../../src/fleet/runtime-classes.js';
import { IsobenchError } from '../../../src/errors.js';
import { isobench } from '../../helpers/cli.js';

const SCENARIO = 'test/fixtures/scenarios/fleet-short.yaml';
const work = mkdtempSync(path.join(tmpdir(), 'isobench-k8s-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Obj = Record<string, any>;

describe('fleet k8s manifests', () => {
  it('a privileged Job per node pinned by node affinity, with the host paths and the collect commands', async () => {
    const m = await renderK8s({
      scenarioFile: SCENARIO,
      nodes: 'node-a,node-b.example',
      fleetId: 'f1',
      resultsRoot: '/r',
      workloadImage: 'registry.example/sysbench:1',
      vmImage: 'quay.io/containerdisks/debian:12',
    });
    const jobs = m.files.find((f) => f.name === '20-node-jobs.yaml')!.objects as Obj[];
    expect(jobs).toHaveLength(2);
    for (const [i, node] of ['node-a', 'node-b.example'].entries()) {
      const j = jobs[i]!;
      // The schema accepts it as a batch/v1 Job (validate() throws otherwise).
      expect(() => new Job(j as never).validate()).not.toThrow();
      const pod = j.spec.template.spec;
      expect(
        pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
          .matchExpressions[0],
      ).toEqual({ key: 'kubernetes.io/hostname', operator: 'In', values: [node] });
      expect(pod.hostPID).toBe(true);
      expect(pod.hostNetwork).toBe(true);
      expect(pod.containers[0].securityContext.privileged).toBe(true);
      expect(pod.volumes.map((v: Obj) => v.hostPath?.path ?? v.configMap?.name)).toEqual([
        '/',
        '/var/lib/isobench/fleet/f1',
        'isobench-f1-scenario',
      ]);
      expect(pod.containers[0].command[2]).toContain(`--run-id f1-${node}`);
    }
    expect(
      m.collect.some(
        (c) => c.includes('kubectl -n isobench cp') && c.includes('/results/f1-node-a') && c.endsWith('/r/f1/node-a'),
      ),
    ).toBe(true);

    const classes = m.files.find((f) => f.name === '10-runtimeclasses.yaml')!.objects as Obj[];
    expect(classes.map((c) => [c.metadata.name, c.handler])).toEqual([
      ['runc', 'runc'],
      ['runsc', 'runsc'],
      ['kata-qemu', 'kata-qemu'],
    ]);
    // One table: the handler the manifests declare is the one capacity's RuntimeClass plan names.
    expect(runtimeClassHandler('vm', 'q35-kvm').handler).toBe(KATA_HANDLER);
    expect(runtimeClassHandler('container', 'runsc').handler).toBe('runsc');
    const arms = m.files.find((f) => f.name === '30-runtimeclass-arms.yaml')!.objects as Obj[];
    expect(arms.map((a) => a.spec.template.spec.runtimeClassName)).toEqual([
      'runc',
      'runc',
      'runsc',
      'runsc',
      'kata-qemu',
      'kata-qemu',
    ]);
    // Each arm runs the CPU probes the scenario names (fleet-short.yaml: `probes: [sysbench-1t]`, as a run would)
    // in its own time slot (index in the arm order, KubeVirt last).
    const script = arms[0]!.spec.template.spec.containers[0].command[2] as string;
    expect(script).toContain('sysbench cpu --threads=1 --time=1 --cpu-max-prime=10000 run');
    expect(script).not.toContain('stress-ng --matrix');
    expect(script).not.toContain('stress-ng --null');
    expect(script).toMatch(/ARM=0; ARMS=4; ROUNDS=2/);
    const ns = (m.files.find((f) => f.name === '00-namespace.yaml')!.objects as Obj[])[0]!;
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(() => new Namespace(ns as never).validate()).not.toThrow();
    const vmis = m.files.find((f) => f.name === '40-kubevirt-vmis.yaml')!.objects as Obj[];
    expect(
      vmis.map((v) => [v.kind, v.spec.nodeSelector['kubernetes.io/hostname'], v.spec.domain.resources.requests.memory]),
    ).toEqual([
      ['VirtualMachineInstance', 'node-a', '256Mi'],
      ['VirtualMachineInstance', 'node-b.example', '256Mi'],
    ]);
    expect(vmis[0]!.spec.volumes[1].cloudInitNoCloud.userData).toContain('arm=kubevirt node=node-a index=$ARM');
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
    const bad = new RuntimeClass({
      metadata: { name: 'x' },
      handler: 'x',
      overhead: { podFixed: { memory: 'lots' } },
    } as never);
    expect(() => bad.validate()).toThrow(/quantity/);
    const vmi = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'v' },
      spec: { domain: { devices: {}, cpu: { cores: 1, turbo: true } } },
    };
    expect(() => validateVmi(vmi as never, 'VMI v')).toThrow(/not in the KubeVirt API: spec\.domain\.cpu\.turbo/);
    expect(() =>
      validateVmi({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: {} } as never, 'VMI w'),
    ).toThrow(/spec/);
  });

  it('--nodes as a label selector: one DaemonSet pod per matching node, arms the same, run ids from the node name', async () => {
    expect(parseNodeTarget('pool=bench, tier in (a,b),!spot,node-role.kubernetes.io/bench')).toEqual({
      kind: 'selector',
      selector: 'pool=bench, tier in (a,b),!spot,node-role.kubernetes.io/bench',
      requirements: [
        { key: 'pool', operator: 'In', values: ['bench'] },
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'spot', operator: 'DoesNotExist' },
        { key: 'node-role.kubernetes.io/bench', operator: 'Exists' },
      ],
    });
    expect(parseNodeTarget('zone notin (x), gpu!=true').kind).toBe('selector');
    expect(parseNodeTarget('node-a,node-b')).toEqual({ kind: 'names', nodes: ['node-a', 'node-b'] });
    for (const bad of ['pool=in valid', 'Bad Key=x', 'a=b=c', 'k in a,b'])
      expect(() => parseNodeTarget(bad), bad).toThrow(IsobenchError);

    const m = await renderK8s({
      scenarioFile: SCENARIO,
      nodes: 'isobench/pool=bench',
      fleetId: 'fs',
      resultsRoot: '/r',
      workloadImage: 'registry.example/w:1',
      vmImage: 'registry.example/vm:1',
      armStart: 1_800_000_000,
    });
    expect(m.nodes).toEqual([]);
    expect(m.selector).toBe('isobench/pool=bench');
    const runner = m.files.find((f) => f.name === '20-node-jobs.yaml')!.objects as Obj[];
    expect(runner.map((o) => o.kind)).toEqual(['DaemonSet']);
    expect(() => new DaemonSet(runner[0] as never).validate()).not.toThrow();
    const pod = runner[0]!.spec.template.spec;
    expect(
      pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions,
    ).toEqual([{ key: 'isobench/pool', operator: 'In', values: ['bench'] }]);
    expect(pod.containers[0].env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
    expect(pod.containers[0].command[2]).toContain('--run-id fs-$NODE_NAME');
    expect(pod.restartPolicy).toBe('Always');
    const arms = m.files.find((f) => f.name === '30-runtimeclass-arms.yaml')!.objects as Obj[];
    expect(arms.map((a) => [a.kind, a.spec.template.spec.runtimeClassName])).toEqual([
      ['DaemonSet', 'runc'],
      ['DaemonSet', 'runsc'],
      ['DaemonSet', 'kata-qemu'],
    ]);
    for (const a of arms) expect(() => new DaemonSet(a as never).validate()).not.toThrow();
    expect(arms[1]!.spec.template.spec.containers[0].command[2]).toMatch(
      /arm=runsc node=\$NODE_NAME index=\$ARM[\s\S]*T0=1800000000|T0=1800000000[\s\S]*arm=runsc node=\$NODE_NAME/,
    );
    const vmis = m.files.find((f) => f.name === '40-kubevirt-vmis.yaml')!.objects as Obj[];
    expect(vmis).toHaveLength(1);
    expect(
      vmis[0]!.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]
        .matchExpressions[0].key,
    ).toBe('isobench/pool');
    expect(m.notes.join('\n')).toMatch(/KubeVirt arm: one VMI on one node matching isobench\/pool=bench/);
    expect(m.collect.join('\n')).toMatch(
      /get pods -l .*isobench\/arm=runsc.* while read -r pod node; do kubectl -n isobench logs "\$pod" > "\/r\/fs\/arms\/runsc-\$node.log"/,
    );
  });

  it('the arm script of a manifest writes a log the arm parser reads (header fields as scheduled)', async () => {
    const m = await renderK8s({
      scenarioFile: SCENARIO,
      nodes: 'n1',
      fleetId: 'fa',
      resultsRoot: '/r',
      workloadImage: 'w',
      armStart: 1_800_000_000,
    });
    const arms = m.files.find((f) => f.name === '30-runtimeclass-arms.yaml')!.objects as Obj[];
    const script = arms[2]!.spec.template.spec.containers[0].command[2] as string;
    // The header line the script echoes, as sh would expand it.
    const header = /echo "(### isobench-arm [^"]+)"/
      .exec(script)![1]!
      .replace('$ARM', '2')
      .replace('$ARMS', '3')
      .replace('$ROUNDS', '2')
      .replace(/\$SLOT/, /SLOT=(\d+)/.exec(script)![1]!)
      .replace('$T0', '1800000000');
    expect(parseArmLog(`${header}\n### isobench-arm done\n`)).toMatchObject({
      arm: 'kata-qemu',
      node: 'n1',
      index: 2,
      arms: 3,
      rounds: 2,
      start: 1_800_000_000,
      done: true,
    });
  });

  it('node names are checked as Kubernetes checks them', () => {
    expect(parseNodes('a, b.c')).toEqual(['a', 'b.c']);
    for (const bad of ['', 'Node_A', 'a,,b', 'a,a', `${'x'.repeat(64)}`, '-a'])
      expect(() => parseNodes(bad), bad).toThrow(IsobenchError);
  });

  it('the CLI writes validated manifests and prints the commands', async () => {
    const results = path.join(work, 'results');
    const r = await isobench(['fleet', 'k8s', SCENARIO, '--nodes', 'node-a,node-b', '--fleet-id', 'kf'], {
      ISOBENCH_RESULTS: results,
    });
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(results, 'kf', 'k8s');
    expect(readdirSync(dir).sort()).toEqual([
      '00-namespace.yaml',
      '10-runtimeclasses.yaml',
      '20-node-jobs.yaml',
      'collect.sh',
    ]);
    const docs = parseAllDocuments(readFileSync(path.join(dir, '20-node-jobs.yaml'), 'utf8')).map(
      (d) => d.toJS() as Obj,
    );
    expect(docs.map((d) => d.kind)).toEqual(['Job', 'Job']);
    for (const d of docs) expect(() => new Job(d as never).validate()).not.toThrow();
    expect(r.stdout).toContain(`kubectl apply -f ${dir}`);
    expect(JSON.parse(readFileSync(path.join(results, 'kf', 'fleet.json'), 'utf8'))).toMatchObject({
      engine: 'k8s',
      hosts: ['node-a', 'node-b'],
    });
  });

  it('an invalid node selector is exit 2 with one line, nothing written', async () => {
    const results = path.join(work, 'bad');
    const r = await isobench(['fleet', 'k8s', SCENARIO, '--nodes', 'Node_A', '--fleet-id', 'kb'], {
      ISOBENCH_RESULTS: results,
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--nodes "Node_A": not a Kubernetes node name/);
    expect(() => readdirSync(results)).toThrow();
  });

  it('an invalid scenario is exit 2 naming the file and the field', async () => {
    const r = await isobench(['fleet', 'k8s', 'test/fixtures/scenarios/bad/typo.yaml', '--nodes', 'node-a'], {
      ISOBENCH_RESULTS: path.join(work, 'bad2'),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('typo.yaml:4: instance.vcpu: unknown key');
  });
});
