/**
 * The handle a caller (the CLI's run command) holds on the run in progress,
 * so a second Ctrl-C can still release what the run holds, in the registry's
 * order, and write the partial results.json. The run attaches to it; nothing
 * of this lives in a module global, so two runs in one process (tests) never
 * see each other's registry.
 */
import type { CleanupRegistry } from '../core/cleanup.js';

export class RunControl {
  private cleanup: CleanupRegistry | undefined;
  private finishRun: ((reason: string) => Promise<void>) | undefined;

  /** The run's registry exists: a forced exit from now on at least releases it. */
  attachCleanup(cleanup: CleanupRegistry | undefined): void {
    this.cleanup = cleanup;
  }

  /** The run can finish itself (stop instances, release, write results, drop its lock); undefined once it has. */
  attachFinish(finish: ((reason: string) => Promise<void>) | undefined): void {
    this.finishRun = finish;
  }

  /**
   * A forced exit: `finish` releases in the registry's order (joining a
   * release under way), writes the partial results.json and drops the run's
   * lock; before the run can finish, the registry alone is released. Resolves
   * once that is done; undefined when no run holds anything.
   */
  forceFinish(reason: string): Promise<unknown> | undefined {
    return this.finishRun?.(reason) ?? this.cleanup?.releaseAll();
  }
}
