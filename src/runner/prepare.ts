/**
 * Everything a run sets up before its first measurement: the workload image,
 * the harness pinned to its CPUs, the private work directory, the bench
 * network and every backend (a backend that cannot work here fails its
 * cells, the run goes on); then the instances as measurements need them, and
 * the freezing of idle ones while another backend is measured.
 */
import { hasCapability, missingReason } from '../host/capabilities.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import type { BackendContext, Instance, InstanceSpec } from '../backends/types.js';
import type { ResolvedBackend } from '../scenario/schema.js';
import { getProvider } from '../backends/providers/index.js';
import { BenchNet } from '../net/bench.js';
import type { BackendResult } from '../results/types.js';
import { variantDeclaration } from '../core/declarations.js';
import { abortable, isAbortError, throwIfAborted } from '../util/proc.js';
import { createBackend } from './backends.js';
import { startInstance } from './lifecycle.js';
import { cpusAllowed, pinProcess, planCpus } from './placement.js';
import type { LiveBackend, RunSession } from './session.js';

function labelSlug(label: string): string {
  return label
    .replace(/^container:/, 'c')
    .replace(/^vm:/, 'v')
    .replace(/^native$/, 'n')
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 8);
}

function placeholderInfo(e: ResolvedBackend): BackendResult {
  return {
    label: e.key,
    kind: e.kind,
    variant: e.variant,
    accelerator: 'unknown',
    acceleratorReason: 'not prepared',
    versions: {},
    warnings: [],
    details: {},
  };
}

/** The prepared run: its network and how it names, starts and isolates instances. */
export interface Prepared {
  net: BenchNet | undefined;
  baseSpec: (lb: LiveBackend, overrides?: Partial<InstanceSpec>) => InstanceSpec;
  ensureInstance: (lb: LiveBackend) => Promise<Instance>;
  /** Only lb's instances run: freeze the others' idle instances, thaw lb's. */
  isolate: (lb: LiveBackend) => Promise<void>;
}

