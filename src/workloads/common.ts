/**
 * Small pieces the workload modules share: exec timeouts derived from the tool's
 * own time bound, and MetricValue construction that refuses non-finite numbers.
 */
import { ParseError, type MetricValue, type WorkloadContext } from './types.js';
import { missingReason, type CapabilityId } from '../host/capabilities.js';

/**
 * Timeout for one exec whose tool bounds itself to `toolSeconds`: the scenario's
 * default timeout, or more when the tool's own bound plus a generous start-up
 * margin (binaries start slowly in an emulated VM) would not fit.
 */
export function timeoutFor(ctx: WorkloadContext<unknown>, toolSeconds: number): number {
  return Math.max(ctx.timeoutMs, Math.ceil(toolSeconds * 2000 + 60_000));
}

/** The longest a warm-up tool run lasts (seconds). */
export const WARMUP_TOOL_SECONDS = 1;

/**
 * Seconds a self-timed tool runs in this repetition. A warm-up (repetition 0) pages in the tool and warms the
 * exec path and caches; its value is dropped, so it need not be as long as a measured run.
 */
export function toolSecondsFor(ctx: Pick<WorkloadContext<unknown>, 'repetition'>, seconds: number): number {
  return ctx.repetition === 0 ? Math.min(seconds, WARMUP_TOOL_SECONDS) : seconds;
}

/** A metric value traced to its raw log; never NaN or Infinity. */
export function metric(tool: string, name: string, value: number, rawLog: string | undefined): MetricValue {
  if (!Number.isFinite(value)) throw new ParseError(tool, `${name} computed as ${value}`);
  return rawLog === undefined ? { metric: name, value } : { metric: name, value, rawLog };
}

/** Instance addresses come from the bench plan (198.18.0.0/15) only: refuse anything else. */
export function benchAddress(address: string | undefined, instanceName: string): string {
  if (!address)
    throw new Error(`instance ${instanceName} has no bench address: the network workload needs spec.network`);
  const m = /^198\.(1[89])\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m || Number(m[2]) > 255 || Number(m[3]) > 255)
    throw new Error(
      `instance ${instanceName} address ${address} is outside 198.18.0.0/15; refusing to send traffic to it`,
    );
  return address;
}

/** "cgroupReady" -> "cgroup-ready": stage names as metric name parts. */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}

/**
 * Run a parser on an exec's output; a ParseError comes back naming the raw log the
 * text was saved to, so a reader can open the exact output that failed.
 */
export function parseRaw<T>(rawLog: string, parse: () => T, extra?: string): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ParseError) {
      const msg = e.message.startsWith(`${e.tool}: `) ? e.message.slice(e.tool.length + 2) : e.message;
      throw new ParseError(e.tool, `${msg}${extra ? ` (${extra})` : ''} [raw log: ${rawLog}]`);
    }
    throw e;
  }
}

/**
 * Record a part of this workload that the host cannot run (it lacks `capability`):
 * the cell stays complete and lists the part as skipped with the reason and the fix
 * (cells[].extra.skippedParts). Never for a part that was attempted and broke.
 */
export function skipPart(
  ctx: WorkloadContext<unknown>,
  part: string,
  metrics: string[],
  capability: CapabilityId,
): void {
  const why = missingReason(ctx.capabilities, capability);
  ctx.recordExtra?.('skippedParts', { part, metrics, ...why });
  ctx.progress(`${part}: skipped (${why.reason}); fix: ${why.fix}`);
}
