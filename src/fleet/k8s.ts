/**
 * `isobench fleet k8s`: Kubernetes manifests that run the same scenario on
 * chosen nodes, and the platform arms (RuntimeClasses runc / runsc / kata and
 * KubeVirt VirtualMachineInstances) that measure what the platform people
 * actually run costs.
 *
 * The per-node Job is the Ansible path's unit in Kubernetes clothes: a
 * privileged pod (hostPID, hostNetwork) pinned to one node by node affinity
 * chroots into the node's root (mounted at /host) and runs the node's own
 * isobench install (/opt/isobench, set up by scripts/setup.sh) with the node's
 * runc, QEMU, /dev/kvm, cgroups and network namespaces. Results land in a
 * hostPath (/var/lib/isobench/fleet/<fleet-id>) and the pod waits a while so
 * `kubectl cp` can fetch them; the commands are printed.
 *
 * Every object is validated before anything is written: Kubernetes objects
 * against the OpenAPI schemas of `kubernetes-models`; VirtualMachineInstances
 * are typed with KubeVirt's generated API models (@kubevirt-ui-ext/kubevirt-api)
 * and round-tripped through them, which reports any field KubeVirt's API does
 * not define and a missing apiVersion/kind/metadata/spec.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace } from 'kubernetes-models/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import {
  V1VirtualMachineInstanceFromJSON,
  V1VirtualMachineInstanceToJSON,
  instanceOfV1VirtualMachineInstance,
  type V1VirtualMachineInstance,
} from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import { IsobenchError } from '../errors.js';
import { loadScenario } from '../scenario/loader.js';
import type { RunResults } from '../results/types.js';
import { writeFileAtomic } from '../results/io.js';
import { FLEET_FILE, FLEET_ID_RE, readFleetManifest, runIdFor, type FleetManifest } from './layout.js';

export interface K8sOptions {
  scenarioFile: string;
  /** Comma-separated node names: one Job (and one arm per runtime class, one VMI) per node. */
  nodes: string;
  namespace?: string;
  fleetId?: string;
  /** Image of the privileged runner pod (needs sh, cp and chroot; isobench itself is the node's). */
  runnerImage?: string;
  /** Image with sysbench for the platform arms (RuntimeClass pods). */
  workloadImage?: string;
  /** KubeVirt containerDisk image for the VMI arm (cloud-init capable, with sysbench). */
  vmImage?: string;
  /** A run whose measured footprint and CPU overhead set RuntimeClass overhead.podFixed. */
  run?: RunResults;
  /** Planning helper (capacity model): runtime class overheads of `run` for the scenario's instance. */
  runtimeClassOverheads?: { variant: string; kind: string; memoryMi: number | null; cpuMillicores: number | null }[];
  /** Seconds the runner pod waits after the run so `kubectl cp` can fetch the results. */
  collectSeconds?: number;
  resultsRoot: string;
}

