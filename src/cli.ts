/**
 * isobench command line: a thin layer that parses arguments and calls the
 * programmatic API (as vitest's CLI calls startVitest()). Exit codes are a
 * contract: 0 success, 1 a run or check failed, 2 bad input.
 */
import { Command, CommanderError, Option } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsobenchError, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK } from './errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS_DIR = path.join(ROOT, 'scenarios');

/** Where a command reads and writes, and its two streams: given to main(), so tests run the CLI in process. */
export interface CliIO {
  resultsRoot: string;
  reportsRoot: string;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Capabilities to treat as absent when --mask-capability is not given (ISOBENCH_MASK_CAPABILITIES). */
  maskCapabilities?: string;
}

/** The installed command's defaults, read when called (never when this module loads). */
export function defaultIO(env: NodeJS.ProcessEnv = process.env): CliIO {
  return {
    resultsRoot: env.ISOBENCH_RESULTS ?? path.join(ROOT, 'results'),
    reportsRoot: env.ISOBENCH_REPORTS ?? path.join(ROOT, 'reports'),
    stdout: process.stdout,
    stderr: process.stderr,
    ...(env.ISOBENCH_MASK_CAPABILITIES ? { maskCapabilities: env.ISOBENCH_MASK_CAPABILITIES } : {}),
  };
}

/** What every command gets: the roots, and `out` (a line on stdout) and `err` (text on stderr). */
interface Cli extends CliIO {
  out(text: string): void;
  err(text: string): void;
}

function cliOf(io: CliIO): Cli {
  return {
    ...io,
    out: (text) => void io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void io.stderr.write(text),
  };
}

async function cmdDoctor(
  c: Cli,
  opts: { json?: boolean; cleanup?: boolean; vm?: boolean; run?: string; maskCapability?: string },
): Promise<number> {
  const { runDoctor, renderDoctor, runVmSelfCheckForDoctor } = await import('./ops/doctor.js');
  if (opts.run !== undefined && !opts.cleanup)
    throw new IsobenchError('BAD_ARGS', 'doctor: --run only goes with --cleanup');
  if (opts.cleanup) {
    const { cleanupLeftovers } = await import('./ops/cleanup-command.js');
    const r = await cleanupLeftovers(opts.run);
    if (opts.json) c.out(JSON.stringify(r, null, 2));
    else {
      c.out(
        r.removed.length
          ? `removed ${r.removed.length} isobench leftover(s):\n${r.removed.map((x) => `  ${x}`).join('\n')}`
          : 'no isobench leftovers found',
      );
      if (r.kept.length) c.out(`left alone (their run is live):\n${r.kept.map((x) => `  ${x}`).join('\n')}`);
      if (r.failed.length) c.out(`could not remove:\n${r.failed.map((x) => `  ${x}`).join('\n')}`);
    }
    return r.failed.length ? EXIT_FAILED : EXIT_OK;
  }
  const maskCapabilities = await capabilityMask(c, opts.maskCapability);
  const report = await runDoctor(maskCapabilities.length ? { maskCapabilities } : {});
  if (opts.vm) await runVmSelfCheckForDoctor(report);
  c.out(opts.json ? JSON.stringify(report, null, 2) : renderDoctor(report));
  return report.checks.some((c) => c.status === 'fail') ? EXIT_FAILED : EXIT_OK;
}

async function cmdScenariosList(c: Cli): Promise<number> {
  const { loadScenario } = await import('./scenario/loader.js');
  const files = (await fs.readdir(SCENARIOS_DIR)).filter((f) => f.endsWith('.yaml')).sort();
  for (const f of files) {
    try {
      const { scenario } = await loadScenario(path.join(SCENARIOS_DIR, f));
      const wl = Object.keys(scenario.workloads).filter(
        (k) => (scenario.workloads as Record<string, unknown>)[k] !== undefined,
      );
      c.out(
        `${path.join('scenarios', f).padEnd(28)} ${scenario.backends
          .map((b) => (typeof b === 'string' ? b : b.kind))
          .join(',')
          .padEnd(30)} ${wl.join(',')}`,
      );
      if (scenario.description) c.out(`${''.padEnd(28)} ${scenario.description.split('\n')[0]}`);
    } catch (e) {
      c.out(`${path.join('scenarios', f).padEnd(28)} INVALID: ${(e as Error).message}`);
    }
  }
  return EXIT_OK;
}