export async function prepareRun(
  session: RunSession,
  o: { entries: ResolvedBackend[]; needsNet: boolean; workRoot: string; signal?: AbortSignal },
): Promise<Prepared> {
  const { host, scenario, runId, runDir, shortId, cleanup, progress } = session.s;
  const { warnings, live, freezer } = session;
  const needsImage = o.entries.some((e) => getProvider(e.provider).needsImage);
  if (needsImage) {
    progress.note('preparing the workload image (cached after the first build)');
    const { ensureWorkloadImage } = await import('../images/rootfs.js');
    session.image = await ensureWorkloadImage({
      log: (s: string) => progress.note(s),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
  // The harness and everything it spawns (peers, runtime clients) on the harness CPUs.
  const cpuPlan = planCpus(scenario.instance, host.cpus);
  const pin = await pinProcess(process.pid, cpuPlan.harnessCpus);
  cleanup.add(`harness CPU affinity (restore ${pin.previous})`, pin.restore);
  session.placement = {
    instanceCpus: cpuPlan.instanceCpus,
    harnessCpus: cpuPlan.harnessCpus,
    harnessCpusReadBack: (await cpusAllowed('self')) ?? null,
    sharedWithHarness: cpuPlan.shared,
    peers:
      'traffic peers (iperf3/sockperf clients), runtime clients and the harness inherit the harness CPU affinity; ' +
      'instance processes get the instance cpuset when they join its cgroup',
    idleInstances:
      'instances of the backends not being measured are frozen (cgroup freezer) during each measured or warm-up ' +
      'repetition, thawed for their own turn',
    network:
      'per network repetition, host NET_RX/NET_TX softirqs per CPU are in cells[].extra.netSoftirqs: ' +
      "on a veth (native, containers) the receive work of traffic sent to the instance runs on the sender's CPU " +
      "(the harness CPU); a VM's virtio-net work runs in QEMU on the instance CPUs",
    freezeFailures: [],
  };
  const workDir = await fs.mkdtemp(path.join(o.workRoot, `isobench-${shortId}-`));
  cleanup.add(`dir ${workDir}`, () => fs.rm(workDir, { recursive: true, force: true }));
  const net = o.needsNet ? await BenchNet.create(shortId, cleanup) : undefined;
  const ctx: BackendContext = {
    runId,
    shortId,
    workDir,
    rawDir: path.join(runDir, 'raw'),
    host,
    cleanup,
    image: session.image ?? { rootfsDir: '/', ext4Path: '', hash: 'native-host', manifestPath: '' },
    net,
  };

  // Prepare every backend; a backend that cannot work here fails its cells, the run goes on.
  for (const entry of o.entries) {
    throwIfAborted(o.signal);
    const backend = await createBackend(entry, ctx, { bootTimeoutMs: scenario.timeouts.bootSeconds * 1000 });
    const lb: LiveBackend = {
      entry,
      backend,
      label: entry.key,
      info: placeholderInfo(entry),
      extras: [],
      nameCounter: 0,
    };
    live.push(lb);
    try {
      progress.note(`preparing ${entry.key}`);
      // A Ctrl-C during preparation (VM calibration boots) ends the wait at once; what the
      // preparation started is in the registry and released by the run's finish.
      await abortable(backend.prepare(), o.signal);
      const info = backend.info();
      lb.label = backend.label;
      lb.info = { label: backend.label, ...info };
      // The provider's declared helper processes travel in the results (the report reads them there).
      const helpers = variantDeclaration(info.variant)?.helpers;
      if (helpers?.length) lb.info.helpers = helpers.map((h) => ({ ...h }));
      for (const w of info.warnings) warnings.push({ code: 'BACKEND', message: w, backend: backend.label });
    } catch (e) {
      if (isAbortError(e)) throw e;
      lb.failed = errorMessage(e);
      lb.info = { ...lb.info, error: lb.failed };
      warnings.push({ code: 'BACKEND_UNAVAILABLE', message: lb.failed, backend: lb.label });
    }
  }
  const baseSpec = (lb: LiveBackend, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
    name: `${shortId}-${labelSlug(lb.label)}-${lb.nameCounter++}`,
    vcpus: scenario.instance.vcpus,
    // The last `vcpus` CPUs ("auto"): the rest stay for the harness and the traffic peers.
    cpus: [...cpuPlan.instanceCpus],
    memoryMiB: scenario.instance.memoryMiB,
    pidsLimit: scenario.instance.pidsLimit,
    disk: { ...scenario.instance.disk },
    network: o.needsNet,
    ...overrides,
  });

  // VM self-check (vm-selfcheck-run.ts): one short boot per VM backend, guest vs host, into
  // backends[].vmSelfCheck; THP per backend.
  const { selfCheckRun } = await import('../backends/vm-selfcheck-run.js');
  throwIfAborted(o.signal);
  await abortable(
    selfCheckRun(live, {
      host,
      spec: (lb) => baseSpec(lb as LiveBackend),
      runDir,
      warnings,
      note: (t) => progress.note(t),
    }),
    o.signal,
  );
  await session.save();

  const ensureInstance = async (lb: LiveBackend): Promise<Instance> => {
    if (lb.instance) return lb.instance;
    const spec = baseSpec(lb);
    progress.note(`starting ${lb.label} instance ${spec.name}`);
    const started = await startInstance(lb.backend, spec, scenario.timeouts.bootSeconds * 1000, o.signal);
    lb.instance = started.instance;
    lb.spec = spec;
    if (started.instance.cgroup) {
      const rb = await started.instance.cgroup.readLimits().catch(() => undefined);
      if (rb) lb.info.limitsReadBack = { ...rb };
    }
    return started.instance;
  };

  const canFreeze = hasCapability(host.capabilities, 'freezer');
  if (!canFreeze) {
    const c = missingReason(host.capabilities, 'freezer');
    warnings.push({
      code: 'PLACEMENT',
      message: `idle instances are not frozen during other backends' measurements: ${c.reason} (fix: ${c.fix})`,
    });
  }
  const isolate = async (lb: LiveBackend): Promise<void> => {
    if (!canFreeze) return;
    if (lb.instance?.cgroup) await freezer.thaw(lb.instance.cgroup);
    for (const other of live) {
      const cg = other === lb ? undefined : other.instance?.cgroup;
      if (!cg || freezer.isFrozen(cg)) continue;
      try {
        await freezer.freeze(cg);
      } catch (e) {
        const msg =
          `${other.label}: could not freeze its idle instance (${errorMessage(e)}); ` +
          `it stays running during ${lb.label}'s measurements`;
        const placement = session.placement;
        if (placement && !placement.freezeFailures.includes(msg)) {
          placement.freezeFailures.push(msg);
          warnings.push({ code: 'PLACEMENT', message: msg, backend: other.label });
        }
      }
    }
  };
  return { net, baseSpec, ensureInstance, isolate };
}
