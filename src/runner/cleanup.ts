/**
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
  readonly failures: CleanupFailure[] = [];

  /** Register a release action; returns a function that releases just this one (idempotent). */
  add(label: string, release: () => Promise<void> | void): () => Promise<void> {
    const entry: Entry = { id: this.nextId++, label, release };
    this.entries.push(entry);
    return () => this.releaseOne(entry.id);
  }

  get pending(): string[] {
    return this.entries.map((e) => e.label);
  }

  private async runEntry(entry: Entry): Promise<void> {
    try {
      await entry.release();
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

  /** Release everything, newest first. Returns the failures of this call. */
  async releaseAll(): Promise<CleanupFailure[]> {
    const before = this.failures.length;
    while (this.entries.length > 0) {
      const entry = this.entries.pop();
      if (entry) await this.runEntry(entry);
    }
    return this.failures.slice(before);
  }
}