async function cmdScenariosValidate(c: Cli, files: string[]): Promise<number> {
  const { loadScenario } = await import('./scenario/loader.js');
  const { scenarioHostProblems } = await import('./runner/preflight.js');
  const { hostBasics } = await import('./host/facts.js');
  const host = await hostBasics();
  let bad = 0;
  for (const f of files) {
    try {
      const { scenario } = await loadScenario(f);
      const problems = scenarioHostProblems(scenario, host, path.relative(process.cwd(), f) || f);
      if (problems.length) {
        bad++;
        for (const p of problems) c.err(`${p}\n`);
      } else c.out(`${f}: ok`);
    } catch (e) {
      // Whatever went wrong with one file, the others are still checked.
      bad++;
      if (!(e instanceof IsobenchError))
        c.err(`${f}: cannot validate: ${String((e as Error).message ?? e).split('\n')[0]}\n`);
      else if (e.details.length) for (const d of e.details) c.err(`${d}\n`);
      else c.err(`${e.message}\n`);
    }
  }
  return bad ? EXIT_BAD_INPUT : EXIT_OK;
}

async function cmdImagesBuild(c: Cli): Promise<number> {
  // The image carries the binaries the workloads declare: load their declarations first.
  await import('./workloads/index.js');
  const { ensureWorkloadImage } = await import('./images/rootfs.js');
  const img = await ensureWorkloadImage({ log: (s: string) => c.err(`${s}\n`) });
  c.out(`rootfs ${img.rootfsDir}\next4   ${img.ext4Path}\nhash   ${img.hash}`);
  return EXIT_OK;
}

async function writeReportFor(c: Cli, runDir: string): Promise<string> {
  const { loadResults, assertRunId } = await import('./results/io.js');
  const { writeReport } = await import('./report/write.js');
  const results = await loadResults(runDir);
  const file = path.join(runDir, 'results.json');
  assertRunId(results.runId, `${file}: runId`);
  // The report folder is named after the run: a file claiming another run's id would replace that run's report.
  if (results.runId !== path.basename(runDir))
    throw new IsobenchError(
      'BAD_RESULTS',
      `${file}: runId "${results.runId}" does not match its run directory "${path.basename(runDir)}"; a report ` +
        `would replace run ${results.runId}'s report`,
    );
  const r = await writeReport(results, runDir, c.reportsRoot);
  return r.index;
}

/**
 * --mask-capability, else ISOBENCH_MASK_CAPABILITIES (read by defaultIO): capabilities to treat as absent (exit 2 on an
 * unknown one).
 */
async function capabilityMask(
  c: Cli,
  flag: string | undefined,
): Promise<import('./host/capabilities.js').CapabilityId[]> {
  const { parseCapabilityMask } = await import('./host/capabilities.js');
  const text = flag ?? c.maskCapabilities;
  try {
    return parseCapabilityMask(text);
  } catch (e) {
    const from = flag !== undefined ? '--mask-capability' : 'ISOBENCH_MASK_CAPABILITIES';
    throw new IsobenchError('BAD_ARGS', `${from}: ${(e as Error).message}`);
  }
}

