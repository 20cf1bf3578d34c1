/**
 * The one input a report reads besides the results: the host profile of its
 * capacity section (scenarios/hosts/<name>.yaml). Loaded by the caller and
 * passed to the model, which does no I/O.
 */
import { parseHostSpec, type HostSpec } from './index.js';

/** The host profile the report's capacity section uses (scenarios/hosts/<name>.yaml). */
export const DEFAULT_CAPACITY_HOST = 'example-64c-256g';

/**
 * Loads the capacity section's host profile. A missing or broken profile costs
 * the section, never the report: the section then says how to run
 * `isobench capacity` by hand.
 */
export function loadCapacityHost(name: string = DEFAULT_CAPACITY_HOST, hostsDir?: string): HostSpec | undefined {
  try {
    return parseHostSpec(name, hostsDir !== undefined ? { hostsDir } : {});
  } catch {
    return undefined;
  }
}
