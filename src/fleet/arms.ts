/**
 * The Kubernetes platform arms as measurements. Each arm (a pod under the
 * runc, runsc or kata RuntimeClass, or a KubeVirt VM) runs the same probes as
 * the host run's CPU workload (same argv builders, same parameters from the
 * scenario), and its collected log is read by the same parsers into values.
 *
 * Design: the arms of a node cannot share a process, so they are interleaved
 * in time. Every arm runs the same script with its own index: round r of arm
 * i starts at start + (r * arms + i) * slot seconds, so the arms take turns,
 * one probe set each, round after round, and never run at once. Values are
 * then paired by round (the paired estimator: per round the log ratio of the
 * arm to the baseline arm runc, whose spread is what drifted within a round
 * only). A round whose arm started late is recorded as missed; a round that
 * overlapped another arm's (a slot too short, clocks apart) is not paired,
 * and when no pair is left the estimate falls back to the unpaired one (Welch
 * on the ratio of means) and says so.
 *
 * The log format (markers on lines of their own, the tools' output between):
 *   ### isobench-arm arm=runc node=n1 index=0 arms=4 rounds=3 slot=12 start=1765000000
 *   ### isobench-round 0 begin=1765000000
 *   ### isobench-probe cpu-sysbench-1t begin
 *   ... sysbench output ...
 *   ### isobench-probe cpu-sysbench-1t end rc=0
 *   ### isobench-round 0 end=1765000004
 *   ### isobench-round 1 missed at=1765000048 now=1765000050
 *   ### isobench-arm done
 */
import { cpuParams, cpuWorkload, matrixArgv, readSysbenchCpu, sysbenchCpuArgv, syscallArgv } from '../workloads/cpu.js';
import { stressNgMetric } from '../workloads/parsers/stress-ng.js';
import { ParseError } from '../workloads/parsers/common.js';
import { comparisonMode, judge, overhead, thresholdFor } from '../stats/equivalence.js';
import type { Estimate } from '../stats/estimate.js';
import type { Verdict } from '../results/types.js';

const TOOL = 'isobench-arm';
/** The baseline arm every other arm is compared with: a plain container. */
export const BASELINE_ARM = 'runc';
export const KUBEVIRT_ARM = 'kubevirt';

export interface ArmProbe {
  /** The CPU workload's probe name, as a scenario's `probes:` key names it (sysbench-1t, matrixprod-nt, syscall). */
  probe: string;
  /** The CPU workload's raw-log tag (cpu-sysbench-1t, cpu-matrixprod-1, cpu-syscall-null). */
  tag: string;
  metric: string;
  argv: string[];
}

/**
 * The CPU workload's probes for a scenario's cpu parameters and instance, in the workload's order; `only` is the
 * scenario's `probes:` choice (the names the run path takes), which the arms honour as a run does.
 */
export function cpuArmProbes(params: unknown, vcpus: number, only?: readonly string[]): ArmProbe[] {
  const p = cpuParams.parse(params ?? {});
  const multi = p.allVcpus && vcpus > 1;
  const out: ArmProbe[] = [
    { probe: 'sysbench-1t', tag: 'cpu-sysbench-1t', metric: 'sysbench-events-1t', argv: sysbenchCpuArgv(p, 1) },
  ];
  if (multi)
    out.push({
      probe: 'sysbench-nt',
      tag: `cpu-sysbench-${vcpus}t`,
      metric: 'sysbench-events-nt',
      argv: sysbenchCpuArgv(p, vcpus),
    });
  out.push({
    probe: 'matrixprod-1t',
    tag: 'cpu-matrixprod-1',
    metric: 'matrixprod-bogo-ops-1t',
    argv: matrixArgv(p, 1),
  });
  if (multi)
    out.push({
      probe: 'matrixprod-nt',
      tag: `cpu-matrixprod-${vcpus}`,
      metric: 'matrixprod-bogo-ops-nt',
      argv: matrixArgv(p, vcpus),
    });
  out.push({ probe: 'syscall', tag: `cpu-syscall-${p.syscallStressor}`, metric: 'syscall-ops', argv: syscallArgv(p) });
  return only ? out.filter((x) => only.includes(x.probe)) : out;
}