async function cmdRun(
  c: Cli,
  scenario: string | undefined,
  opts: {
    backends?: string;
    runId?: string;
    resume?: string;
    report: boolean;
    quiet?: boolean;
    maskCapability?: string;
  },
): Promise<number> {
  if (opts.runId !== undefined && opts.resume !== undefined)
    throw new IsobenchError('BAD_ARGS', 'run: --run-id and --resume exclude each other (a resumed run keeps its id)');
  if (scenario === undefined && opts.resume === undefined)
    throw new IsobenchError(
      'BAD_ARGS',
      'run: a scenario file is required, e.g. isobench run scenarios/quick.yaml (or --resume <run-id>)',
    );
  const maskCapabilities = await capabilityMask(c, opts.maskCapability);
  const { runScenario, RunControl } = await import('./runner/run.js');
  // The runner sits below the report: the headline's wording is handed in.
  const { deriveFromCells } = await import('./report/derive.js');
  const controller = new AbortController();
  // This command's handle on its run: a forced exit releases what the run holds through it.
  const control = new RunControl();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      c.err(`\n${sig}: stopping after cleanup, keeping what was measured (press Ctrl-C again to force)\n`);
      controller.abort(sig);
      return;
    }
    if (signals > 2) return; // the forced exit is under way
    c.err(`\n${sig} again: forcing exit, releasing in order and saving what was measured\n`);
    void (async () => {
      // Joins a release under way instead of racing it; writes the partial results.json.
      await control.forceFinish(sig)?.catch(() => undefined);
      process.exit(130);
    })();
  };
  // Closing the terminal (SIGHUP) is an interruption like SIGTERM: release everything, keep what was measured.
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // After a hang-up, writes to the terminal fail (EIO/EPIPE): that must not crash the run before its cleanup.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    const outcome = await runScenario({
      ...(scenario !== undefined ? { scenarioFile: scenario } : {}),
      resultsRoot: c.resultsRoot,
      ...(opts.backends
        ? {
            backends: opts.backends
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      ...(opts.runId !== undefined ? { runId: opts.runId } : {}),
      ...(opts.resume ? { resume: opts.resume } : {}),
      ...(opts.quiet ? { quiet: true } : {}),
      ...(maskCapabilities.length ? { maskCapabilities } : {}),
      signal: controller.signal,
      control,
      derive: deriveFromCells,
    });
    const r = outcome.results;
    c.err(`run ${r.runId}: ${r.status}${r.statusReason ? ` (${r.statusReason})` : ''}\n`);
    for (const w of r.warnings.filter((x) => x.code === 'BACKEND' || x.code === 'BACKEND_UNAVAILABLE'))
      c.err(`warning: ${w.message}\n`);
    if (r.cleanupFailed) c.err(`cleanup failed: ${r.cleanupFailed.leftovers.join('; ')}\n  ${r.cleanupFailed.hint}\n`);
    if (opts.report && !controller.signal.aborted) {
      try {
        const index = await writeReportFor(c, outcome.runDir);
        c.err(`report: ${index}\n`);
      } catch (e) {
        c.err(`report failed: ${(e as Error).message}\n`);
        outcome.exitCode = outcome.exitCode || EXIT_FAILED;
      }
    }
    // A signal after the last measurement leaves results.json complete (what it describes was all measured);
    // the report is derived from it and is rendered again on demand.
    if (opts.report && controller.signal.aborted && r.status === 'complete')
      c.err(
        `interrupted before the report was finished: the measurements are complete; render it with \`isobench ` +
          `report ${r.runId}\`\n`,
      );
    c.out(outcome.runDir);
    return controller.signal.aborted ? 130 : outcome.exitCode;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    // Interrupted: a further Ctrl-C that lands after the release is done (a fast cleanup) must not kill the
    // process by signal (no exit code) while it returns 130: it is swallowed once.
    if (signals > 0) for (const s of SIGNALS) process.once(s, () => undefined);
  }
}

async function cmdReport(c: Cli, ref: string): Promise<number> {
  const fleet = await import('./fleet/commands.js');
  if (fleet.isFleetRef(ref, c.resultsRoot)) {
    const r = await fleet.fleetReport(ref, c.resultsRoot, c.reportsRoot);
    for (const l of r.summary) c.err(`${l}\n`);
    c.out(r.index);
    return EXIT_OK;
  }
  const { resolveRunDir } = await import('./results/io.js');
  const index = await writeReportFor(c, resolveRunDir(ref, c.resultsRoot));
  c.out(index);
  return EXIT_OK;
}

