/**
 * A host capability set for unit tests: every capability present (a fully
 * featured host), or with the named ones absent, as a probe of such a host
 * would return them (host/capabilities.ts).
 */
import {
  CAPABILITY_IDS,
  CAPABILITY_TEXT,
  type CapabilityId,
  type HostCapabilities,
} from '../../src/host/capabilities.js';

export function fakeCapabilities(
  absent: readonly CapabilityId[] = [],
  sysRoot = '/nonexistent-sysfs',
): HostCapabilities {
  return {
    // No real sysfs: a unit test never reads the host's own devices unless it passes a fixture tree.
    sysRoot,
    caps: CAPABILITY_IDS.map((id) => ({
      id,
      ...CAPABILITY_TEXT[id],
      available: !absent.includes(id),
      mechanism: absent.includes(id) ? null : `fake ${id}`,
      evidence: absent.includes(id) ? `fake host without ${id}` : `fake host with ${id}`,
    })),
    masked: [],
  };
}