/** The probe a tag names and the parser of its output (the CPU workload's own). */
function probeOf(tag: string): { metric: string; parse: (text: string) => number } {
  let m = /^cpu-sysbench-(\d+)t$/.exec(tag);
  if (m) {
    const threads = Number(m[1]);
    return {
      metric: threads === 1 ? 'sysbench-events-1t' : 'sysbench-events-nt',
      parse: (t) => {
        const r = readSysbenchCpu(t);
        if (r.threads !== threads)
          throw new ParseError('sysbench', `ran ${r.threads} threads, the probe asked for ${threads}`);
        return r.value;
      },
    };
  }
  m = /^cpu-matrixprod-(\d+)$/.exec(tag);
  if (m)
    return {
      metric: m[1] === '1' ? 'matrixprod-bogo-ops-1t' : 'matrixprod-bogo-ops-nt',
      parse: (t) => stressNgMetric(t, 'matrix').bogoOpsPerSecReal,
    };
  m = /^cpu-syscall-([a-z]+)$/.exec(tag);
  if (m) {
    const stressor = m[1]!;
    return { metric: 'syscall-ops', parse: (t) => stressNgMetric(t, stressor).bogoOpsPerSecReal };
  }
  throw new ParseError(TOOL, `unknown probe "${tag}"`);
}

export function metricInfo(metric: string): { unit: string; higherIsBetter: boolean } {
  const d = cpuWorkload.metrics.find((x) => x.name === metric);
  return { unit: d?.unit ?? '', higherIsBetter: d?.higherIsBetter ?? true };
}

export interface ArmSchedule {
  arm: string;
  /** The node, or a shell expression the pod expands (e.g. "$NODE_NAME" from the downward API). */
  node: string;
  index: number;
  arms: number;
  rounds: number;
  slotSeconds: number;
  /** Unix seconds of round 0, arm 0. */
  start: number;
}

/** Seconds one probe set needs, with room for a slow arm (a sandbox, a VM): the slot length. */
export function slotSecondsFor(probes: ArmProbe[], seconds: number): number {
  return Math.ceil(probes.length * seconds * 2 + 10);
}

