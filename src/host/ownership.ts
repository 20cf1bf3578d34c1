/**
 * What a leftover is and where runs mark what they own: the types and paths
 * the backend providers (their own leftover sweeps) and the host sweep
 * (ops/leftovers.ts) share. Kept apart from ops/leftovers.ts, which reads every
 * provider, so a provider can name them without importing the sweep (that
 * was an import cycle).
 */
export interface Leftover {
  kind: 'netns' | 'cgroup' | 'container' | 'process' | 'mount' | 'loop' | 'tempdir';
  name: string;
  remove: () => Promise<void>;
}

/**
 * A process that is not a run (e.g. doctor's VM self-check) may mark its short
 * id live with just its pid in this file; core/state.ts reads it when there
 * is no state.json (no start time: a recycled pid counts as live).
 */
export const OWNER_FILE = 'owner.pid';
