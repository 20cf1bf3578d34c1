/**
 * Host and instance specs for `isobench capacity`.
 *
 *   --host cores=64,memoryGiB=256[,diskIops=100000][,netGbps=25]
 *   --host scenarios/hosts/example-64c-256g.yaml      (a YAML host profile)
 *   --host example-64c-256g                           (a profile name in scenarios/hosts/)
 *   --instance vcpus=2,memoryMiB=2048[,iops=500][,mbps=200]
 *
 * Every bad or missing value throws IsobenchError('BAD_ARGS') with one line that
 * names the field and says how to fix it (exit 2).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { IsobenchError } from '../errors.js';

/** What the host offers. */
export interface HostSpec {
  /** Physical cores (or hardware threads, as you count them for scheduling). */
  cores: number;
  memoryGiB: number;
  /** Disk IOPS the host's storage sustains (optional: without it disk is not a constraint). */
  diskIops?: number;
  /** Network bandwidth in Gbit/s (optional: without it network is not a constraint). */
  netGbps?: number;
  /** Profile name (YAML profiles) or "command line". */
  name: string;
  /** Where the spec came from: the spec string or the profile file path. */
  source: string;
  description?: string;
  /** Reserve given by the profile (overrides the default reserve). */
  reserve?: Partial<ReserveSpec>;
}

/** What one instance of the service needs (the same numbers you would give it natively). */
export interface InstanceDemand {
  vcpus: number;
  memoryMiB: number;
  /** Disk IOPS per instance (optional). */
  iops?: number;
  /** Network Mbit/s per instance (optional). */
  mbps?: number;
}

/** Host capacity kept back for the host OS, agents, the runtime/hypervisor daemons. */
export interface ReserveSpec {
  /** Cores kept back (default 1). */
  cores: number;
  /** Percent of host memory kept back (default 4). */
  memoryPct: number;
  /** Extra MiB kept back on top of memoryPct (default 0). */
  memoryMiB: number;
}

export const DEFAULT_RESERVE: Readonly<ReserveSpec> = Object.freeze({ cores: 1, memoryPct: 4, memoryMiB: 0 });

const HOST_EXAMPLE =
  '--host cores=64,memoryGiB=256 (optional: diskIops=100000,netGbps=25) or --host scenarios/hosts/<name>.yaml';
const INSTANCE_EXAMPLE = '--instance vcpus=2,memoryMiB=2048 (optional: iops=500,mbps=200)';
const RESERVE_EXAMPLE = '--reserve cores=1,memoryPct=4,memoryMiB=0';

/** Default directory of host profiles: <package root>/scenarios/hosts. */
export function defaultHostsDir(): string {
  return fileURLToPath(new URL('../../scenarios/hosts/', import.meta.url));
}

function bad(message: string): never {
  throw new IsobenchError('BAD_ARGS', message);
}

interface FieldDef {
  key: string;
  required: boolean;
  /** Allow 0 (reserve values); otherwise strictly positive. */
  allowZero?: boolean;
  /** Upper bound (inclusive), e.g. memoryPct <= 90. */
  max?: number;
  integer?: boolean;
}

/**
 * Parse `k=v,k=v` into numbers. Keys match case-insensitively; unknown keys,
 * duplicates, non-numbers, units in values, zero or negative values are errors.
 */
