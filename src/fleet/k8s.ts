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
 * `kubectl cp` can fetch them; the commands are printed. With `--nodes` as a
 * label selector the runner is a DaemonSet instead (one pod per matching
 * node, the node's name from the downward API), and so are the arms.
 *
 * The arms run the CPU workload's probes, taking turns in time slots (arms.ts);
 * their logs, collected into arms/<arm>-<node>.log, become overhead rows vs
 * runc in the fleet report. RuntimeClass names and handlers come from
 * runtime-classes.ts. The namespace is labelled for Pod Security admission
 * (enforce: privileged): the runner pod is privileged by design.
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
import { DaemonSet } from 'kubernetes-models/apps/v1';
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
import { splitWorkloadEntry } from '../scenario/schema.js';
import type { RunResults } from '../results/types.js';
import { writeFileAtomic } from '../results/io.js';
import { FLEET_FILE, FLEET_ID_RE, readFleetManifest, runIdFor, type FleetManifest } from './layout.js';
import { PLATFORM_CLASSES } from './runtime-classes.js';
import { KUBEVIRT_ARM, armScript, cpuArmProbes, slotSecondsFor } from './arms.js';
import { cpuParams } from '../workloads/cpu.js';

export { PLATFORM_CLASSES };

export interface K8sOptions {
  scenarioFile: string;
  /**
   * Comma-separated node names: one Job (and one arm per runtime class, one VMI) per node;
   * or a label selector (`pool=bench`, `tier in (a,b)`, `node-role.kubernetes.io/bench`):
   * one DaemonSet pod per matching node instead.
   */
  nodes: string;
  /** Unix seconds when the arms' first round starts (they take turns from then); default: 10 minutes from now. */
  armStart?: number;
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
  /** The named nodes ([] with a selector: the nodes are those it matches when applied). */
  nodes: string[];
  selector: string | undefined;
  files: { name: string; objects: Record<string, unknown>[] }[];
  collect: string[];
  notes: string[];
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Pod Security admission: the runner pod is privileged (hostPID, hostNetwork, the node's root). */
export const POD_SECURITY_LABELS = {
  'pod-security.kubernetes.io/enforce': 'privileged',
  'pod-security.kubernetes.io/audit': 'privileged',
  'pod-security.kubernetes.io/warn': 'privileged',
} as const;
export const HOST_RESULTS = '/var/lib/isobench/fleet';
export const HOST_ISOBENCH = '/opt/isobench';

/** `--nodes a,b`: node names (the kubernetes.io/hostname label), checked as Kubernetes checks them. */
export function parseNodes(text: string): string[] {
  const nodes = text.split(',').map((s) => s.trim());
  if (text.trim() === '' || nodes.some((n) => n === ''))
    throw new IsobenchError(
      'BAD_ARGS',
      `--nodes "${text}": expected comma-separated node names, e.g. --nodes node-a,node-b`,
    );
  for (const n of nodes) {
    if (n.length > 63 || !DNS1123_SUBDOMAIN.test(n)) {
      throw new IsobenchError(
        'BAD_ARGS',
        `--nodes "${n}": not a Kubernetes node name (lowercase letters, digits, ` +
          `"-" and ".", at most 63 characters, as in kubectl get nodes)`,
      );
    }
  }
  if (new Set(nodes).size !== nodes.length)
    throw new IsobenchError('BAD_ARGS', `--nodes "${text}": a node is named twice`);
  return nodes;
}

export interface NodeRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export type NodeTarget =
  | { kind: 'names'; nodes: string[] }
  | { kind: 'selector'; selector: string; requirements: NodeRequirement[] };

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(|[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

function checkKey(key: string, text: string): string {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const ok =
    name.length <= 63 &&
    LABEL_NAME.test(name) &&
    (slash < 0 || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix)));
  if (!ok)
    throw new IsobenchError(
      'BAD_ARGS',
      `--nodes "${text}": "${key}" is not a label key ([prefix/]name, e.g. node-role.kubernetes.io/bench)`,
    );
  return key;
}

function checkValue(v: string, text: string): string {
  if (v.length > 63 || !LABEL_VALUE.test(v))
    throw new IsobenchError('BAD_ARGS', `--nodes "${text}": "${v}" is not a label value`);
  return v;
}

/**
 * A Kubernetes label selector, as kubectl -l takes it: requirements joined by
 * commas, each `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` or `!k`.
 */
export function parseLabelSelector(text: string): NodeRequirement[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((raw) => {
    const p = raw.trim();
    let m = /^([^\s!=()]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(p);
    if (m) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), text));
      return { key: checkKey(m[1]!, text), operator: m[2] === 'in' ? ('In' as const) : ('NotIn' as const), values };
    }
    m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(p);
    if (m)
      return {
        key: checkKey(m[1]!, text),
        operator: m[2] === '!=' ? ('NotIn' as const) : ('In' as const),
        values: [checkValue(m[3]!, text)],
      };
    m = /^(!?)([^\s!=()]+)$/.exec(p);
    if (m) return { key: checkKey(m[2]!, text), operator: m[1] ? ('DoesNotExist' as const) : ('Exists' as const) };
    throw new IsobenchError(
      'BAD_ARGS',
      `--nodes "${text}": "${p}" is neither a node name nor a label selector requirement ` +
        '(k=v, k!=v, k in (a,b), k notin (a,b), k, !k)',
    );
  });
}

