/**
 * The measurement duty cycle in the Methods section (HTML and Markdown): per
 * workload, the share of its wall time spent inside the measuring tools, and
 * the harness time around them (results.json `dutyCycle`, src/runner/duty.ts).
 */
import type { DutyCycle } from '../../results/types.js';

const s = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** One line per workload; empty for runs recorded before the duty cycle was. */
export function dutyCycleNote(duty: Readonly<Record<string, DutyCycle>> | undefined): string[] {
  const entries = Object.entries(duty ?? {});
  if (entries.length === 0) return [];
  const lines = entries.map(([w, d]) => {
    const share = Number.isFinite(d.share) ? `${Math.round(d.share * 100)}%` : '—';
    const harness = Object.entries(d.harness)
      .filter(([, ms]) => ms >= 50)
      .sort((a, b) => b[1] - a[1])
      .map(([k, ms]) => `${k} ${s(ms)}`)
      .join(', ');
    const parts = [`${s(d.measuringMs)} measuring in ${s(d.wallMs)} (${share})`, `${d.rounds} rounds`];
    if (d.warmupMs > 0) parts.push(`warm-up ${s(d.warmupMs)}`);
    if (harness) parts.push(`harness: ${harness}`);
    return `${w}: ${parts.join('; ')}.`;
  });
  if (entries.length > 1) {
    const wall = entries.reduce((a, [, d]) => a + d.wallMs, 0);
    const measuring = entries.reduce((a, [, d]) => a + d.measuringMs, 0);
    if (wall > 0)
      lines.push(`All workloads: ${s(measuring)} measuring in ${s(wall)} (${Math.round((100 * measuring) / wall)}%).`);
  }
  return [
    "Measurement duty cycle: the share of each workload's wall time spent inside the measuring tools " +
      '(the tool invocations whose values are recorded; warm-ups, setup, starting instances, freezing idle ones ' +
      'and writing results are the rest).',
    ...lines,
  ];
}
