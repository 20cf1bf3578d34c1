/**
 * Workload `extra` data: what a workload keeps per repetition besides its
 * metrics (ctx.recordExtra(name, data) -> cell.extra[name] = [{repetition, data}]).
 * Each workload declares the zod schema of each name it records
 * (`extraSchema` in its definition, the schemas in this folder); the runner
 * checks the data when it is recorded (a mismatch is a bug in the workload,
 * reported with the workload, the name and the path of the wrong field), and
 * the report parses it with the same schema, so it reads typed data.
 *
 * Schemas are loose (fields nobody reads yet are kept) and require only what a
 * reader needs; older files that lack a field a reader needs are skipped by
 * the report with the zod issue as the reason, never a crash.
 */
import { z } from 'zod';

/** The schemas of one workload's extra data, by record name. */
export type ExtraSchemas = Readonly<Record<string, z.ZodType>>;

/**
 * A measured number as recorded (NaN or ±Infinity when a figure is undefined)
 * or as read back (JSON writes those as null): the reader gets undefined for
 * "no finite value", a finite number otherwise.
 */
export const measured = z
  .custom<number | null>((v) => typeof v === 'number' || v === null, {
    message: 'expected a number (NaN and null allowed)',
  })
  .transform((v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined));

/**
 * `extra.environment` (cpu, memory, disk, network): what besides the binaries shapes the work
 * (src/workloads/environment.ts).
 */
export const environmentExtra = z.union([
  z.looseObject({
    mounts: z.number(),
    etcFiles: z.number(),
    etcSha256: z.string(),
    thp: z.string(),
    seccomp: z.number().nullable(),
    seccompFilters: z.number().nullable(),
    noNewPrivs: z.number().nullable(),
    cpusAllowed: z.string().nullable(),
    cgroup: z.array(z.string()),
    rawLog: z.string(),
  }),
  z.looseObject({ error: z.string(), rawLog: z.string().optional() }),
]);

/** `extra.metricFailures` (network, partition): a probe that failed while the others measured. */
export const metricFailuresExtra = z.looseObject({
  metrics: z.array(z.string()),
  error: z.string(),
  rawLog: z.string().optional(),
});

/**
 * `extra.netSoftirqs`: recorded by the runner itself for every workload on the bench network (host NET_RX/NET_TX
 * per CPU).
 */
export const netSoftirqsExtra = z.looseObject({ netRxPerCpu: z.array(z.number()), netTxPerCpu: z.array(z.number()) });

/**
 * `extra.skippedParts`: a part of a workload (partition's disk share, a noisy-neighbour
 * mechanism) not attempted because the host lacks a capability (host/capabilities.ts),
 * with the reason and the fix. The cell stays complete; a part that was attempted and
 * broke is a metricFailure instead.
 */
export const skippedPartExtra = z.looseObject({
  part: z.string(),
  metrics: z.array(z.string()),
  capability: z.string(),
  reason: z.string(),
  fix: z.string(),
});

/** Extras any workload may record besides its own: the runner's, and skipped parts. */
export const RUNNER_EXTRAS: ExtraSchemas = { netSoftirqs: netSoftirqsExtra, skippedParts: skippedPartExtra };

/** What cpu, memory and disk record. */
export const environmentExtras = { environment: environmentExtra } as const satisfies ExtraSchemas;

/**
 * Check one recorded extra against the workload's declaration. Returns the data
 * as recorded (the check does not rewrite it); throws an Error naming the
 * workload, the record name and the path of the first wrong field.
 */
export function checkExtra(
  workload: { name: string; extraSchema?: ExtraSchemas },
  name: string,
  data: unknown,
): unknown {
  const schema = workload.extraSchema?.[name] ?? RUNNER_EXTRAS[name];
  if (!schema) {
    throw new Error(
      `bug: workload ${workload.name} recorded extra "${name}", which it does not declare ` +
        "(add it to the workload's extraSchema in src/workloads/extras/)",
    );
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0];
    const why = i ? `${i.path.map(String).join('.') || '(top level)'}: ${i.message}` : 'invalid';
    throw new Error(`bug: workload ${workload.name} recorded extra "${name}" that does not match its schema: ${why}`);
  }
  return data;
}
