/**
 * Start-up: the start-to-ready distribution. Each repetition starts `starts`
 * fresh instances one after another (never overlapping, so one start does not
 * slow the next), records the time from Backend.start() to the first successful
 * exec inside the instance (measured once, by the runner's lifecycle template:
 * ctx.startInstance) and the stages the backend can tell apart, and stops each
 * instance right away.
 *
 * Stage values are cumulative: milliseconds from start() to the end of that stage
 * (e.g. `stage-runtime-started-ms` for a container, QEMU start / kernel / agent
 * stages for a VM), as the backend reports them in startupStages().
 */
import { z } from 'zod';
import { registerWorkload } from './registry.js';
import { kebab, metric } from './common.js';
import type { MetricDecl, MetricValue, Workload } from './types.js';

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
  return { name: stageMetricName(stage), unit: 'ms', higherIsBetter: false, description: `start-up stage "${stage}" as the backend reports it (ms; cumulative since start() unless the backend says otherwise)` };
}

/** Stages the backends in this tree report today; others are accepted and named the same way. */
export const KNOWN_STAGES = [
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
  'guestUptimeAtReady',
];

export const startupWorkload: Workload<StartupParams> = registerWorkload({
  name: 'startup',
  title: 'Start-up',
  description: 'start-to-ready time of fresh instances (Backend.start() to first successful exec) and the start-up stages the backend tells apart',
  params: startupParams,
  needsNetwork: false,
  needsDisk: false,
  metrics: [
    { name: 'ready-ms', unit: 'ms', higherIsBetter: false, description: 'start() to first successful exec inside the instance' },
    ...KNOWN_STAGES.map(stageMetricDecl),
  ],
  metricFor: (name: string) => (/^stage-[a-z0-9-]+-ms$/.test(name) ? { ...stageMetricDecl(name.slice(6, -3)), name } : undefined),
  async run(ctx) {
    const out: MetricValue[] = [];
    for (let i = 1; i <= ctx.params.starts; i++) {
      ctx.progress(`start ${i}/${ctx.params.starts}`);
      const { instance, readyMs } = await ctx.startInstance();
      try {
        const stages = instance.startupStages();
        const rawLog = await ctx.saveRaw(`startup-${i}`, `${JSON.stringify({ start: i, instance: instance.name, kind: instance.kind, variant: instance.variant, readyMs, stages }, null, 2)}\n`);
        out.push(metric('startup', 'ready-ms', readyMs, rawLog));
        for (const [stage, ms] of Object.entries(stages)) out.push(metric('startup', stageMetricName(stage), ms, rawLog));
      } finally {
        await instance.stop();
      }
    }
    return out;
  },
});