async function cmdCompare(
  c: Cli,
  a: string,
  b: string,
  opts: { failOnRegression?: string; json?: boolean; absolute?: boolean; gate?: string },
): Promise<number> {
  const { loadResultsRef } = await import('./results/io.js');
  const cmp = await import('./report/compare.js');
  const gate = opts.gate ?? 'headline';
  if (gate !== 'headline' && gate !== 'all')
    throw new IsobenchError('BAD_ARGS', `--gate "${gate}": expected headline or all`);
  let failPct: number | undefined;
  if (opts.failOnRegression !== undefined) {
    failPct = Number(opts.failOnRegression);
    if (!Number.isFinite(failPct) || failPct < 0)
      throw new IsobenchError(
        'BAD_ARGS',
        `--fail-on-regression "${opts.failOnRegression}": expected a percentage such as 5`,
      );
  }
  const fleet = await import('./fleet/commands.js');
  if (fleet.isFleetRef(a, c.resultsRoot) || fleet.isFleetRef(b, c.resultsRoot)) {
    const r = await fleet.fleetCompare(a, b, {
      resultsRoot: c.resultsRoot,
      reportsRoot: c.reportsRoot,
      ...(failPct !== undefined ? { failPct } : {}),
      ...(opts.json ? { json: true } : {}),
    });
    c.out(r.text);
    return r.exitCode;
  }
  const ra = await loadResultsRef(a, c.resultsRoot);
  const rb = await loadResultsRef(b, c.resultsRoot);
  const comparison = cmp.compareRuns(ra, rb, { absolute: opts.absolute === true });
  const md = cmp.renderCompareMarkdown(comparison);
  const { writeCompareReport } = await import('./report/write.js');
  const written = await writeCompareReport(
    ra.runId,
    rb.runId,
    { html: cmp.renderCompareHtml(comparison), markdown: md },
    c.reportsRoot,
  );
  c.out(opts.json ? JSON.stringify(comparison, null, 2) : md);
  c.err(`compare report: ${written.index}\n`);
  if (failPct !== undefined) {
    const regs = cmp.regressions(comparison, failPct, gate);
    const gated = cmp.gatedRows(comparison, gate).length;
    const family = gate === 'headline' ? `the ${gated} headline rows` : `${gated} rows`;
    if (regs.length) {
      c.err(
        `${regs.length} regression(s) worse by more than ${failPct}% (one-sided, Holm-corrected at 2.5% across ` +
          `${family}):\n`,
      );
      for (const r of regs)
        c.err(
          `  ${r.backend} ${r.workload} ${r.metric}: ${cmp.changeText(r)} ` +
            `(${comparison.basis === 'overhead' ? 'overhead vs native' : 'absolute'})\n`,
        );
      return EXIT_FAILED;
    }
    c.err(`no regression worse by more than ${failPct}% (one-sided, Holm-corrected at 2.5% across ${family})\n`);
  }
  return EXIT_OK;
}

async function cmdCapacity(
  c: Cli,
  opts: { run?: string; host?: string; instance?: string; target?: string; json?: boolean },
): Promise<number> {
  if (!opts.run)
    throw new IsobenchError(
      'BAD_ARGS',
      'capacity: --run <run-id> is required (a run id under results/ or a run directory)',
    );
  if (!opts.host)
    throw new IsobenchError(
      'BAD_ARGS',
      'capacity: --host is required, e.g. --host cores=64,memoryGiB=256 or --host ' +
        'scenarios/hosts/example-64c-256g.yaml',
    );
  if (!opts.instance)
    throw new IsobenchError('BAD_ARGS', 'capacity: --instance is required, e.g. --instance vcpus=2,memoryMiB=2048');
  const fleet = await import('./fleet/commands.js');
  if (fleet.isFleetRef(opts.run, c.resultsRoot)) {
    const r = await fleet.fleetCapacityCommand({
      run: opts.run,
      host: opts.host,
      instance: opts.instance,
      resultsRoot: c.resultsRoot,
      ...(opts.json ? { json: true } : {}),
    });
    c.out(r.text);
    return r.exitCode;
  }
  const { runCapacityCommand } = await import('./capacity/index.js');
  const r = await runCapacityCommand({
    run: opts.run,
    host: opts.host,
    instance: opts.instance,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.json ? { json: true } : {}),
    resultsRoot: c.resultsRoot,
  });
  c.out(r.text);
  return r.exitCode;
}

