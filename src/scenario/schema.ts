/**
 * Scenario schema. Every object is strict: an unknown key is an error, so a typo
 * never silently falls back to a default. Workload parameter schemas come from
 * the workload registry (each workload owns its parameters).
 */
import { z } from 'zod';
import { allWorkloads } from '../workloads/registry.js';
import '../workloads/index.js';
import { allProviders, resolveEntry, type ResolvedBackend } from '../backends/providers/index.js';

export type { ResolvedBackend } from '../backends/providers/index.js';

export const SAFE_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Backend entries come from the provider registry: each provider owns its shorthands and object form. */
function backendEntrySchema() {
  const providers = allProviders();
  const shorthands = providers.flatMap((p) => p.shorthands);
  const shorthand = z.string().refine((v) => shorthands.includes(v), {
    message: `expected ${providers
      .filter((p) => p.shorthands.length > 0)
      .map((p) => p.shorthandHelp)
      .join(', ')}`,
  });
  const [first, ...rest] = providers.map((p) => p.objectSchema);
  if (!first) throw new Error('no backend providers registered');
  return z.union([shorthand, z.discriminatedUnion('kind', [first, ...rest])]);
}

export const backendSchema = backendEntrySchema();

const diskSchema = z
  .object({
    sizeMiB: z.number().int().min(16).max(1_048_576).default(256),
    mode: z.enum(['dir', 'image']).default('dir'),
  })
  .strict();

export const instanceSchema = z
  .object({
    vcpus: z.number().int().min(1).max(1024).default(1),
    /** Host CPUs to pin to; "auto" picks the last `vcpus` CPUs, leaving CPU 0 for the harness and traffic peer. */
    cpus: z.union([z.literal('auto'), z.array(z.number().int().min(0)).min(1)]).default('auto'),
    memoryMiB: z.number().int().min(64).max(4_194_304).default(512),
    pidsLimit: z.number().int().min(16).max(4_194_304).default(1024),
    disk: diskSchema.default({ sizeMiB: 256, mode: 'dir' }),
    /**
     * Allow the instance CPU set to take every host CPU, sharing the harness's and
     * traffic peers' CPU (refused otherwise: src/runner/placement.ts).
     */
    shareHarnessCpu: z.boolean().default(false),
  })
  .strict();

const adaptiveSchema = z
  .object({
    /**
     * Repeat while a reported overhead vs native is inconclusive and its 95% CI half-width is above this many
     * percent (figures compared by difference use their threshold, in their unit, instead).
     */
    targetCiPct: z.number().gt(0).max(100),
    maxRepetitions: z.number().int().min(2).max(1000),
    /** Time box per workload for the extra repetitions. */
    maxMinutes: z.number().gt(0).max(10_080).default(30),
  })
  .strict();

/**
 * Practical thresholds per category (workload name): a number is a percent for ratio metrics; an object may
 * give `pct` and thresholds in a metric's own unit (`ms: 100`, `MiB: 16`, `pp: 3`).
 */
const thresholdValue = z.union([z.number().gt(0).max(1000), z.record(z.string().min(1), z.number().gt(0))]);

const timeoutsSchema = z
  .object({
    bootSeconds: z.number().gt(0).max(3600).default(90),
    execSeconds: z.number().gt(0).max(86_400).default(180),
    workloadSeconds: z.number().gt(0).max(86_400).default(900),
    runMinutes: z.number().gt(0).max(10_080).default(120),
  })
  .strict();

/**
 * Keys the runner takes from a workload's entry (the rest are the workload's own
 * parameters): per-workload repetitions and warm-up, for workloads that are one
 * long experiment per repetition (partition, density) or that start their own
 * instances (startup, footprint).
 */
export const RUN_KEYS = ['repetitions', 'warmup', 'probes'] as const;
const runKeysShape = {
  repetitions: z.number().int().min(1).max(1000).optional(),
  warmup: z.number().int().min(0).max(100).optional(),
  /** Run only these of the workload's probes (by name; checked against the workload's own list by the loader). */
  probes: z.array(z.string().min(1)).min(1).optional(),
};

function workloadsSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const w of allWorkloads()) {
    const p = w.params as z.ZodType;
    shape[w.name] = (p instanceof z.ZodObject ? p.extend(runKeysShape) : p).optional();
  }
  return z
    .object(shape)
    .strict()
    .refine((o) => Object.values(o).some((v) => v !== undefined), { message: 'at least one workload is required' });
}

export function scenarioSchema() {
  return z
    .object({
      name: z.string().regex(SAFE_NAME, { message: 'use 1-32 characters a-z 0-9 -, starting with a letter or digit' }),
      description: z.string().max(2000).default(''),
      backends: z.array(backendSchema).min(1),
      instance: instanceSchema.default({
        vcpus: 1,
        cpus: 'auto',
        memoryMiB: 512,
        pidsLimit: 1024,
        disk: { sizeMiB: 256, mode: 'dir' },
        shareHarnessCpu: false,
      }),
      repetitions: z.number().int().min(1).max(1000).default(3),
      warmup: z.number().int().min(0).max(100).default(1),
      adaptive: adaptiveSchema.optional(),
      thresholds: z
        .record(z.string(), thresholdValue)
        .superRefine((t, ctx) => {
          const known = allWorkloads().map((w) => w.name as string);
          for (const k of Object.keys(t))
            if (!known.includes(k))
              ctx.addIssue({
                code: 'custom',
                path: [k],
                message: `unknown category "${k}"; use one of ${known.join(', ')}`,
              });
        })
        .optional(),
      order: z.enum(['interleaved', 'sequential']).default('interleaved'),
      timeouts: timeoutsSchema.default({ bootSeconds: 90, execSeconds: 180, workloadSeconds: 900, runMinutes: 120 }),
      workloads: workloadsSchema(),
    })
    .strict();
}

export type Scenario = z.output<ReturnType<typeof scenarioSchema>>;
export type BackendEntry = z.output<typeof backendSchema>;
export type InstanceConfig = z.output<typeof instanceSchema>;

export function resolveBackend(entry: BackendEntry): ResolvedBackend {
  return resolveEntry(entry as string | ({ kind: string } & Record<string, unknown>));
}

/** Key identifying a backend entry before it is prepared (duplicates are an error). */
export function backendKey(b: ResolvedBackend): string {
  return b.key;
}

/** A workload's entry split into the runner's keys and the workload's own parameters. */
export function splitWorkloadEntry(
  entry: unknown,
  s: Pick<Scenario, 'repetitions' | 'warmup'>,
): { repetitions: number; warmup: number; params: unknown; explicitRepetitions: boolean; probes?: string[] } {
  if (!entry || typeof entry !== 'object')
    return { repetitions: s.repetitions, warmup: s.warmup, params: entry, explicitRepetitions: false };
  const { repetitions, warmup, probes, ...params } = entry as {
    repetitions?: number;
    warmup?: number;
    probes?: string[];
  };
  return {
    repetitions: repetitions ?? s.repetitions,
    warmup: warmup ?? s.warmup,
    params,
    explicitRepetitions: repetitions !== undefined,
    ...(probes ? { probes } : {}),
  };
}
