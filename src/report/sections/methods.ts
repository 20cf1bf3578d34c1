/**
 * The methods note and the caveats (few repetitions, emulated accelerator) the HTML, Markdown and PNG reports share.
 */
import type { ColumnView } from '../columns.js';
import { workloadDeclarations } from '../../core/declarations.js';

/** Each workload's declared default thresholds, in its own words: "CPU 3%", "Start-up 50 ms". */
function declaredThresholds(): string {
  return workloadDeclarations()
    .map((d) => {
      const j = d.judgement;
      const parts = [
        ...(j.thresholdPct !== undefined ? [`${j.thresholdPct}%`] : []),
        ...Object.entries(j.thresholdByUnit ?? {}).map(([u, v]) => (u === '%' ? `${v}% (difference)` : `${v} ${u}`)),
      ];
      return parts.length ? `${d.title} ${parts.join(' / ')}` : '';
    })
    .filter(Boolean)
    .join(', ');
}

/** The note under the headline when repetitions are few: wide CIs mean "add repetitions". */
export function repetitionNote(model: { minRepetitions: number | null }): string {
  const n = model.minRepetitions;
  if (n === null || n >= 10) return '';
  return (
    `Some figures rest on only ${n} repetition${n === 1 ? '' : 's'}. ` +
    'With so few, 95% confidence intervals are wide (a lower bound can even fall below zero); ' +
    `they are shown as computed, not clamped. A wide interval means "add repetitions" (scenario repetitions: ` +
    `10 or more), not that the cost itself is uncertain.`
  );
}

/** The methods note, one sentence per line (shared by the HTML and Markdown reports). */
export function methodsNote(model: { order: string; minRepetitions: number | null }): string[] {
  return [
    'Every figure is the MEAN of the repetitions; its 95% confidence interval of the MEAN is Student t with n−1 ' +
      'degrees of freedom (with 3–10 repetitions a bootstrap understates the spread; t does not). The median is ' +
      'shown beside it for reference only.',
    'Ratio vs native (CPU, memory, disk, network), paired by round: each round measures native and the backend back ' +
      'to back, d = ln(backend) − ln(native) per round, the ratio is exp(mean d) (the geometric mean of the ' +
      'per-round ratios) with a Student t 95% CI on pairs − 1 degrees of freedom, so host drift between rounds ' +
      'cancels. Where values carry no round (a once-per-run experiment), the ratio of means with a ' +
      'delta-method/Welch CI, and the figure says "unpaired". Throughput metrics read "N× slower than native" ' +
      'when the backend delivers 1/N of native; time metrics read "N× native ' +
      '(slower)". Percentages: + = worse than native.',
    'Difference vs native (footprint, start-up, density, figures in pp, errors and degradations in %, ' +
      "and any metric whose native mean is ~0): the mean per-round difference backend − native in the metric's " +
      'unit with a paired t 95% CI (unpaired: difference of means, Welch). An idle native process has ~no footprint, ' +
      'so a ratio against it would be meaningless.',
    `Verdicts are judged against a practical threshold per category, as each workload declares it ` +
      `(${declaredThresholds()}; a scenario may override them under thresholds:). "No practical difference": ` +
      `the 90% CI lies inside ±threshold (TOST, two one-sided tests at 5%: said at most 5% of the time when the ` +
      `true difference is at the threshold or beyond; the only verdict that means "same as native"). ` +
      `"Overhead"/"better": not that, and the 95% CI excludes 0 (at most 2.5% each when the true difference ` +
      `is 0); "beyond the threshold" when the whole 95% CI is. "Inconclusive": neither; ` +
      `the row gives the pairs that would decide it with 80% power, planned from the observed spread ` +
      `("not decidable here" when that exceeds the scenario's cap). "Insufficient data": ` +
      `fewer than 2 pairs. Details and error rates: docs/statistics.md.`,
    'Smallest detectable effect: the difference this run would find with 80% power at 5% two-sided, ' +
      '(t0.975 + t0.80) × standard error.',
    "Outliers: Dixon's Q test at 95% for 3–10 repetitions, modified z-score (MAD) > 3.5 above 10; " +
      'flagged and kept. Below 3 repetitions no outlier can be flagged, ' +
      'and the table says so. Noisy: coefficient of variation > 10%.',
    `Repetition order: ${model.order}.`,
    ...(model.minRepetitions !== null && model.minRepetitions < 10
      ? ['Wide intervals from few repetitions are shown as computed, not clamped: they mean "add repetitions".']
      : []),
    "Charts: a backend's bar is its ratio to native with the paired 95% CI as whiskers (native: " +
      "its own mean's CI relative to its mean); a whisker beyond the axis is clipped and drawn as an arrow.",
  ];
}

/** The one-paragraph accelerator caveat (empty when no column is emulated). */
export function acceleratorCaveat(model: { emulated: ColumnView[] }): string {
  if (model.emulated.length === 0) return '';
  const labels = model.emulated.map((c) => c.label).join(', ');
  return (
    `${labels} ran under TCG software emulation, not hardware virtualization (KVM). ` +
    `The VM figures describe an emulated CPU and are far worse than a KVM guest on a host with VT-x/AMD-V; ` +
    `do not use them to size hardware-virtualized hosts.`
  );
}
