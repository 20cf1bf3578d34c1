/**
 * Progress for long runs: a live bar on a TTY (cli-progress), plain lines
 * otherwise (CI logs, pipes). Always on stderr: stdout carries the run directory.
 */
import cliProgress from 'cli-progress';

export interface ProgressState {
  done: number;
  total: number;
  text: string;
}

function fmt(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private readonly t0 = performance.now();
  private bar: cliProgress.SingleBar | undefined;
  private done = 0;
  private total = 0;
  constructor(private readonly quiet = false) {}

  start(total: number): void {
    this.total = total;
    if (this.quiet) return;
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: '{bar} {value}/{total} | {text} | elapsed {elapsedText} | eta {etaText}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { text: 'starting', elapsedText: '0s', etaText: '?' });
    }
  }

  setTotal(total: number): void {
    this.total = total;
    this.bar?.setTotal(total);
  }

  private times(): { elapsedText: string; etaText: string } {
    const elapsed = performance.now() - this.t0;
    const eta = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : Number.NaN;
    return { elapsedText: fmt(elapsed), etaText: fmt(eta) };
  }

  /** A step begins (backend, workload, repetition). */
  step(text: string): void {
    if (this.quiet) return;
    const t = this.times();
    if (this.bar) this.bar.update(this.done, { text, ...t });
    else
      process.stderr.write(`[${this.done + 1}/${this.total}] ${text} (elapsed ${t.elapsedText}, eta ${t.etaText})\n`);
  }

  tick(): void {
    this.done++;
    this.bar?.update(this.done, { ...this.times() });
  }

  /** A free-form line (warnings, stage changes). */
  note(text: string): void {
    if (this.quiet) return;
    if (this.bar) this.bar.update(this.done, { text, ...this.times() });
    else process.stderr.write(`  ${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