function parseKeyValues(flag: string, text: string, fields: FieldDef[], example: string): Record<string, number> {
  const trimmed = text.trim();
  if (trimmed === '') bad(`${flag} is empty: give ${example}`);
  const out: Record<string, number> = {};
  const known = fields.map((f) => f.key);
  for (const rawPart of trimmed.split(',')) {
    const part = rawPart.trim();
    if (part === '') bad(`${flag} "${text}" has an empty item (a stray comma?): give ${example}`);
    const eq = part.indexOf('=');
    if (eq <= 0) bad(`${flag} item "${part}" is not key=value: give ${example}`);
    const rawKey = part.slice(0, eq).trim();
    const rawValue = part.slice(eq + 1).trim();
    const def = fields.find((f) => f.key.toLowerCase() === rawKey.toLowerCase());
    if (!def) bad(`${flag} has unknown field "${rawKey}": known fields are ${known.join(', ')}`);
    if (def.key in out) bad(`${flag} gives "${def.key}" twice: give it once`);
    if (rawValue === '') bad(`${flag} field "${def.key}" has no value: write ${def.key}=<number>`);
    // Number('') is 0 and Number('0x10') is 16: require a plain decimal.
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(rawValue)) {
      bad(
        `${flag} field "${def.key}" must be a plain number, got "${rawValue}" ` +
          `(units are in the name: ${def.key}=<number>)`,
      );
    }
    const value = Number(rawValue);
    checkNumber(flag, def, value);
    out[def.key] = value;
  }
  for (const f of fields) {
    if (f.required && !(f.key in out)) bad(`${flag} is missing "${f.key}": give ${example}`);
  }
  return out;
}

function checkNumber(flag: string, def: FieldDef, value: number): void {
  if (!Number.isFinite(value)) bad(`${flag} field "${def.key}" must be a finite number, got ${value}`);
  if (def.allowZero ? value < 0 : value <= 0) {
    bad(`${flag} field "${def.key}" must be ${def.allowZero ? '>= 0' : '> 0'}, got ${value}`);
  }
  if (def.max !== undefined && value > def.max) bad(`${flag} field "${def.key}" must be <= ${def.max}, got ${value}`);
  if (def.integer && !Number.isInteger(value)) bad(`${flag} field "${def.key}" must be a whole number, got ${value}`);
}

const HOST_FIELDS: FieldDef[] = [
  { key: 'cores', required: true },
  { key: 'memoryGiB', required: true },
  { key: 'diskIops', required: false },
  { key: 'netGbps', required: false },
];

const INSTANCE_FIELDS: FieldDef[] = [
  { key: 'vcpus', required: true },
  { key: 'memoryMiB', required: true },
  { key: 'iops', required: false },
  { key: 'mbps', required: false },
];

const RESERVE_FIELDS: FieldDef[] = [
  { key: 'cores', required: false, allowZero: true },
  { key: 'memoryPct', required: false, allowZero: true, max: 90 },
  { key: 'memoryMiB', required: false, allowZero: true },
];

/** Parse an instance demand string (`vcpus=2,memoryMiB=2048[,iops=500][,mbps=200]`). */
export function parseInstanceDemand(text: string | undefined): InstanceDemand {
  if (text === undefined) bad(`--instance is required: give ${INSTANCE_EXAMPLE}`);
  const kv = parseKeyValues('--instance', text, INSTANCE_FIELDS, INSTANCE_EXAMPLE);
  const d: InstanceDemand = { vcpus: kv.vcpus!, memoryMiB: kv.memoryMiB! };
  if (kv.iops !== undefined) d.iops = kv.iops;
  if (kv.mbps !== undefined) d.mbps = kv.mbps;
  return d;
}

/**
 * Parse a reserve string (`cores=1,memoryPct=4,memoryMiB=0`). Only the fields given are
 * returned: they override the host profile's reserve, which overrides DEFAULT_RESERVE.
 */
export function parseReserve(text: string): Partial<ReserveSpec> {
  return parseKeyValues('--reserve', text, RESERVE_FIELDS, RESERVE_EXAMPLE) as Partial<ReserveSpec>;
}