export interface K8sManifests {
  fleetId: string;
  files: { name: string; objects: Record<string, unknown>[] }[];
  collect: string[];
  notes: string[];
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const PLATFORM_CLASSES = [
  { name: 'runc', handler: 'runc', variant: 'runc', kind: 'container' },
  { name: 'runsc', handler: 'runsc', variant: 'runsc', kind: 'container' },
  { name: 'kata', handler: 'kata', variant: '', kind: 'vm' },
] as const;
export const HOST_RESULTS = '/var/lib/isobench/fleet';
export const HOST_ISOBENCH = '/opt/isobench';

/** `--nodes a,b`: node names (the kubernetes.io/hostname label), checked as Kubernetes checks them. */
export function parseNodes(text: string): string[] {
  const nodes = text.split(',').map((s) => s.trim());
  if (text.trim() === '' || nodes.some((n) => n === '')) throw new IsobenchError('BAD_ARGS', `--nodes "${text}": expected comma-separated node names, e.g. --nodes node-a,node-b`);
  for (const n of nodes) {
    if (n.length > 63 || !DNS1123_SUBDOMAIN.test(n)) {
      throw new IsobenchError('BAD_ARGS', `--nodes "${n}": not a Kubernetes node name (lowercase letters, digits, "-" and ".", at most 63 characters, as in kubectl get nodes)`);
    }
  }
  if (new Set(nodes).size !== nodes.length) throw new IsobenchError('BAD_ARGS', `--nodes "${text}": a node is named twice`);
  return nodes;
}

/** Object name from parts: lowercase DNS-1123 label, at most 63 characters. */
function objName(...parts: string[]): string {
  const s = parts.join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return s.length <= 63 ? s : s.slice(0, 63).replace(/-$/, '');
}

function validateK8s(obj: { validate(): void; toJSON(): unknown }, what: string): Record<string, unknown> {
  try {
    obj.validate();
  } catch (e) {
    throw new IsobenchError('BAD_ARGS', `${what}: does not validate against the Kubernetes schema: ${(e as Error).message.split(', ')[0]}`);
  }
  return JSON.parse(JSON.stringify(obj.toJSON())) as Record<string, unknown>;
}

/** Paths present in `a` but not in `b` (fields the round trip through the API model dropped). */
function droppedPaths(a: unknown, b: unknown, at = ''): string[] {
  if (a === null || typeof a !== 'object') return [];
  if (b === null || typeof b !== 'object') return [at || '(top level)'];
  const out: string[] = [];
  if (Array.isArray(a)) a.forEach((v, i) => out.push(...droppedPaths(v, (b as unknown[])[i], `${at}[${i}]`)));
  else for (const [k, v] of Object.entries(a)) out.push(...(k in (b as object) ? droppedPaths(v, (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k) : [at ? `${at}.${k}` : k]));
  return out;
}

export function validateVmi(vmi: V1VirtualMachineInstance, what: string): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(vmi)) as Record<string, unknown>;
  if (!instanceOfV1VirtualMachineInstance(plain as unknown as V1VirtualMachineInstance) || plain.apiVersion !== 'kubevirt.io/v1' || plain.kind !== 'VirtualMachineInstance' || !plain.metadata) {
    throw new IsobenchError('BAD_ARGS', `${what}: not a kubevirt.io/v1 VirtualMachineInstance (spec, apiVersion, kind and metadata are required)`);
  }
  const back = V1VirtualMachineInstanceToJSON(V1VirtualMachineInstanceFromJSON(plain));
  const dropped = droppedPaths(plain, JSON.parse(JSON.stringify(back)));
  if (dropped.length) throw new IsobenchError('BAD_ARGS', `${what}: field(s) not in the KubeVirt API: ${dropped.join(', ')}`);
  return plain;
}

function nodeAffinity(node: string): Record<string, unknown> {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }],
      },
    },
  };
}

