/** The methods note and the caveats (few repetitions, emulated accelerator) the HTML, Markdown and PNG reports share. */
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
    `Some figures rest on only ${n} repetition${n === 1 ? '' : 's'}. With so few, 95% confidence intervals are wide (a lower bound can even fall below zero); ` +
    `they are shown as computed, not clamped. A wide interval means "add repetitions" (scenario repetitions: 10 or more), not that the cost itself is uncertain.`
  );
}

/** The methods note, one sentence per line (shared by the HTML and Markdown reports). */
export function methodsNote(model: { order: string; minRepetitions: number | null }): string[] {
  return [
    'Every figure is the MEAN of the repetitions; its 95% confidence interval of the MEAN is Student t with n−1 degrees of freedom (with 3–10 repetitions a bootstrap understates the spread; t does not). The median is shown beside it for reference only.',
    'Ratio vs native (CPU, memory, disk, network): backend mean ÷ native mean; its 95% CI comes from the delta method on log(ratio) with Welch–Satterthwaite degrees of freedom. Throughput metrics read "N× slower than native" when the backend delivers 1/N of native; time metrics read "N× native (slower)". Percentages: + = worse than native.',
    'Difference vs native (footprint, start-up, density, figures in pp, errors and degradations in %, and any metric whose native mean is ~0): backend mean − native mean in the metric\'s unit, with a Welch 95% CI. An idle native process has ~no footprint, so a ratio against it would be meaningless.',
    `Verdicts are judged against a practical threshold per category, as each workload declares it (${declaredThresholds()}; a scenario may override them under thresholds:). "No practical difference": the whole CI lies inside ±threshold (the only verdict that means "same as native"). "Overhead"/"better": the CI excludes 0 and the estimate is beyond the threshold. "Small difference": the CI excludes 0 but the estimate is inside the threshold. "Inconclusive": the CI straddles the threshold; the row says how many repetitions per side would likely decide it (projected from the observed variances). "Insufficient data": fewer than 2 repetitions on a side.`,
    'Smallest detectable effect: the difference this run would find with 80% power at 5% two-sided, (t0.975 + t0.80) × standard error.',
    "Outliers: Dixon's Q test at 95% for 3–10 repetitions, modified z-score (MAD) > 3.5 above 10; flagged and kept. Below 3 repetitions no outlier can be flagged, and the table says so. Noisy: coefficient of variation > 10%.",
    `Repetition order: ${model.order}.`,
    ...(model.minRepetitions !== null && model.minRepetitions < 10 ? ['Wide intervals from few repetitions are shown as computed, not clamped: they mean "add repetitions".'] : []),
    'Charts: bars are means with 95% CI whiskers; a whisker beyond the axis is clipped and drawn as an arrow.',
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