export function buildProgram(setExit: (code: number) => void, io: CliIO = defaultIO()): Command {
  const c = cliOf(io);
  const program = new Command();
  program
    .name('isobench')
    .description(
      'What does isolation cost? Runs identical workloads natively, in containers and in VMs, and reports the ' +
        'overhead with its uncertainty.',
    )
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => c.stdout.write(s), writeErr: (s) => c.err(s) })
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 a run or check failed, 2 bad input.
Examples:
  isobench doctor                         what this host can run
  isobench run scenarios/quick.yaml       the default scenario, report included
  isobench report <run-id>                re-render a run's report
  isobench compare <runA> <runB> --fail-on-regression 5
  isobench capacity --run <run-id> --host cores=64,memoryGiB=256 --instance vcpus=2,memoryMiB=2048`,
    );

  program
    .command('doctor')
    .description(
      'check this host: root, cgroups, tools, guest kernel, KVM (real or software), and every host capability with ' +
        'what isobench does without it',
    )
    .option('--json', 'machine-readable output')
    .option(
      '--cleanup',
      'remove what runs whose process is gone left behind, and restore the host settings they changed (a live ' +
        "run's resources are never touched)",
    )
    .option('--run <run-id>', "with --cleanup: only this run's leftovers (run id or short id)")
    .option(
      '--vm',
      'also boot a guest with the accelerator a run would use and compare it with the host: CPU model and flags, ' +
        'mitigations, clocksource, THP, virtio-net backend, I/O threads',
    )
    .option('--mask-capability <list>', 'show the capabilities as a run with this mask would see them (see run --help)')
    .action(async (o) => setExit(await cmdDoctor(c, o)));

  const scenarios = program.command('scenarios').description('list and validate scenario files');
  scenarios
    .command('list')
    .description('list the scenarios shipped in scenarios/')
    .action(async () => setExit(await cmdScenariosList(c)));
  scenarios
    .command('validate')
    .description(
      'validate scenario files: one line per problem (file:line: field: what is allowed), exit 2 if any is invalid',
    )
    .argument('<files...>', 'scenario YAML files')
    .action(async (files: string[]) => setExit(await cmdScenariosValidate(c, files)));

  program
    .command('images')
    .description('workload image (rootfs + ext4) shared by containers and VMs')
    .command('build')
    .description('build (or reuse from cache) the content-hashed workload image')
    .action(async () => setExit(await cmdImagesBuild(c)));

  program
    .command('run')
    .description('run a scenario; prints the run directory as its last line')
    .argument(
      '[scenario]',
      'scenario YAML file, e.g. scenarios/quick.yaml (with --resume: optional, must match the recorded one)',
    )
    .option('--backends <list>', 'only these backends: native,container,vm or variants like container:runsc')
    .option('--run-id <id>', 'name of the run directory (default: <scenario>-<time>-<rand>)')
    .option(
      '--resume <run-id>',
      'resume an interrupted run with its recorded scenario: keep measured repetitions, run what is missing',
    )
    .option('--no-report', 'do not render the report at the end')
    .option('--quiet', 'no progress output')
    .option(
      '--mask-capability <list>',
      'treat these host capabilities as absent (e.g. disk-weights,block-counters; `isobench doctor` lists them), ' +
        'to run the fallbacks for real; default: $ISOBENCH_MASK_CAPABILITIES',
    )
    .action(async (scenario: string | undefined, o) => setExit(await cmdRun(c, scenario, o)));

  program
    .command('report')
    .description('render reports/<run-id>/ (index.html, PNG charts, summary.md) from a run')
    .argument('<run>', 'run id under results/, a run directory, or a fleet directory')
    .action(async (ref: string) => setExit(await cmdReport(c, ref)));

  program
    .command('compare')
    .description(
      "compare two runs: each backend's overhead vs native, A vs B (ratio of ratios with a 95% CI), with the " +
        "run's verdicts (no practical difference / small difference / overhead = regressed / better = improved / " +
        'inconclusive)',
    )
    .argument('<runA>', 'baseline: run id, run directory or results JSON file')
    .argument('<runB>', 'new run: run id, run directory or results JSON file')
    .option(
      '--fail-on-regression <pct>',
      'exit 1 if a gated row is worse by more than this percentage (one-sided test per row, Holm-corrected ' +
        'across the gated rows; host drift never counts); see docs/statistics.md',
    )
    .option(
      '--gate <rows>',
      "rows --fail-on-regression tests: headline (default: each backend's headline figure per category, the " +
        'primary endpoints) or all (every row: a larger family, so less power)',
    )
    .option(
      '--absolute',
      'compare the raw figures instead of the overheads vs native (a change native shows too is labelled host drift)',
    )
    .option('--json', 'print the comparison as JSON')
    .action(async (a: string, b: string, o) => setExit(await cmdCompare(c, a, b, o)));

  program
    .command('capacity')
    .description("how many instances fit on a host as VMs and as containers, from a run's measured overheads")
    .addOption(new Option('--run <run-id>', 'run id under results/ or a run directory'))
    .option(
      '--host <spec>',
      'host: cores=64,memoryGiB=256[,diskIops=..,netGbps=..] or a YAML profile (scenarios/hosts/)',
    )
    .option('--instance <spec>', 'per-instance demand: vcpus=2,memoryMiB=2048[,iops=..,mbps=..]')
    .option('--target <n>', 'instances needed: prints hosts required')
    .option('--json', 'machine-readable output')
    .action(async (o) => setExit(await cmdCapacity(c, o)));

  const fleetCmd = program
    .command('fleet')
    .description(
      'run a scenario on many hosts through Ansible or Kubernetes; `report`, `compare` and `capacity` accept the ' +
        'fleet directory',
    );
  fleetCmd
    .command('ansible')
    .description(
      'write (and with --run, run) an Ansible playbook: per host doctor, setup, the scenario, results fetched to ' +
        'results/<fleet-id>/<host>/',
    )
    .argument('<scenario>', 'scenario YAML file')
    .option('--inventory <file>', 'Ansible inventory (INI or YAML)')
    .option('--limit <pattern>', 'only these hosts (ansible --limit)')
    .option('--serial <n>', 'hosts measured at a time (default 1: hosts sharing hardware do not disturb each other)')
    .option('--fleet-id <id>', 'name the fleet, or resume one: hosts with complete results are skipped')
    .option('--source <dir|git-url>', 'isobench source installed on each host (default: this checkout)')
    .option('--source-version <ref>', 'git ref when --source is a git URL (default HEAD)')
    .option(
      '--remote-dir <dir>',
      'install directory on each host (default /opt/isobench; inventory var isobench_remote_dir overrides)',
    )
    .option('--run', 'run ansible-playbook now, then print the fleet summary and write the fleet report')
    .option('--quiet', 'no Ansible progress output')
    .action(async (scenario: string, o) =>
      setExit(
        await (await import('./fleet/commands.js')).cmdFleetAnsible(scenario, o, {
          resultsRoot: c.resultsRoot,
          reportsRoot: c.reportsRoot,
          packageRoot: ROOT,
          out: c.out,
        }),
      ),
    );
  fleetCmd
    .command('k8s')
    .description(
      'write validated Kubernetes manifests: a privileged Job per node, RuntimeClasses (runc, runsc, kata), ' +
        'KubeVirt VMIs',
    )
    .argument('<scenario>', 'scenario YAML file')
    .option(
      '--nodes <names|selector>',
      'comma-separated node names (kubernetes.io/hostname), or a label selector (pool=bench)',
    )
    .option('--namespace <ns>', 'namespace (default isobench)')
    .option('--fleet-id <id>', 'fleet id (default <scenario>-k8s-<time>)')
    .option('--run <run-id>', "set RuntimeClass overhead.podFixed from this run's measured footprint and CPU overhead")
    .option(
      '--runner-image <image>',
      "image of the per-node runner pod (default debian:12-slim; isobench itself is the node's /opt/isobench)",
    )
    .option(
      '--workload-image <image>',
      'image with sh, sysbench and stress-ng: adds a Job per node and RuntimeClass (the platform arms)',
    )
    .option(
      '--vm-image <image>',
      'KubeVirt containerDisk with cloud-init, sysbench and stress-ng: adds a VirtualMachineInstance per node',
    )
    .option('--arm-start <time>', "when the arms' first round starts (ISO 8601 or Unix seconds; default in 10 minutes)")
    .action(async (scenario: string, o) =>
      setExit(
        await (await import('./fleet/commands.js')).cmdFleetK8s(scenario, o, {
          resultsRoot: c.resultsRoot,
          out: c.out,
        }),
      ),
    );

  for (const c of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) c.exitOverride();
  return program;
}

/**
 * Run one command line and return its exit code. Everything it reads and writes is in `io` (the installed
 * command passes defaultIO()); signals (SIGINT, SIGTERM, SIGHUP) stop a `run` as they would the command.
 */
export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  let code = EXIT_OK;
  const c = cliOf(io);
  const program = buildProgram((x) => {
    code = x;
  }, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT_OK;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT_OK;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof IsobenchError) {
      c.err(`isobench: ${e.message}\n`);
      for (const d of e.details) c.err(`${d}\n`);
      return e.exitCode;
    }
    c.err(`isobench: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_FAILED;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /(?:cli\.ts|isobench(?:\.js)?)$/.test(process.argv[1]);
if (invokedDirectly) {
  const code = await main(process.argv.slice(2), defaultIO());
  process.exitCode = code;
  // Handles (progress bars, sockets) must not keep a finished command alive.
  setTimeout(() => process.exit(code), 50).unref();
}