/** The YAML host profile (scenarios/hosts/*.yaml). Unknown keys are rejected. */
export const HostProfileSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"'),
    description: z.string().optional(),
    cores: z.number().positive({ error: 'must be > 0' }),
    memoryGiB: z.number().positive({ error: 'must be > 0' }),
    diskIops: z.number().positive({ error: 'must be > 0' }).optional(),
    netGbps: z.number().positive({ error: 'must be > 0' }).optional(),
    reserve: z
      .object({
        cores: z.number().min(0, { error: 'must be >= 0' }).optional(),
        memoryPct: z.number().min(0, { error: 'must be >= 0' }).max(90, { error: 'must be <= 90' }).optional(),
        memoryMiB: z.number().min(0, { error: 'must be >= 0' }).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type HostProfile = z.infer<typeof HostProfileSchema>;

/** Load and validate one YAML host profile file. */
export function loadHostProfile(file: string): HostSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    bad(
      `--host profile ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): check the path, ` +
        `profiles live in scenarios/hosts/`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    bad(`--host profile ${file} is not valid YAML: ${first}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    bad(`--host profile ${file} must be a YAML mapping with at least "name", "cores" and "memoryGiB"`);
  }
  const r = HostProfileSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys')
      msg =
        `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; ` +
        'allowed: name, description, cores, memoryGiB, diskIops, netGbps, reserve{cores,memoryPct,memoryMiB}';
    else if (issue.code === 'invalid_type') {
      let v: unknown = doc;
      for (const k of issue.path)
        v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
      msg = v === undefined ? 'is required' : `must be a ${issue.expected}, got ${JSON.stringify(v)}`;
    }
    bad(`--host profile ${basename(file)}: field "${where}" ${msg}`);
  }
  const p = r.data;
  const spec: HostSpec = { cores: p.cores, memoryGiB: p.memoryGiB, name: p.name, source: file };
  if (p.diskIops !== undefined) spec.diskIops = p.diskIops;
  if (p.netGbps !== undefined) spec.netGbps = p.netGbps;
  if (p.description !== undefined) spec.description = p.description;
  if (p.reserve !== undefined) spec.reserve = p.reserve;
  return spec;
}

/**
 * Parse `--host`: a `k=v` spec, a path to a YAML profile, or a profile name
 * looked up in hostsDir (default scenarios/hosts/).
 */
export function parseHostSpec(text: string | undefined, opts: { hostsDir?: string; cwd?: string } = {}): HostSpec {
  if (text === undefined) bad(`--host is required: give ${HOST_EXAMPLE}`);
  const t = text.trim();
  if (t === '') bad(`--host is empty: give ${HOST_EXAMPLE}`);
  if (t.includes('=')) {
    const kv = parseKeyValues('--host', t, HOST_FIELDS, HOST_EXAMPLE);
    const spec: HostSpec = { cores: kv.cores!, memoryGiB: kv.memoryGiB!, name: 'command line', source: t };
    if (kv.diskIops !== undefined) spec.diskIops = kv.diskIops;
    if (kv.netGbps !== undefined) spec.netGbps = kv.netGbps;
    return spec;
  }
  const cwd = opts.cwd ?? process.cwd();
  const hostsDir = opts.hostsDir ?? defaultHostsDir();
  const asPath = isAbsolute(t) ? t : resolve(cwd, t);
  if (/\.ya?ml$/i.test(t) || t.includes('/')) {
    if (!existsSync(asPath) || !statSync(asPath).isFile())
      bad(`--host profile ${t} does not exist: check the path, or give ${HOST_EXAMPLE}`);
    return loadHostProfile(asPath);
  }
  for (const ext of ['.yaml', '.yml']) {
    const candidate = join(hostsDir, t + ext);
    if (existsSync(candidate)) return loadHostProfile(candidate);
  }
  bad(`--host "${t}" is neither key=value nor a profile in ${hostsDir}: give ${HOST_EXAMPLE}`);
}

/** Effective reserve: explicit option > profile's reserve > defaults. */
export function effectiveReserve(host: HostSpec, explicit?: Partial<ReserveSpec>): ReserveSpec {
  return { ...DEFAULT_RESERVE, ...(host.reserve ?? {}), ...(explicit ?? {}) };
}
