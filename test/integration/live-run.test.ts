/**
 * Ownership on the real run path (native backend, real cgroups and KSM):
 * - while a run is live, `doctor --cleanup` aimed at it and a second
 *   `--resume` of it leave it alone: it completes with no failed cell, and
 *   the resume exits 2 naming the holder;
 * - after a SIGKILL (no handler runs), `doctor --cleanup` restores KSM from
 *   the run's state file and removes its cgroups, temp folders and state.
 * The cleanups are scoped with --run to the run this test started, so other
 * runs on this machine are not touched (the unscoped path is the same code
 * with no filter).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench, ROOT } from '../helpers/cli.js';
import type { RunResults } from '../../src/results/types.js';
import { shortIdOf } from '../../src/runner/run.js';

let resultsRoot: string;
const env = (): Record<string, string> => ({
  ISOBENCH_RESULTS: resultsRoot,
  ISOBENCH_REPORTS: path.join(resultsRoot, 'reports'),
});
const load = (id: string): RunResults =>
  JSON.parse(readFileSync(path.join(resultsRoot, id, 'results.json'), 'utf8')) as RunResults;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function start(scenario: string, id: string) {
  return execa(
    process.execPath,
    [path.join(ROOT, 'bin/isobench.js'), 'run', scenario, '--run-id', id, '--no-report', '--quiet'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env() },
      reject: false,
      forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
      stdin: 'ignore',
    },
  );
}

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every isobench cgroup, temp folder and state directory that carries this run's short id. */
function traces(shortId: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const dir = `/sys/fs/cgroup/${h}/isobench`;
    if (existsSync(dir)) for (const d of readdirSync(dir)) if (d.startsWith(`${shortId}-`)) out.push(`${dir}/${d}`);
  }
  for (const d of readdirSync(os.tmpdir()))
    if (d.startsWith(`isobench-${shortId}-`) || d.startsWith(`isobench-vm-${shortId}-`))
      out.push(path.join(os.tmpdir(), d));
  if (existsSync(`/run/isobench/${shortId}`)) out.push(`/run/isobench/${shortId}`);
  return out;
}

const ksmRead = (f: string): string => readFileSync(`/sys/kernel/mm/ksm/${f}`, 'utf8').trim();

beforeAll(() => {
  resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-live-'));
});
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

describe('a live run is never harmed', () => {
  it('doctor --cleanup and a second --resume during a running run leave it complete with no failed cell', async () => {
    const id = 'live-native';
    const shortId = shortIdOf(id);
    const child = start('test/fixtures/scenarios/native-live.yaml', id);
    // Live: its lock exists and a first repetition is measured (so its cgroup and temp folder exist).
    await until('the first measured repetition', () => {
      const f = path.join(resultsRoot, id, 'results.json');
      return existsSync(f) && readFileSync(f, 'utf8').includes('"repetitions": [\n');
    });
    expect(existsSync(`/run/isobench/${shortId}/state.json`)).toBe(true);
    const before = traces(shortId);
    expect(before.some((t) => t.includes('/sys/fs/cgroup/'))).toBe(true);

    const [doctor, resume] = await Promise.all([
      isobench(['doctor', '--cleanup', '--run', id], env()),
      isobench(['run', '--resume', id, '--no-report'], env()),
    ]);
    // Both acted while the run was still going: otherwise this test proves nothing.
    expect(child.exitCode).toBe(null);

    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(
      new RegExp(`left alone \\(their run is live\\):[\\s\\S]*owned by run ${id} \\(pid ${child.pid}\\)`),
    );
    expect(doctor.stdout).not.toMatch(new RegExp(`removed .*${shortId}`));
    expect(resume.code).toBe(2);
    expect(resume.stderr.trim().split('\n')).toHaveLength(1);
    expect(resume.stderr).toMatch(new RegExp(`run ${id} is in use by pid ${child.pid}`));
    // The live run's resources are all still there.
    for (const t of before) if (t.startsWith('/sys/fs/cgroup/')) expect(existsSync(t), t).toBe(true);

    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    const done = load(id);
    expect(done.status).toBe('complete');
    expect(done.cells.every((c) => c.state === 'complete')).toBe(true);
    for (const c of done.cells) for (const m of c.metrics) expect(m.values).toHaveLength(3);
    expect(traces(shortId)).toEqual([]);
  });
});

describe('crash safety of host settings', () => {
  it("after a SIGKILL while KSM is on, doctor --cleanup restores KSM and removes the run's leftovers", async () => {
    const id = 'killed-ksm';
    const shortId = shortIdOf(id);
    const ksmBefore = { run: ksmRead('run'), pagesToScan: ksmRead('pages_to_scan') };
    // The test needs KSM off beforehand to see the run's change (the run itself leaves it as found).
    expect(ksmBefore.run).toBe('0');
    const child = start('test/fixtures/scenarios/native-ksm.yaml', id);
    const stateFile = `/run/isobench/${shortId}/state.json`;
    await until(
      'KSM switched on by the run',
      () => ksmRead('pages_to_scan') === '4321' && ksmRead('run') === '1',
      180_000,
    );
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      hostSettings: Array<{ file: string; original: string }>;
    };
    // The originals were saved before the change.
    expect(state.hostSettings).toEqual(
      expect.arrayContaining([
        { file: '/sys/kernel/mm/ksm/pages_to_scan', kind: 'value', original: ksmBefore.pagesToScan },
        { file: '/sys/kernel/mm/ksm/run', kind: 'value', original: '0' },
      ]),
    );
    child.kill('SIGKILL');
    await child;
    // Nothing ran after the kill: KSM is as the run left it, its cgroup and state are still there.
    expect(ksmRead('run')).toBe('1');
    expect(traces(shortId).length).toBeGreaterThan(0);

    const doctor = await isobench(['doctor', '--cleanup', '--run', id], env());
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect(doctor.stdout).toContain(`host setting /sys/kernel/mm/ksm/run back to 0 (run ${id})`);
    expect(ksmRead('run')).toBe('0');
    expect(ksmRead('pages_to_scan')).toBe(ksmBefore.pagesToScan);
    expect(traces(shortId)).toEqual([]);
    // The partial results of the killed run are still readable and resumable later.
    expect(load(id).status).toBe('partial');
  });
});