export async function renderK8s(o: K8sOptions): Promise<K8sManifests> {
  const { scenario, source } = await loadScenario(o.scenarioFile);
  const nodes = parseNodes(o.nodes);
  const ns = o.namespace ?? 'isobench';
  if (!DNS1123_LABEL.test(ns) || ns.length > 63) throw new IsobenchError('BAD_ARGS', `--namespace "${ns}": not a Kubernetes namespace name (lowercase letters, digits and "-")`);
  const fleetId = o.fleetId ?? `${scenario.name}-k8s-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
  if (!FLEET_ID_RE.test(fleetId)) throw new IsobenchError('BAD_ARGS', `--fleet-id "${fleetId}": use letters, digits, ".", "_" and "-" only`);
  const collectSeconds = o.collectSeconds ?? 3600;
  const runner = o.runnerImage ?? 'debian:12-slim';
  const timeouts = (scenario as { timeouts?: { runMinutes?: number } }).timeouts;
  const runSeconds = (timeouts?.runMinutes ?? 60) * 60;
  const labels = { 'app.kubernetes.io/name': 'isobench', 'isobench/fleet': objName(fleetId) };
  const notes: string[] = [];
  const collect: string[] = [];

  const base: Record<string, unknown>[] = [
    validateK8s(new Namespace({ metadata: { name: ns, labels } }), `Namespace ${ns}`),
    validateK8s(new ConfigMap({ metadata: { name: objName('isobench', fleetId, 'scenario'), namespace: ns, labels }, data: { 'scenario.yaml': source } }), 'scenario ConfigMap'),
  ];

  const jobs: Record<string, unknown>[] = [];
  for (const node of nodes) {
    const runId = runIdFor(fleetId, node);
    const name = objName('isobench', fleetId, node);
    const hostDir = `${HOST_RESULTS}/${fleetId}`;
    // Ids are checked above (FLEET_ID_RE, node names), so the script holds no user text but them.
    const script = [
      'set -u',
      `mkdir -p /host${hostDir}`,
      `cp /scenario/scenario.yaml /host${hostDir}/scenario.yaml`,
      `chroot /host env ISOBENCH_RESULTS=${hostDir} ${HOST_ISOBENCH}/bin/isobench.js run ${hostDir}/scenario.yaml --run-id ${runId} --no-report; rc=$?`,
      `echo "isobench: done rc=$rc results=${hostDir}/${runId}"`,
      `sleep ${collectSeconds}`,
      'exit $rc',
    ].join('\n');
    const job = new Job({
      metadata: { name, namespace: ns, labels: { ...labels, 'isobench/node': node } },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: runSeconds + collectSeconds + 600,
        template: {
          metadata: { labels: { ...labels, 'isobench/node': node } },
          spec: {
            restartPolicy: 'Never',
            affinity: nodeAffinity(node),
            // runc, QEMU and the bench namespaces act on the node itself: its PIDs, network, cgroups and /dev/kvm.
            hostPID: true,
            hostNetwork: true,
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: 'isobench',
                image: runner,
                command: ['/bin/sh', '-c', script],
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'host-root', mountPath: '/host' },
                  { name: 'results', mountPath: '/results' },
                  { name: 'scenario', mountPath: '/scenario', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'host-root', hostPath: { path: '/', type: 'Directory' } },
              { name: 'results', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
              { name: 'scenario', configMap: { name: objName('isobench', fleetId, 'scenario') } },
            ],
          },
        },
      },
    });
    jobs.push(validateK8s(job, `Job ${name}`));
    collect.push(
      `kubectl -n ${ns} logs -f job/${name} | grep -m1 'isobench: done'`,
      `kubectl -n ${ns} cp "$(kubectl -n ${ns} get pod -l job-name=${name} -o jsonpath='{.items[0].metadata.name}')":/results/${runId} ${path.join(o.resultsRoot, fleetId, node)}`,
    );
  }

  // Platform arms: the same CPU workload under each RuntimeClass and as a KubeVirt VM.
  const classes: Record<string, unknown>[] = [];
  for (const c of PLATFORM_CLASSES) {
    const measured = o.runtimeClassOverheads?.find((r) => (c.kind === 'vm' ? r.kind === 'vm' : r.variant === c.variant));
    const podFixed: Record<string, string> = {};
    if (measured?.memoryMi != null && measured.memoryMi > 0) podFixed.memory = `${measured.memoryMi}Mi`;
    if (measured?.cpuMillicores != null && measured.cpuMillicores > 0) podFixed.cpu = `${measured.cpuMillicores}m`;
    if (o.run && !Object.keys(podFixed).length) notes.push(`RuntimeClass ${c.name}: run ${o.run.runId} has no measured ${c.kind === 'vm' ? 'VM' : c.variant} footprint, so no overhead.podFixed`);
    classes.push(
      validateK8s(
        new RuntimeClass({
          metadata: { name: c.name, labels, ...(o.run && Object.keys(podFixed).length ? { annotations: { 'isobench/overhead-from-run': o.run.runId } } : {}) },
          handler: c.handler,
          ...(Object.keys(podFixed).length ? { overhead: { podFixed } } : {}),
        }),
        `RuntimeClass ${c.name}`,
      ),
    );
  }
  if (!o.run) notes.push('RuntimeClasses carry no overhead.podFixed: pass --run <run-id> to set it from a run\'s measured footprint and CPU overhead');

  const instance = (scenario as { instance: { vcpus: number; memoryMiB: number } }).instance;
  const cpuSeconds = (scenario.workloads as { cpu?: { seconds?: number } }).cpu?.seconds ?? 10;
  const sysbench = ['sysbench', 'cpu', `--threads=${instance.vcpus}`, `--time=${Math.max(1, Math.round(cpuSeconds))}`, 'run'];
  const arms: Record<string, unknown>[] = [];
  const vmis: Record<string, unknown>[] = [];
  for (const node of nodes) {
    if (o.workloadImage) {
      for (const c of PLATFORM_CLASSES) {
        const name = objName('isobench', fleetId, 'arm', c.name, node);
        arms.push(
          validateK8s(
            new Job({
              metadata: { name, namespace: ns, labels: { ...labels, 'isobench/node': node, 'isobench/arm': c.name } },
              spec: {
                backoffLimit: 0,
                template: {
                  metadata: { labels: { ...labels, 'isobench/arm': c.name } },
                  spec: {
                    restartPolicy: 'Never',
                    runtimeClassName: c.name,
                    affinity: nodeAffinity(node),
                    containers: [
                      {
                        name: 'workload',
                        image: o.workloadImage,
                        command: sysbench,
                        resources: { requests: { cpu: String(instance.vcpus), memory: `${instance.memoryMiB}Mi` }, limits: { cpu: String(instance.vcpus), memory: `${instance.memoryMiB}Mi` } },
                      },
                    ],
                  },
                },
              },
            }),
            `Job ${name}`,
          ),
        );
        collect.push(`kubectl -n ${ns} logs job/${name} > ${path.join(o.resultsRoot, fleetId, 'arms', `${c.name}-${node}.log`)}`);
      }
    }
    if (o.vmImage) {
      const name = objName('isobench', fleetId, 'vmi', node);
      const vmi: V1VirtualMachineInstance = {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name, namespace: ns, labels: { ...labels, 'isobench/node': node, 'isobench/arm': 'kubevirt' } },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': node },
          domain: {
            cpu: { cores: instance.vcpus },
            resources: { requests: { memory: `${instance.memoryMiB}Mi` } },
            devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }, { name: 'cloudinit', disk: { bus: 'virtio' } }] },
          },
          volumes: [
            { name: 'root', containerDisk: { image: o.vmImage } },
            // The guest runs the arm's workload on boot and prints it to the serial console.
            { name: 'cloudinit', cloudInitNoCloud: { userData: `#cloud-config\nruncmd:\n  - [sh, -c, "${sysbench.join(' ')} > /dev/ttyS0 2>&1"]\n` } },
          ],
          terminationGracePeriodSeconds: 0,
        },
      };
      vmis.push(validateVmi(vmi, `VirtualMachineInstance ${name}`));
      collect.push(`kubectl -n ${ns} logs -l kubevirt.io/domain=${name} -c guest-console-log > ${path.join(o.resultsRoot, fleetId, 'arms', `kubevirt-${node}.log`)}`);
    }
  }
  if (!o.workloadImage) notes.push('No RuntimeClass arm Jobs: pass --workload-image IMAGE (an image with sysbench) to run the CPU workload under runc, runsc and kata');
  if (!o.vmImage) notes.push('No KubeVirt VirtualMachineInstances: pass --vm-image IMAGE (a containerDisk with cloud-init and sysbench)');

  const files = [
    { name: '00-namespace.yaml', objects: base },
    { name: '10-runtimeclasses.yaml', objects: classes },
    { name: '20-node-jobs.yaml', objects: jobs },
    ...(arms.length ? [{ name: '30-runtimeclass-arms.yaml', objects: arms }] : []),
    ...(vmis.length ? [{ name: '40-kubevirt-vmis.yaml', objects: vmis }] : []),
  ];
  return { fleetId, files, collect, notes };
}