const shq = (s: string): string => (/^[A-Za-z0-9_./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The arm's POSIX sh script (busybox sh, date and sleep are enough): its slots, its probes, the markers. */
export function armScript(s: ArmSchedule, probes: ArmProbe[]): string {
  const lines = [
    'set -u',
    `T0=${s.start}; SLOT=${s.slotSeconds}; ARM=${s.index}; ARMS=${s.arms}; ROUNDS=${s.rounds}`,
    `echo "### isobench-arm arm=${s.arm} node=${s.node} index=$ARM arms=$ARMS rounds=$ROUNDS slot=$SLOT start=$T0"`,
    'r=0',
    'while [ "$r" -lt "$ROUNDS" ]; do',
    '  at=$((T0 + (r * ARMS + ARM) * SLOT)); now=$(date +%s)',
    '  if [ "$now" -gt "$at" ]; then echo "### isobench-round $r missed at=$at now=$now"; r=$((r + 1)); continue; fi',
    '  sleep $((at - now))',
    '  echo "### isobench-round $r begin=$(date +%s)"',
  ];
  for (const p of probes) {
    lines.push(
      `  echo "### isobench-probe ${p.tag} begin"`,
      `  ${p.argv.map(shq).join(' ')} 2>&1`,
      `  echo "### isobench-probe ${p.tag} end rc=$?"`,
    );
  }
  lines.push(
    '  echo "### isobench-round $r end=$(date +%s)"',
    '  r=$((r + 1))',
    'done',
    'echo "### isobench-arm done"',
  );
  return `${lines.join('\n')}\n`;
}

export interface ArmRound {
  round: number;
  begin: number;
  end: number | null;
  /** metric -> value */
  values: Record<string, number>;
  /** metric -> why there is no value (non-zero exit, unparsable output) */
  errors: Record<string, string>;
}

export interface ArmLog {
  arm: string;
  node: string;
  index: number;
  arms: number;
  rounds: number;
  slotSeconds: number;
  start: number;
  measured: ArmRound[];
  missed: number[];
  /** The script's last line was seen (a log cut between rounds has the rounds before the cut). */
  done: boolean;
}

const HEADER = /^### isobench-arm arm=(\S+) node=(\S+) index=(\d+) arms=(\d+) rounds=(\d+) slot=(\d+) start=(\d+)\s*$/m;

/** A collected arm log (a pod's or a VM console's) into rounds of values; a probe cut off is a ParseError. */
export function parseArmLog(text: string): ArmLog {
  const lines = text.replace(/\r/g, '').split('\n');
  const h = HEADER.exec(lines.join('\n'));
  if (!h) throw new ParseError(TOOL, 'no "### isobench-arm" header: not an isobench arm log');
  const log: ArmLog = {
    arm: h[1]!,
    node: h[2]!,
    index: Number(h[3]),
    arms: Number(h[4]),
    rounds: Number(h[5]),
    slotSeconds: Number(h[6]),
    start: Number(h[7]),
    measured: [],
    missed: [],
    done: false,
  };
  let round: ArmRound | null = null;
  let probe: { tag: string; body: string[] } | null = null;
  for (const line of lines) {
    if (probe) {
      const end = /^### isobench-probe (\S+) end rc=(\d+)\s*$/.exec(line);
      if (!end) {
        if (/^### isobench-/.test(line))
          throw new ParseError(TOOL, `round ${round?.round}: probe ${probe.tag} has no end marker (log cut off?)`);
        probe.body.push(line);
        continue;
      }
      if (end[1] !== probe.tag)
        throw new ParseError(TOOL, `round ${round?.round}: probe ${probe.tag} ended as ${end[1]}`);
      const { metric, parse } = probeOf(probe.tag);
      const body = probe.body.join('\n');
      if (end[2] !== '0') round!.errors[metric] = `exit ${end[2]}: ${body.trim().split('\n').slice(-1)[0] ?? ''}`;
      else {
        try {
          round!.values[metric] = parse(body);
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          round!.errors[metric] = e.message;
        }
      }
      probe = null;
      continue;
    }
    let m = /^### isobench-round (\d+) begin=(\d+)\s*$/.exec(line);
    if (m) {
      round = { round: Number(m[1]), begin: Number(m[2]), end: null, values: {}, errors: {} };
      log.measured.push(round);
      continue;
    }
    m = /^### isobench-round (\d+) end=(\d+)\s*$/.exec(line);
    if (m) {
      if (round?.round === Number(m[1])) round.end = Number(m[2]);
      round = null;
      continue;
    }
    m = /^### isobench-round (\d+) missed /.exec(line);
    if (m) {
      log.missed.push(Number(m[1]));
      continue;
    }
    m = /^### isobench-probe (\S+) begin\s*$/.exec(line);
    if (m) {
      if (!round) throw new ParseError(TOOL, `probe ${m[1]} outside a round`);
      probe = { tag: m[1]!, body: [] };
      continue;
    }
    if (/^### isobench-arm done\s*$/.test(line)) log.done = true;
  }
  if (probe) throw new ParseError(TOOL, `round ${round?.round}: probe ${probe.tag} has no end marker (log cut off)`);
  // A round without its end marker was cut: its values stand, but it cannot be shown clear of the other arms.
  return log;
}

export type ArmDesign = 'interleaved' | 'overlapping' | 'unpaired';

export interface ArmOverhead {
  node: string;
  arm: string;
  baseline: string;
  metric: string;
  unit: string;
  higherIsBetter: boolean;
  /** interleaved: paired by round; overlapping/unpaired: ran at once or not paired (Welch on the means). */
  design: ArmDesign;
  /** Rounds paired (interleaved) or values per side [baseline, arm]. */
  n: number | [number, number];
  armMean: number;
  baselineMean: number;
  /** + = the arm is worse than runc, percent. */
  overheadPct: number;
  overheadPctCi95: [number, number];
  verdict: Verdict;
  thresholdPct: number;
  note: string | undefined;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Every other arm's interval on the node: a round is clear when it overlaps none of them. */
function clearOf(r: ArmRound, others: ArmLog[]): boolean {
  if (r.end === null) return false;
  return others.every((o) => o.measured.every((x) => x.end !== null && (x.end < r.begin || x.begin > r.end!)));
}

/**
 * Paired estimator over rounds: per round the log of arm / baseline; its mean and
 * t interval (df = pairs - 1) give the overhead, judged like every other overhead.
 */
function pairedOverhead(
  pairs: [number, number][],
  higherIsBetter: boolean,
  threshold: number,
): { cost: number; ci: [number, number]; verdict: Verdict } {
  const d = pairs.map(([b, a]) => Math.log(a / b));
  const m = mean(d);
  const v = d.length > 1 ? d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1) : 0;
  const e: Estimate = {
    scale: 'log',
    design: 'paired',
    center: m,
    sides: [{ n: d.length, mean: Math.exp(m), obsVar: v }],
    se: d.length > 1 ? Math.sqrt(v / d.length) : Number.POSITIVE_INFINITY,
    df: d.length - 1,
  };
  const j = judge(e, higherIsBetter, threshold);
  return { cost: j.cost, ci: j.costCi95, verdict: j.verdict };
}

/** Overhead rows per node and metric: every arm against runc, paired by round where the arms were interleaved. */
export function armOverheads(logs: ArmLog[]): { rows: ArmOverhead[]; notes: string[] } {
  const rows: ArmOverhead[] = [];
  const notes: string[] = [];
  const nodes = [...new Set(logs.map((l) => l.node))];
  for (const node of nodes) {
    const on = logs.filter((l) => l.node === node);
    const base = on.find((l) => l.arm === BASELINE_ARM);
    if (!base) {
      notes.push(
        `node ${node}: no ${BASELINE_ARM} arm log, so no arm overheads (the arms are compared with ${BASELINE_ARM})`,
      );
      continue;
    }
    for (const arm of on.filter((l) => l !== base)) {
      const metrics = [...new Set(arm.measured.flatMap((r) => Object.keys(r.values)))];
      for (const metric of metrics) {
        const { unit, higherIsBetter } = metricInfo(metric);
        const bv = base.measured.flatMap((r) => (r.values[metric] !== undefined ? [r.values[metric]!] : []));
        const av = arm.measured.flatMap((r) => (r.values[metric] !== undefined ? [r.values[metric]!] : []));
        if (!bv.length || !av.length) continue;
        const threshold = thresholdFor(comparisonMode('cpu', metric, unit, mean(bv)), 'cpu', unit);
        const othersOf = (l: ArmLog): ArmLog[] => on.filter((x) => x !== l);
        const pairs: [number, number][] = [];
        let overlapped = 0;
        for (const r of arm.measured) {
          const b = base.measured.find((x) => x.round === r.round);
          const a = r.values[metric];
          const bvr = b?.values[metric];
          if (!b || a === undefined || bvr === undefined) continue;
          if (clearOf(r, othersOf(arm)) && clearOf(b, othersOf(base))) pairs.push([bvr, a]);
          else overlapped++;
        }
        const common = {
          node,
          arm: arm.arm,
          baseline: base.arm,
          metric,
          unit,
          higherIsBetter,
          armMean: mean(av),
          baselineMean: mean(bv),
          thresholdPct: threshold,
        };
        if (pairs.length >= 2) {
          const p = pairedOverhead(pairs, higherIsBetter, threshold);
          rows.push({
            ...common,
            design: 'interleaved',
            n: pairs.length,
            overheadPct: p.cost,
            overheadPctCi95: p.ci,
            verdict: p.verdict,
            note: overlapped
              ? `${overlapped} round(s) overlapped another arm and were left out of the pairs`
              : undefined,
          });
        } else {
          const o = overhead(bv, av, higherIsBetter, threshold);
          if (!o) continue;
          rows.push({
            ...common,
            design: overlapped ? 'overlapping' : 'unpaired',
            n: [bv.length, av.length],
            overheadPct: o.overheadPct,
            overheadPctCi95: o.overheadPctCi95,
            verdict: o.verdict,
            note: overlapped
              ? `the arms' rounds overlapped in time (${overlapped}), so they shared the node:` +
                ' unpaired (Welch), and contention is in the figure'
              : 'fewer than 2 rounds in common: unpaired (Welch on the ratio of means)',
          });
        }
      }
    }
  }
  return { rows, notes };
}
