/**
 * The host capabilities a run recorded (results.json host.capabilities, from
 * host/capabilities.ts) as report rows: what was used, what was missing and what
 * isobench did without it. Runs recorded before the model have none: the report
 * says so instead of guessing.
 */
import { z } from 'zod';

const capabilityRecord = z.looseObject({
  id: z.string(),
  title: z.string(),
  available: z.boolean(),
  mechanism: z.string().nullable(),
  evidence: z.string(),
  without: z.string(),
  fix: z.string(),
  masked: z.boolean().optional(),
});
const capabilitiesRecord = z.looseObject({ caps: z.array(capabilityRecord), masked: z.array(z.string()).optional() });

export interface CapabilityRow {
  title: string;
  available: boolean;
  masked: boolean;
  /** "bfq weights (…)" when available; "without it, isobench …" when not. */
  what: string;
  evidence: string;
  fix: string | null;
}

/** Rows for the report's host section; null when the run recorded no capabilities (older runs). */
export function capabilityRows(host: Record<string, unknown>): CapabilityRow[] | null {
  const parsed = capabilitiesRecord.safeParse(host.capabilities);
  if (!parsed.success) return null;
  return parsed.data.caps.map((c) => ({
    title: c.title,
    available: c.available,
    masked: c.masked === true,
    what: c.available ? (c.mechanism ?? 'yes') : `without it, ${c.without}`,
    evidence: c.evidence,
    fix: c.available ? null : c.masked ? 'run without --mask-capability' : c.fix,
  }));
}

/** The host facts without the capabilities (shown in their own table). */
export function factsWithoutCapabilities(host: Record<string, unknown>): Record<string, unknown> {
  const { capabilities: _omit, ...rest } = host;
  return rest;
}