/**
 * `--nodes`: node names (comma-separated) or a label selector. A selector is
 * anything with "=", "!", "(", "/" or a space (none of them can be in a node name).
 */
export function parseNodeTarget(text: string): NodeTarget {
  if (/[=!(/\s]/.test(text.trim()))
    return { kind: 'selector', selector: text.trim(), requirements: parseLabelSelector(text.trim()) };
  return { kind: 'names', nodes: parseNodes(text) };
}

/** Object name from parts: lowercase DNS-1123 label, at most 63 characters. */
function objName(...parts: string[]): string {
  const s = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return s.length <= 63 ? s : s.slice(0, 63).replace(/-$/, '');
}

function validateK8s(obj: { validate(): void; toJSON(): unknown }, what: string): Record<string, unknown> {
  try {
    obj.validate();
  } catch (e) {
    throw new IsobenchError(
      'BAD_ARGS',
      `${what}: does not validate against the Kubernetes schema: ${(e as Error).message.split(', ')[0]}`,
    );
  }
  return JSON.parse(JSON.stringify(obj.toJSON())) as Record<string, unknown>;
}

/** Paths present in `a` but not in `b` (fields the round trip through the API model dropped). */
function droppedPaths(a: unknown, b: unknown, at = ''): string[] {
  if (a === null || typeof a !== 'object') return [];
  if (b === null || typeof b !== 'object') return [at || '(top level)'];
  const out: string[] = [];
  if (Array.isArray(a)) a.forEach((v, i) => out.push(...droppedPaths(v, (b as unknown[])[i], `${at}[${i}]`)));
  else
    for (const [k, v] of Object.entries(a))
      out.push(
        ...(k in (b as object)
          ? droppedPaths(v, (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k)
          : [at ? `${at}.${k}` : k]),
      );
  return out;
}

export function validateVmi(vmi: V1VirtualMachineInstance, what: string): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(vmi)) as Record<string, unknown>;
  if (
    !instanceOfV1VirtualMachineInstance(plain as unknown as V1VirtualMachineInstance) ||
    plain.apiVersion !== 'kubevirt.io/v1' ||
    plain.kind !== 'VirtualMachineInstance' ||
    !plain.metadata
  ) {
    throw new IsobenchError(
      'BAD_ARGS',
      `${what}: not a kubevirt.io/v1 VirtualMachineInstance (spec, apiVersion, kind and metadata are required)`,
    );
  }
  const back = V1VirtualMachineInstanceToJSON(V1VirtualMachineInstanceFromJSON(plain));
  const dropped = droppedPaths(plain, JSON.parse(JSON.stringify(back)));
  if (dropped.length)
    throw new IsobenchError('BAD_ARGS', `${what}: field(s) not in the KubeVirt API: ${dropped.join(', ')}`);
  return plain;
}

function nodeAffinity(node: string | NodeRequirement[]): Record<string, unknown> {
  const matchExpressions =
    typeof node === 'string' ? [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] : node;
  return {
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } },
  };
}

/** kubectl jsonpath: "<pod> <node>" per line, for the collect loops of selector-placed pods. */
const PODS_NODES = '{range .items[*]}{.metadata.name} {.spec.nodeName}{"\\n"}{end}';

