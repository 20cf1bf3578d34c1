/**
 * (core: backends, net and host import this without importing the runner.)
 * Every resource isobench creates (process, cgroup, namespace, veth/tap, mount,
 * image, socket) is registered here when created and released in reverse order,
 * on success, failure, timeout and signals. Release never throws: failures are
 * collected so a run can keep its measurements and report what is left.
 */
export interface CleanupFailure {
  label: string;
  error: string;
}

interface Entry {
  id: number;
  label: string;
  release: () => Promise<void> | void;
}

export class CleanupRegistry {
  private entries: Entry[] = [];
  private nextId = 1;
  private releasing: Promise<CleanupFailure[]> | undefined;
  readonly failures: CleanupFailure[] = [];

  /** Called when an entry is added or released (the run's state file lists what is held). */
  constructor(private readonly hooks: { added?: (label: string) => void; released?: (label: string) => void } = {}) {}

  /** Register a release action; returns a function that releases just this one (idempotent). */
  add(label: string, release: () => Promise<void> | void): () => Promise<void> {
    const entry: Entry = { id: this.nextId++, label, release };
    this.entries.push(entry);
    this.hooks.added?.(label);
    return () => this.releaseOne(entry.id);
  }

  get pending(): string[] {
    return this.entries.map((e) => e.label);
  }

  private async runEntry(entry: Entry): Promise<void> {
    try {
      await entry.release();
      this.hooks.released?.(entry.label);
    } catch (e) {
      this.failures.push({ label: entry.label, error: e instanceof Error ? e.message : String(e) });
    }
  }

  async releaseOne(id: number): Promise<void> {
    const idx = this.entries.findIndex((e) => e.id === id);
    if (idx < 0) return;
    const [entry] = this.entries.splice(idx, 1);
    if (entry) await this.runEntry(entry);
  }

  /**
   * Release everything, newest first. Returns the failures of this call. A
   * call while a release is under way (a second Ctrl-C during the final
   * cleanup) joins it instead of releasing in parallel, so the order holds.
   */
  releaseAll(): Promise<CleanupFailure[]> {
    if (this.releasing !== undefined) return this.releasing;
    const before = this.failures.length;
    this.releasing = (async () => {
      while (this.entries.length > 0) {
        const entry = this.entries.pop();
        if (entry) await this.runEntry(entry);
      }
      return this.failures.slice(before);
    })().finally(() => {
      this.releasing = undefined;
    });
    return this.releasing;
  }
}
