/**
 * The fault matrix's real cases, on the real CLI with all three backends (native, runc, the q35 VM under
 * TCG here) in one run: after each, nothing of the run is left on the host and results.json is a valid
 * file marked partial. Every stage against every fault runs on the fake provider in seconds
 * (test/unit/runner/fault-matrix.test.ts, abort.test.ts); what stays here is what only real backends can
 * leave behind:
 *   preparation SIGTERM the VM backend is being prepared (accelerator decision, guest initramfs), before
 *                       any instance: a Ctrl-C there is not noticed only afterwards
 *   isolation  SIGHUP   memory-gradient in the VM: extra VM instances booting or running, native and runc
 *                       instances idle (frozen)
 *   workload   SIGKILL  no handler runs: `doctor --cleanup --run <id>` removes what it left
 * A VM boot (SIGINT) and a runc workload (SIGTERM) are interrupted in faults-backends.test.ts; the cases
 * that moved to the fake provider (boot SIGINT, workload SIGTERM, report SIGINT) are listed in docs/tests.md.
 * The stage is read from the run's progress output, never guessed by sleeping.
 * A second --resume and doctor --cleanup during a live run are in test/integration/live-run.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench, ROOT } from '../helpers/cli.js';
import { cgroupLeftovers } from '../helpers/cgroup-leftovers.js';
import { loadResults } from '../../src/results/io.js';
import { shortIdOf } from '../../src/runner/run.js';

const SCENARIO = 'test/fixtures/scenarios/fault-matrix.yaml';
let resultsRoot: string;
const env = (): Record<string, string> => ({
  ISOBENCH_RESULTS: resultsRoot,
  ISOBENCH_REPORTS: path.join(resultsRoot, 'reports'),
});
const ksm = (): string =>
  ['run', 'pages_to_scan', 'sleep_millisecs']
    .map((f) => `${f}=${readFileSync(`/sys/kernel/mm/ksm/${f}`, 'utf8').trim()}`)
    .join(' ');
let ksmBefore: string;

/** Everything of one run that could be left on the host, by its short id. */
async function leftovers(sid: string): Promise<string[]> {
  const out: string[] = [];
  const text = async (argv: string[]): Promise<string> =>
    String((await execa(argv[0] as string, argv.slice(1), { reject: false })).stdout);
  for (const l of (await text(['ip', 'netns', 'list'])).split('\n')) if (l.includes(sid)) out.push(`netns ${l}`);
  for (const l of (await text(['ip', '-o', 'link'])).split('\n')) if (l.includes(sid)) out.push(`link ${l}`);
  for (const l of (await text(['pgrep', '-af', 'qemu-system'])).split('\n'))
    if (l.includes(sid)) out.push(`qemu ${l.slice(0, 120)}`);
  for (const l of (await text(['pgrep', '-af', `isobench-${sid}`])).split('\n'))
    if (l.trim()) out.push(`process ${l.slice(0, 120)}`);
  for (const l of (await text(['runc', 'list', '--quiet'])).split('\n')) if (l.includes(sid)) out.push(`runc ${l}`);
  for (const l of (await text(['losetup', '-a'])).split('\n')) if (l.includes(sid)) out.push(`loop ${l}`);
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) if (l.includes(sid)) out.push(`mount ${l}`);
  for (const d of readdirSync(os.tmpdir()))
    if (d.startsWith(`isobench-${sid}`) || d.startsWith(`isobench-vm-${sid}`)) out.push(`tmp ${d}`);
  if (existsSync(`/run/isobench/${sid}`)) out.push(`state /run/isobench/${sid}`);
  // The run's cgroups, and any `isobench` parent left empty (what `find /sys/fs/cgroup -name '*isobench*'` would show).
  out.push(...cgroupLeftovers(sid));
  const k = ksm();
  if (k !== ksmBefore) out.push(`KSM ${k} (was ${ksmBefore})`);
  return out;
}

/** Start a run, send `sig` once its output matches `stage`, and return what happened. */
async function interruptAt(id: string, stage: RegExp, sig: NodeJS.Signals, scenario = SCENARIO) {
  const child = execa(
    process.execPath,
    [path.join(ROOT, 'bin/isobench.js'), 'run', scenario, '--run-id', id, '--no-report'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env() },
      reject: false,
      forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
      stdin: 'ignore',
    },
  );
  let seen = '';
  const reached = await new Promise<boolean>((resolve) => {
    const look = (b: Buffer): void => {
      seen += b.toString();
      if (stage.test(seen)) resolve(true);
    };
    child.stderr?.on('data', look);
    child.stdout?.on('data', look);
    void child.then(() => resolve(false));
  });
  const t0 = Date.now();
  child.kill(sig);
  const r = await child;
  return { reached, seen, code: r.exitCode, signal: r.signal, stoppedMs: Date.now() - t0 };
}

beforeAll(() => {
  resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-matrix-'));
  ksmBefore = ksm();
});
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

describe('fault matrix: native, runc and VM in one run', () => {
  const cases: Array<{ stage: string; sig: NodeJS.Signals; at: RegExp; scenario?: string }> = [
    { stage: 'preparation', sig: 'SIGTERM', at: /preparing vm:/ },
    // Without the cpu cells before it (the same backends and gradient): the VM's gradient is reached sooner.
    {
      stage: 'isolation workload',
      sig: 'SIGHUP',
      at: /vm:\S+ memory-gradient: /,
      scenario: 'test/fixtures/scenarios/fault-matrix-isolation.yaml',
    },
  ];
  for (const c of cases) {
    it(`${c.sig} at ${c.stage}: ends within 10 s, partial results.json, nothing left`, async () => {
      const id = `fm-${c.sig.toLowerCase()}-${c.stage.split(' ')[0]}`;
      const r = await interruptAt(id, c.at, c.sig, c.scenario);
      expect(r.reached, r.seen).toBe(true);
      expect(r.code, r.seen).toBe(130);
      expect(r.stoppedMs).toBeLessThan(10_000);
      const res = await loadResults(path.join(resultsRoot, id)); // schema-validated
      expect(res.status).toBe('partial');
      expect(res.statusReason).toMatch(/interrupted/);
      expect(res.endedAt).not.toBe(null);
      expect(res.backends.map((b) => b.kind).sort()).toEqual(['container', 'native', 'vm']);
      expect(await leftovers(shortIdOf(id))).toEqual([]);
    });
  }

  it('SIGKILL during a workload, then doctor --cleanup: partial results.json, nothing left', async () => {
    const id = 'fm-sigkill-workload';
    const r = await interruptAt(id, /container:\S+ cpu rep 1\/1/, 'SIGKILL');
    expect(r.reached, r.seen).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    const sid = shortIdOf(id);
    // No handler ran: the run's state (its lock) is still there for the cleanup to act on.
    expect(existsSync(`/run/isobench/${sid}/state.json`)).toBe(true);
    const doctor = await isobench(['doctor', '--cleanup', '--run', id], env());
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const res = await loadResults(path.join(resultsRoot, id));
    expect(res.status).toBe('partial');
    expect(await leftovers(sid)).toEqual([]);
  });
});
