/**
 * Start-up: one definition for every backend (STARTUP_DEFINITION): from the
 * launch of a fresh instance (runtime, QEMU or native process spawned) to the
 * first instruction of its payload, signalled by the payload itself. Each
 * repetition starts `starts` fresh instances one after another (never
 * overlapping, so one start does not slow the next) through the runner's
 * lifecycle template (ctx.startInstance), which turns the backend's end points
 * into the figure and its stages, and stops each instance right away.
 *
 * Metrics: `startup-ms` (the headline), the stages each on its own
 * (`stage-prepare-ms`, `stage-network-attach-ms`, `stage-payload-to-first-exec-ms`),
 * `ready-ms` (start() to the first exec through the harness: what the harness
 * waits for, not the start-up figure), and the backend's own cumulative marks
 * (`stage-<name>-ms`). The definition and how each backend's payload signalled
 * go into the cell's extra.startup (results.json).
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { kebab, metric } from './common.js';
import type { MetricDecl, MetricValue, StartupMeasure, Workload } from './types.js';
import { STARTUP_DEFINITION } from '../backends/types.js';
import { startupExtras } from './extras/startup.js';

export const startupParams = z
  .object({
    /** Fresh instances started (one after another) per repetition. */
    starts: z.number().int().min(1).max(100).default(3),
  })
  .strict();

export type StartupParams = z.infer<typeof startupParams>;

/** Metric name of a backend start-up stage ("runtimeStarted" -> "stage-runtime-started-ms"). */
export function stageMetricName(stage: string): string {
  return `stage-${kebab(stage)}-ms`;
}

/** Declaration of a stage metric: stage names come from the backends, so they are declared on demand. */
export function stageMetricDecl(stage: string): MetricDecl {
  return {
    name: stageMetricName(stage),
    unit: 'ms',
    higherIsBetter: false,
    description:
      `start-up stage "${stage}" as the backend reports it ` +
      '(ms; cumulative since start() unless the backend says otherwise)',
  };
}

/** Stages the backends in this tree report today; others are accepted and named the same way. */
export const KNOWN_STAGES = [
  // every backend: the start-up definition's end points
  'launched',
  'payloadReady',
  // native
  'cgroupReady',
  'networkReady',
  // container
  'scratchReady',
  'networkAttached',
  'bundleWritten',
  'runtimeStarted',
  // container engines (podman, docker): engineReturned - engineRequest is the engine round trip
  'engineRequest',
  'engineReturned',
  'networkMoved',
  // vm
  'qemuStarted',
  'kernelEntry',
  'initStarted',
  'agentStarting',
  'agentReady',
  'guestReady',
  'guestUptimeAtReady',
];

/** The definition's own stages (durations, ms), the same for every backend. */
export const DEFINITION_STAGE_METRICS: MetricDecl[] = [
  {
    name: 'stage-prepare-ms',
    unit: 'ms',
    higherIsBetter: false,
    description: 'start() to launch: host-side preparation (scratch disk, cgroup, bundle), network attachment included',
  },
  {
    name: 'stage-network-attach-ms',
    unit: 'ms',
    higherIsBetter: false,
    description: 'host-side network attachment alone (veth or tap), part of preparation; only with network',
  },
  {
    name: 'stage-payload-to-first-exec-ms',
    unit: 'ms',
    higherIsBetter: false,
    description:
      "payload's ready signal to the first successful exec through the harness " +
      "(runtime exec / guest agent, after the guest's own set-up)",
  },
];

export const startupWorkload: Workload<StartupParams> = registerWorkload({
  name: 'startup',
  title: 'Start-up',
  order: 50,
  judgement: { comparison: 'difference', thresholdByUnit: { ms: 50 } },
  // The one start-up definition's figure; ready-ms in files written before it existed.
  primary: [/^startup-ms$/, /^ready-ms$/, /^ready/i],
  phrase: 'to ready',
  metricPhrases: { 'startup-ms': 'to start (launch to payload signal)' },
  distribution: 'all',
  isolation: { view: 'startup' },
  description: `start-up of fresh instances by one definition for every backend: ${STARTUP_DEFINITION}`,
  params: startupParams,
  extraSchema: startupExtras,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    { name: 'startup-ms', unit: 'ms', higherIsBetter: false, description: `start-up: ${STARTUP_DEFINITION}` },
    ...DEFINITION_STAGE_METRICS,
    {
      name: 'ready-ms',
      unit: 'ms',
      higherIsBetter: false,
      description:
        'start() to the first successful exec through the harness (all stages together; not the start-up figure)',
    },
    ...KNOWN_STAGES.map(stageMetricDecl),
  ],
  metricFor: (name: string) =>
    /^stage-[a-z0-9-]+-ms$/.test(name) ? { ...stageMetricDecl(name.slice(6, -3)), name } : undefined,
  async run(ctx) {
    const out: MetricValue[] = [];
    const starts: Array<{ start: number; startupMs: number; stages: StartupMeasure['stages'] }> = [];
    let signal = '';
    for (let i = 1; i <= ctx.params.starts; i++) {
      ctx.progress(`start ${i}/${ctx.params.starts}`);
      const { instance, readyMs, startup } = await ctx.startInstance();
      try {
        const stages = instance.startupStages();
        const record = {
          start: i,
          instance: instance.name,
          kind: instance.kind,
          variant: instance.variant,
          startup,
          readyMs,
          backendStages: stages,
        };
        const rawLog = await ctx.saveRaw(`startup-${i}`, `${JSON.stringify(record, null, 2)}\n`);
        out.push(metric('startup', 'startup-ms', startup.startupMs, rawLog));
        out.push(metric('startup', 'stage-prepare-ms', startup.stages.prepareMs, rawLog));
        if (startup.stages.networkAttachMs !== undefined)
          out.push(metric('startup', 'stage-network-attach-ms', startup.stages.networkAttachMs, rawLog));
        out.push(metric('startup', 'stage-payload-to-first-exec-ms', startup.stages.payloadToFirstExecMs, rawLog));
        out.push(metric('startup', 'ready-ms', readyMs, rawLog));
        for (const [stage, ms] of Object.entries(stages))
          out.push(metric('startup', stageMetricName(stage), ms, rawLog));
        starts.push({ start: i, startupMs: startup.startupMs, stages: startup.stages });
        signal = startup.signal;
      } finally {
        await instance.stop();
      }
    }
    // The definition and how this backend's payload signalled, for results.json (cell.extra.startup).
    ctx.recordExtra?.('startup', { definition: STARTUP_DEFINITION, signal, starts });
    return out;
  },
});