/** The node's name in a pod (downward API), for run ids and arm logs when pods are placed by a selector. */
const NODE_NAME_ENV = [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }];

export async function renderK8s(o: K8sOptions): Promise<K8sManifests> {
  const { scenario, source } = await loadScenario(o.scenarioFile);
  const target = parseNodeTarget(o.nodes);
  const nodes = target.kind === 'names' ? target.nodes : [];
  const ns = o.namespace ?? 'isobench';
  if (!DNS1123_LABEL.test(ns) || ns.length > 63)
    throw new IsobenchError(
      'BAD_ARGS',
      `--namespace "${ns}": not a Kubernetes namespace name (lowercase letters, digits and "-")`,
    );
  const fleetId =
    o.fleetId ?? `${scenario.name}-k8s-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
  if (!FLEET_ID_RE.test(fleetId))
    throw new IsobenchError('BAD_ARGS', `--fleet-id "${fleetId}": use letters, digits, ".", "_" and "-" only`);
  const collectSeconds = o.collectSeconds ?? 3600;
  const runner = o.runnerImage ?? 'debian:12-slim';
  const timeouts = (scenario as { timeouts?: { runMinutes?: number } }).timeouts;
  const runSeconds = (timeouts?.runMinutes ?? 60) * 60;
  const labels = { 'app.kubernetes.io/name': 'isobench', 'isobench/fleet': objName(fleetId) };
  const notes: string[] = [];
  const collect: string[] = [];
  const fleetOut = path.join(o.resultsRoot, fleetId);
  const scenarioMap = objName('isobench', fleetId, 'scenario');

  const base: Record<string, unknown>[] = [
    validateK8s(
      new Namespace({ metadata: { name: ns, labels: { ...labels, ...POD_SECURITY_LABELS } } }),
      `Namespace ${ns}`,
    ),
    validateK8s(
      new ConfigMap({ metadata: { name: scenarioMap, namespace: ns, labels }, data: { 'scenario.yaml': source } }),
      'scenario ConfigMap',
    ),
  ];

  const hostDir = `${HOST_RESULTS}/${fleetId}`;
  /** The runner's script; the node is a name, or "$NODE_NAME" the pod expands (ids are checked: no other user text). */
  const runnerScript = (node: string, hold: boolean): string => {
    // runIdFor keeps a node name as it is (DNS-1123); "$NODE_NAME" is expanded by the pod's shell, so it is kept too.
    const runId = node === '$NODE_NAME' ? `${fleetId}-$NODE_NAME` : runIdFor(fleetId, node);
    return [
      'set -u',
      `mkdir -p /host${hostDir}`,
      `cp /scenario/scenario.yaml /host${hostDir}/scenario.yaml`,
      `chroot /host env ISOBENCH_RESULTS=${hostDir} ${HOST_ISOBENCH}/bin/isobench.js run ${hostDir}/scenario.yaml ` +
        `--run-id ${runId} --no-report; rc=$?`,
      `echo "isobench: done rc=$rc results=${hostDir}/${runId}"`,
      // A DaemonSet pod must not exit (it would be restarted and run again): it holds until deleted.
      hold ? 'while :; do sleep 3600; done' : `sleep ${collectSeconds}`,
      'exit $rc',
    ].join('\n');
  };
  const runnerPod = (
    node: string | NodeRequirement[],
    script: string,
    podLabels: Record<string, string>,
    restartPolicy: 'Never' | 'Always',
  ): Record<string, unknown> => ({
    metadata: { labels: podLabels },
    spec: {
      restartPolicy,
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
          ...(typeof node === 'string' ? {} : { env: NODE_NAME_ENV }),
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
        { name: 'scenario', configMap: { name: scenarioMap } },
      ],
    },
  });

  const jobs: Record<string, unknown>[] = [];
  if (target.kind === 'names') {
    for (const node of nodes) {
      const runId = runIdFor(fleetId, node);
      const name = objName('isobench', fleetId, node);
      const podLabels = { ...labels, 'isobench/role': 'node', 'isobench/node': node };
      const job = new Job({
        metadata: { name, namespace: ns, labels: podLabels },
        spec: {
          backoffLimit: 0,
          activeDeadlineSeconds: runSeconds + collectSeconds + 600,
          template: runnerPod(node, runnerScript(node, false), podLabels, 'Never') as never,
        },
      });
      jobs.push(validateK8s(job, `Job ${name}`));
      collect.push(
        `kubectl -n ${ns} logs -f job/${name} | grep -m1 'isobench: done'`,
        `kubectl -n ${ns} cp "$(kubectl -n ${ns} get pod -l job-name=${name} -o ` +
          `jsonpath='{.items[0].metadata.name}')":/results/${runId} ${path.join(fleetOut, node)}`,
      );
    }
  } else {
    const name = objName('isobench', fleetId, 'nodes');
    const podLabels = { ...labels, 'isobench/role': 'node' };
    const ds = new DaemonSet({
      metadata: { name, namespace: ns, labels: podLabels },
      spec: {
        selector: { matchLabels: podLabels },
        template: runnerPod(target.requirements, runnerScript('$NODE_NAME', true), podLabels, 'Always') as never,
      },
    });
    jobs.push(validateK8s(ds, `DaemonSet ${name}`));
    const sel = Object.entries(podLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    collect.push(
      `# nodes matching ${target.selector}: one pod each; fetch each once its log says "isobench: done"`,
      `kubectl -n ${ns} get pods -l ${sel} -o jsonpath='${PODS_NODES}' | while read -r pod node; do` +
        ` kubectl -n ${ns} logs "$pod" | grep -q 'isobench: done' &&` +
        ` kubectl -n ${ns} cp "$pod:/results/${fleetId}-$node" "${fleetOut}/$node"; done`,
    );
  }

  // Platform arms: the same CPU workload under each RuntimeClass and as a KubeVirt VM.
  const classes: Record<string, unknown>[] = [];
  for (const c of PLATFORM_CLASSES) {
    const measured = o.runtimeClassOverheads?.find((r) =>
      c.kind === 'vm' ? r.kind === 'vm' : r.variant === c.variant,
    );
    const podFixed: Record<string, string> = {};
    if (measured?.memoryMi != null && measured.memoryMi > 0) podFixed.memory = `${measured.memoryMi}Mi`;
    if (measured?.cpuMillicores != null && measured.cpuMillicores > 0) podFixed.cpu = `${measured.cpuMillicores}m`;
    if (o.run && !Object.keys(podFixed).length)
      notes.push(
        `RuntimeClass ${c.name}: run ${o.run.runId} has no measured ${c.kind === 'vm' ? 'VM' : c.variant} ` +
          `footprint, so no overhead.podFixed`,
      );
    classes.push(
      validateK8s(
        new RuntimeClass({
          metadata: {
            name: c.name,
            labels,
            ...(o.run && Object.keys(podFixed).length
              ? { annotations: { 'isobench/overhead-from-run': o.run.runId } }
              : {}),
          },
          handler: c.handler,
          ...(Object.keys(podFixed).length ? { overhead: { podFixed } } : {}),
        }),
        `RuntimeClass ${c.name}`,
      ),
    );
  }
  if (!o.run)
    notes.push(
      'RuntimeClasses carry no overhead.podFixed: pass --run <run-id> to set ' +
        "it from a run's measured footprint and CPU overhead",
    );

  // The arms run the CPU workload's probes, interleaved in time slots (arms.ts):
  // arm i, round r at start + (r * arms + i) * slot.
  const instance = (scenario as { instance: { vcpus: number; memoryMiB: number } }).instance;
  const cpuEntry = (scenario.workloads as Record<string, unknown>).cpu;
  const { repetitions, params, probes: only } = splitWorkloadEntry(cpuEntry ?? {}, scenario);
  const probes = cpuArmProbes(params, instance.vcpus, only);
  const { seconds } = cpuParams.parse(params ?? {});
  const armNames = [
    ...(o.workloadImage ? PLATFORM_CLASSES.map((c) => c.name) : []),
    ...(o.vmImage ? [KUBEVIRT_ARM] : []),
  ];
  const slotSeconds = slotSecondsFor(probes, seconds);
  const start = o.armStart ?? Math.ceil((Date.now() / 1000 + 600) / 60) * 60;
  const schedule = (arm: string, node: string): Parameters<typeof armScript>[0] => ({
    arm,
    node,
    index: armNames.indexOf(arm),
    arms: armNames.length,
    rounds: repetitions,
    slotSeconds,
    start,
  });
  if (armNames.length) {
    const endAt = start + repetitions * armNames.length * slotSeconds;
    notes.push(
      `Arms (${armNames.join(', ')}) take turns from ${new Date(start * 1000).toISOString()}` +
        ` in ${slotSeconds} s slots, ${repetitions} round(s), until about ${new Date(endAt * 1000).toISOString()}:` +
        ' apply before the start (a late arm misses its first rounds) or set --arm-start',
    );
  }
  const armResources = {
    requests: { cpu: String(instance.vcpus), memory: `${instance.memoryMiB}Mi` },
    limits: { cpu: String(instance.vcpus), memory: `${instance.memoryMiB}Mi` },
  };
  const armPod = (
    c: { name: string },
    node: string | NodeRequirement[],
    podLabels: Record<string, string>,
    restartPolicy: 'Never' | 'Always',
  ): Record<string, unknown> => {
    const script = armScript(schedule(c.name, typeof node === 'string' ? node : '$NODE_NAME'), probes);
    return {
      metadata: { labels: podLabels },
      spec: {
        restartPolicy,
        runtimeClassName: c.name,
        affinity: nodeAffinity(node),
        containers: [
          {
            name: 'workload',
            image: o.workloadImage,
            command: ['/bin/sh', '-c', restartPolicy === 'Always' ? `${script}while :; do sleep 3600; done\n` : script],
            ...(typeof node === 'string' ? {} : { env: NODE_NAME_ENV }),
            resources: armResources,
          },
        ],
      },
    };
  };
  const armLog = (arm: string, node: string): string => path.join(fleetOut, 'arms', `${arm}-${node}.log`);
  const arms: Record<string, unknown>[] = [];
  const vmis: Record<string, unknown>[] = [];
  if (o.workloadImage) {
    for (const c of PLATFORM_CLASSES) {
      if (target.kind === 'names') {
        for (const node of nodes) {
          const name = objName('isobench', fleetId, 'arm', c.name, node);
          const podLabels = { ...labels, 'isobench/role': 'arm', 'isobench/node': node, 'isobench/arm': c.name };
          arms.push(
            validateK8s(
              new Job({
                metadata: { name, namespace: ns, labels: podLabels },
                spec: { backoffLimit: 0, template: armPod(c, node, podLabels, 'Never') as never },
              }),
              `Job ${name}`,
            ),
          );
          collect.push(`kubectl -n ${ns} logs job/${name} > ${armLog(c.name, node)}`);
        }
      } else {
        const name = objName('isobench', fleetId, 'arm', c.name);
        const podLabels = { ...labels, 'isobench/role': 'arm', 'isobench/arm': c.name };
        arms.push(
          validateK8s(
            new DaemonSet({
              metadata: { name, namespace: ns, labels: podLabels },
              spec: {
                selector: { matchLabels: podLabels },
                template: armPod(c, target.requirements, podLabels, 'Always') as never,
              },
            }),
            `DaemonSet ${name}`,
          ),
        );
        const sel = Object.entries(podLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        collect.push(
          `kubectl -n ${ns} get pods -l ${sel} -o jsonpath='${PODS_NODES}' | while read -r pod node; do` +
            ` kubectl -n ${ns} logs "$pod" > "${path.join(fleetOut, 'arms')}/${c.name}-$node.log"; done`,
        );
      }
    }
  }
  if (o.vmImage) {
    // A VMI is one machine: one per named node; with a selector, one on a node the selector matches.
    const vmNodes: (string | null)[] = target.kind === 'names' ? nodes : [null];
    for (const node of vmNodes) {
      const name = objName('isobench', fleetId, 'vmi', node ?? 'selected');
      const script = armScript(schedule(KUBEVIRT_ARM, node ?? 'selected'), probes);
      const vmi: V1VirtualMachineInstance = {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: {
          name,
          namespace: ns,
          labels: {
            ...labels,
            'isobench/role': 'arm',
            ...(node ? { 'isobench/node': node } : {}),
            'isobench/arm': KUBEVIRT_ARM,
          },
        },
        spec: {
          ...(node
            ? { nodeSelector: { 'kubernetes.io/hostname': node } }
            : { affinity: nodeAffinity(target.kind === 'selector' ? target.requirements : []) as never }),
          domain: {
            cpu: { cores: instance.vcpus },
            resources: { requests: { memory: `${instance.memoryMiB}Mi` } },
            devices: {
              disks: [
                { name: 'root', disk: { bus: 'virtio' } },
                { name: 'cloudinit', disk: { bus: 'virtio' } },
              ],
            },
          },
          volumes: [
            { name: 'root', containerDisk: { image: o.vmImage } },
            // The guest runs the arm's script on boot and prints it to the serial console (collected as the arm's log).
            {
              name: 'cloudinit',
              cloudInitNoCloud: {
                userData: `#cloud-config\n${stringify(
                  {
                    write_files: [{ path: '/var/lib/isobench-arm.sh', permissions: '0755', content: script }],
                    runcmd: [['sh', '-c', 'sh /var/lib/isobench-arm.sh > /dev/ttyS0 2>&1']],
                  },
                  { lineWidth: 0 },
                )}`,
              },
            },
          ],
          terminationGracePeriodSeconds: 0,
        },
      };
      vmis.push(validateVmi(vmi, `VirtualMachineInstance ${name}`));
      const logOf = node
        ? armLog(KUBEVIRT_ARM, node)
        : `"${path.join(fleetOut, 'arms')}/${KUBEVIRT_ARM}-` +
          `$(kubectl -n ${ns} get vmi ${name} -o jsonpath='{.status.nodeName}').log"`;
      collect.push(`kubectl -n ${ns} logs -l kubevirt.io/domain=${name} -c guest-console-log > ${logOf}`);
    }
    if (target.kind === 'selector')
      notes.push(
        `KubeVirt arm: one VMI on one node matching ${target.selector} (name nodes with --nodes a,b for one per node)`,
      );
  }
  if (!o.workloadImage)
    notes.push(
      'No RuntimeClass arm Jobs: pass --workload-image IMAGE (an image with sh, sysbench and stress-ng)' +
        ' to run the CPU probes under runc, runsc and kata',
    );
  if (!o.vmImage)
    notes.push(
      'No KubeVirt VirtualMachineInstances: pass --vm-image IMAGE (a containerDisk: cloud-init, sysbench, stress-ng)',
    );

  const files = [
    { name: '00-namespace.yaml', objects: base },
    { name: '10-runtimeclasses.yaml', objects: classes },
    { name: '20-node-jobs.yaml', objects: jobs },
    ...(arms.length ? [{ name: '30-runtimeclass-arms.yaml', objects: arms }] : []),
    ...(vmis.length ? [{ name: '40-kubevirt-vmis.yaml', objects: vmis }] : []),
  ];
  return { fleetId, nodes, selector: target.kind === 'selector' ? target.selector : undefined, files, collect, notes };
}

/** Writes results/<fleet-id>/k8s/*.yaml, collect.sh and fleet.json; returns the k8s directory. */
export async function writeK8s(
  m: K8sManifests,
  o: { scenarioFile: string; scenarioName: string; nodes: string[]; resultsRoot: string },
): Promise<string> {
  const fleetDir = path.resolve(o.resultsRoot, m.fleetId);
  if (existsSync(path.join(fleetDir, FLEET_FILE)) && readFleetManifest(fleetDir).engine !== 'k8s') {
    throw new IsobenchError(
      'BAD_ARGS',
      `--fleet-id ${m.fleetId}: ${fleetDir} holds an Ansible fleet; pick another fleet id`,
    );
  }
  const dir = path.join(fleetDir, 'k8s');
  await fs.mkdir(path.join(fleetDir, 'arms'), { recursive: true });
  await fs.mkdir(dir, { recursive: true });
  for (const f of m.files)
    await writeFileAtomic(
      path.join(dir, f.name),
      f.objects.map((x) => `---\n${stringify(x, { lineWidth: 0 })}`).join(''),
    );
  await writeFileAtomic(
    path.join(dir, 'collect.sh'),
    `#!/bin/sh\n# Fetch each node's results into this fleet directory once its Job logs "isobench: ` +
      `done".\nset -eu\n${m.collect.join('\n')}\n`,
  );
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