/** Writes results/<fleet-id>/k8s/*.yaml, collect.sh and fleet.json; returns the k8s directory. */
export async function writeK8s(m: K8sManifests, o: { scenarioFile: string; scenarioName: string; nodes: string[]; resultsRoot: string }): Promise<string> {
  const fleetDir = path.resolve(o.resultsRoot, m.fleetId);
  if (existsSync(path.join(fleetDir, FLEET_FILE)) && readFleetManifest(fleetDir).engine !== 'k8s') {
    throw new IsobenchError('BAD_ARGS', `--fleet-id ${m.fleetId}: ${fleetDir} holds an Ansible fleet; pick another fleet id`);
  }
  const dir = path.join(fleetDir, 'k8s');
  await fs.mkdir(path.join(fleetDir, 'arms'), { recursive: true });
  await fs.mkdir(dir, { recursive: true });
  for (const f of m.files) await writeFileAtomic(path.join(dir, f.name), f.objects.map((x) => `---\n${stringify(x, { lineWidth: 0 })}`).join(''));
  await writeFileAtomic(path.join(dir, 'collect.sh'), `#!/bin/sh\n# Fetch each node's results into this fleet directory once its Job logs "isobench: done".\nset -eu\n${m.collect.join('\n')}\n`);
  const manifest: FleetManifest = {
    fleetSchemaVersion: 1,
    fleetId: m.fleetId,
    engine: 'k8s',
    scenarioName: o.scenarioName,
    scenarioFile: path.resolve(o.scenarioFile),
    createdAt: new Date().toISOString(),
    hosts: o.nodes,
    runIdScheme: '<fleetId>-<node>',
  };
  await writeFileAtomic(path.join(fleetDir, FLEET_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}
