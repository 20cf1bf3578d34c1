/**
 * Backend providers by id. A provider is everything isobench knows about one
 * kind of backend: how a scenario names it (shorthand and strict object form),
 * how it is built, what doctor checks, which tools it depends on, what a crashed
 * run of it leaves behind, what it costs the host beyond its instances, and how
 * Kubernetes names its runtime. The scenario schema, doctor, versions,
 * preflight, leftovers, capacity and the runner read this registry; adding a
 * backend is its own provider module plus one import line in providers/index.ts.
 * The registry refuses duplicate ids and shorthands (as the workload registry does).
 */
import type { z } from 'zod';
import type { Backend, BackendContext, BackendKind } from './types.js';
import type { HostFacts } from '../host/facts.js';
import type { Leftover } from '../host/ownership.js';
import { declareVariants, type VariantDeclaration } from '../core/declarations.js';

/** A doctor check line (same shape as ops/doctor.ts's Check). */
export interface ProviderCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface ToolProbe {
  argv: string[];
  pattern?: RegExp;
  /** Debian package that provides it (doctor's fix line). */
  pkg: string;
  /** Only some scenarios need it (an engine): doctor warns instead of failing when it is missing. */
  optional?: boolean;
}

/** A scenario backend entry after parsing: which provider, its key and its own options. */
export interface ResolvedBackend {
  provider: string;
  /** Result category (results.json backends[].kind, samples.jsonl backend). */
  kind: BackendKind;
  /** Unique within a scenario and the default column label, e.g. `container:runc`. */
  key: string;
  /** What results call the variant before prepare() (runtime, engine or machine). */
  variant: string;
  /** The provider's own options, as its object schema parsed them. */
  options: Record<string, unknown>;
}

export interface BackendProvider {
  /** Registry key, also the object form's `kind` literal (e.g. `container`, `podman`). */
  readonly id: string;
  readonly kind: BackendKind;
  /** Shorthand strings the scenario may use for it (e.g. `container:podman`). */
  readonly shorthands: readonly string[];
  /** How the shorthands read in an error message, e.g. `container[:runc|crun|runsc]`. */
  readonly shorthandHelp: string;
  /** Strict object form; its `kind` is the literal `id`. */
  readonly objectSchema: z.ZodObject;
  /** Shorthand or parsed object -> resolved entry. */
  resolve(entry: string | Record<string, unknown>): ResolvedBackend;
  /** Whether its instances run from the shared workload image (not the host's own files). */
  readonly needsImage: boolean;
  /** Host memory one instance costs beyond its memory limit (preflight), MiB. */
  readonly hostOverheadMiB: number;
  /** Host memory the engine costs once per host while it runs (preflight), MiB. */
  readonly hostFixedMiB?: number;
  create(entry: ResolvedBackend, ctx: BackendContext, opts: { bootTimeoutMs: number }): Promise<Backend>;
  /** Tools whose versions results record and doctor checks. */
  readonly tools?: Record<string, ToolProbe>;
  /** Doctor checks specific to this backend (after the tool checks). */
  doctor?(
    host: HostFacts,
    versions: Record<string, string | null>,
    opts: { probeVm?: boolean },
  ): Promise<{ checks: ProviderCheck[]; extra?: Record<string, unknown> }>;
  /** What crashed runs of this backend left behind that the generic sweep (netns, cgroups, dirs) does not see. */
  leftovers?(): Promise<Leftover[]>;
  /**
   * What only the provider knows about each variant it offers (results' `variant`): the caveats that change
   * what a figure means (O_DIRECT), the helper processes an instance brings and where they run, its self-check.
   * Plausibility and the report read these from src/core/declarations.ts, never by the variant's name.
   */
  readonly variants?: readonly Omit<VariantDeclaration, 'provider'>[];
  /** Kubernetes RuntimeClass handler for a variant, and whether it is a guess. */
  runtimeClassHandler?(variant: string): { handler: string; guess: boolean };
}

const providers = new Map<string, BackendProvider>();

export function registerProvider(p: BackendProvider): BackendProvider {
  if (providers.has(p.id)) throw new Error(`backend provider ${p.id} registered twice`);
  for (const s of p.shorthands)
    for (const q of providers.values())
      if (q.shorthands.includes(s)) throw new Error(`backend shorthand ${s} claimed by ${q.id} and ${p.id}`);
  providers.set(p.id, p);
  declareVariants((p.variants ?? []).map((v) => ({ provider: p.id, ...v })));
  return p;
}

export function allProviders(): BackendProvider[] {
  return [...providers.values()];
}

export function getProvider(id: string): BackendProvider {
  const p = providers.get(id);
  if (!p) throw new Error(`no backend provider ${id}`);
  return p;
}

/** The provider a scenario entry (shorthand or object) belongs to. */
export function providerFor(entry: string | { kind: string }): BackendProvider | undefined {
  if (typeof entry === 'string') return allProviders().find((p) => p.shorthands.includes(entry));
  return providers.get(entry.kind);
}

export function resolveEntry(entry: string | ({ kind: string } & Record<string, unknown>)): ResolvedBackend {
  const p = providerFor(entry);
  if (!p) throw new Error(`no backend provider for ${JSON.stringify(entry)}`);
  return p.resolve(entry);
}

/** Every tool any provider depends on, by name. */
export function providerTools(): Record<string, ToolProbe> {
  return Object.assign({}, ...allProviders().map((p) => p.tools ?? {}));
}

/**
 * RuntimeClass handler for a measured backend; unknown providers or variants are named by their variant, marked a
 * guess.
 */
export function runtimeClassHandler(kind: BackendKind, variant: string): { handler: string; guess: boolean } {
  for (const p of allProviders()) {
    if (p.kind !== kind || !p.runtimeClassHandler) continue;
    const h = p.runtimeClassHandler(variant);
    if (!h.guess) return h;
  }
  const byKind = allProviders().find((p) => p.kind === kind && p.runtimeClassHandler);
  return byKind?.runtimeClassHandler?.(variant) ?? { handler: variant, guess: true };
}
