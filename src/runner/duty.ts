/**
 * The measurement duty cycle: per workload, the share of its wall time spent
 * inside the measuring tools (the spans of the tool invocations whose values
 * were recorded), and where the rest went (warm-ups, instance start, freezing
 * idle instances, softirq reads, writing results). Recorded in results.json
 * `dutyCycle` and shown in the report's Methods section: a run that measures
 * 20% of the time spends most of its minutes on the harness, not on evidence.
 */
import type { DutyCycle } from '../results/types.js';

/** Total length of the union of [start, end] spans (ms). */
export function unionMs(spans: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...spans].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [a, b] of sorted) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  return total + (cur ? cur[1] - cur[0] : 0);
}

interface Tally {
  wallMs: number;
  open?: number;
  spans: Array<readonly [number, number]>;
  warmupMs: number;
  harness: Record<string, number>;
  rounds: number;
}

export class DutyMeter {
  private readonly t = new Map<string, Tally>();

  constructor(private readonly now: () => number = Date.now) {}

  private of(w: string): Tally {
    let x = this.t.get(w);
    if (!x) this.t.set(w, (x = { wallMs: 0, spans: [], warmupMs: 0, harness: {}, rounds: 0 }));
    return x;
  }

  begin(w: string): void {
    this.of(w).open = this.now();
  }

  end(w: string): void {
    const x = this.of(w);
    if (x.open !== undefined) x.wallMs += this.now() - x.open;
    delete x.open;
  }

  measured(w: string, spans: ReadonlyArray<readonly [number, number]>): void {
    this.of(w).spans.push(...spans);
  }

  warmup(w: string, ms: number): void {
    this.of(w).warmupMs += ms;
  }

  rounds(w: string, n: number): void {
    this.of(w).rounds += n;
  }

  /** Time the harness spent on `what` around the probes. */
  async harness<T>(w: string, what: string, f: () => Promise<T>): Promise<T> {
    const t0 = this.now();
    try {
      return await f();
    } finally {
      const h = this.of(w).harness;
      h[what] = (h[what] ?? 0) + (this.now() - t0);
    }
  }

  /** The duty cycle per workload, adding what an earlier attempt of a resumed run recorded. */
  snapshot(previous?: Readonly<Record<string, DutyCycle>>): Record<string, DutyCycle> {
    const out: Record<string, DutyCycle> = {};
    for (const [w, x] of this.t) {
      const wallMs = x.wallMs + (x.open !== undefined ? this.now() - x.open : 0);
      const p = previous?.[w];
      const harness = { ...(p?.harness ?? {}) };
      for (const [k, v] of Object.entries(x.harness)) harness[k] = (harness[k] ?? 0) + Math.round(v);
      const wall = Math.round(wallMs) + (p?.wallMs ?? 0);
      const measuring = Math.round(unionMs(x.spans)) + (p?.measuringMs ?? 0);
      out[w] = {
        wallMs: wall,
        measuringMs: measuring,
        share: wall > 0 ? measuring / wall : Number.NaN,
        warmupMs: Math.round(x.warmupMs) + (p?.warmupMs ?? 0),
        harness,
        rounds: x.rounds + (p?.rounds ?? 0),
      };
    }
    for (const [w, p] of Object.entries(previous ?? {})) out[w] ??= p;
    return out;
  }
}
