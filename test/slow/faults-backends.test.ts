/**
 * Signals sent mid-run to the real CLI while a VM boots and while a container
 * workload runs: the run ends with a partial result and nothing is left behind
 * (no qemu, runc state, cgroup, namespace, tap/veth, mount or socket), and the
 * partial result resumes to a complete run.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isobench, ROOT } from '../helpers/cli.js';
import { shortIdOf } from '../../src/runner/run.js';
import type { RunResults } from '../../src/results/types.js';

let resultsRoot: string;
const env = (): Record<string, string> => ({
  ISOBENCH_RESULTS: resultsRoot,
  ISOBENCH_REPORTS: path.join(resultsRoot, 'reports'),
});
const load = (id: string): RunResults =>
  JSON.parse(readFileSync(path.join(resultsRoot, id, 'results.json'), 'utf8')) as RunResults;

/** Everything of one run that could leak, by its short id. */
async function leftovers(runId: string): Promise<string[]> {
  const sid = shortIdOf(runId);
  const out: string[] = [];
  const ns = String((await execa('ip', ['netns', 'list'], { reject: false })).stdout);
  for (const l of ns.split('\n')) if (l.includes(sid)) out.push(`netns ${l}`);
  for (const ctl of ['cpu', 'memory', 'cpuset', 'pids', 'blkio']) {
    const dir = `/sys/fs/cgroup/${ctl}/isobench`;
    if (existsSync(dir)) for (const d of readdirSync(dir)) if (d.startsWith(sid)) out.push(`cgroup ${ctl}/${d}`);
  }
  const procs = String((await execa('pgrep', ['-af', `isobench-${sid}`], { reject: false })).stdout).trim();
  if (procs) out.push(`processes ${procs}`);
  if (existsSync(`/run/isobench/${sid}`)) out.push(`runtime state /run/isobench/${sid}`);
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  for (const l of mounts.split('\n')) if (l.includes(`isobench-${sid}`)) out.push(`mount ${l}`);
  for (const d of readdirSync(os.tmpdir())) if (d.startsWith(`isobench-${sid}`)) out.push(`tmp ${d}`);
  return out;
}

async function interruptWhen(
  args: string[],
  id: string,
  ready: RegExp,
  sig: NodeJS.Signals,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stderr: string; stoppedMs: number }> {
  const child = execa(process.execPath, [path.join(ROOT, 'bin/isobench.js'), ...args, '--run-id', id, '--no-report'], {
    cwd: ROOT,
    env: { ...process.env, ...env(), ...extraEnv },
    reject: false,
    forceKillAfterDelay: false, // execa would SIGKILL 5 s after our SIGTERM, cutting the run's own cleanup short
    stdin: 'ignore',
    all: true,
  });
  let seen = '';
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 120_000);
    child.stderr?.on('data', (b: Buffer) => {
      seen += b.toString();
      if (ready.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const t0 = Date.now();
  child.kill(sig);
  const r = await child;
  return { code: r.exitCode ?? -1, stderr: String(r.stderr), stoppedMs: Date.now() - t0 };
}

beforeAll(() => {
  resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'ib-faults-b-'));
});
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

describe('faults with real backends', () => {
  it('SIGINT during a cold workload-image build: ends within 10 s, partial result, no half-built image, nothing left', async () => {
    const id = 'cold-image-sigint';
    // An empty image cache: the run must build the rootfs (about 4 s here) before anything else.
    const cache = mkdtempSync(path.join(os.tmpdir(), 'ib-cold-cache-'));
    try {
      const r = await interruptWhen(
        ['run', 'test/fixtures/scenarios/container-short.yaml'],
        id,
        /building workload image/,
        'SIGINT',
        { ISOBENCH_CACHE: cache },
      );
      expect(r.code, r.stderr).toBe(130);
      expect(r.stoppedMs).toBeLessThan(10_000);
      const partial = load(id);
      expect(partial.status).toBe('partial');
      expect(partial.statusReason).toMatch(/interrupted/);
      // The build's temp folder is removed; nothing is left under a content-hash name.
      const images = path.join(cache, 'images');
      expect(existsSync(images) ? readdirSync(images).filter((f) => f !== 'by-input') : []).toEqual([]);
      expect(await leftovers(partial.runId)).toEqual([]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('SIGINT during a VM boot: partial result, no qemu/tap/netns/cgroup/socket left, resume completes', async () => {
    const id = 'vm-sigint';
    // Interrupt right after QEMU has been asked to boot the guest.
    const r = await interruptWhen(
      ['run', 'test/fixtures/scenarios/vm-short.yaml'],
      id,
      /starting vm:\S+ instance/,
      'SIGINT',
    );
    expect(r.code).toBe(130);
    const partial = load(id);
    expect(partial.status).toBe('partial');
    expect(await leftovers(partial.runId)).toEqual([]);
    const resumed = await isobench(
      ['run', 'test/fixtures/scenarios/vm-short.yaml', '--resume', id, '--no-report'],
      env(),
    );
    expect(resumed.code).toBe(0);
    const done = load(id);
    expect(done.status).toBe('complete');
    expect(done.cells.find((c) => c.workload === 'cpu')?.state).toBe('complete');
    expect(await leftovers(done.runId)).toEqual([]);
  });

  it('SIGTERM during a container workload: partial result, nothing left, resume keeps what was measured', async () => {
    const id = 'ctr-sigterm';
    const r = await interruptWhen(
      ['run', 'test/fixtures/scenarios/container-short.yaml'],
      id,
      /container:runc network rep 1/,
      'SIGTERM',
    );
    expect(r.code).toBe(130);
    const partial = load(id);
    expect(partial.status).toBe('partial');
    const cpuBefore = partial.cells
      .find((c) => c.workload === 'cpu')!
      .metrics.find((m) => m.metric === 'sysbench-events-1t')!.values;
    expect(cpuBefore.length).toBeGreaterThan(0);
    expect(await leftovers(partial.runId)).toEqual([]);
    const runcState = String((await execa('runc', ['list'], { reject: false })).stdout);
    expect(runcState).not.toContain(shortIdOf(partial.runId));
    const resumed = await isobench(
      ['run', 'test/fixtures/scenarios/container-short.yaml', '--resume', id, '--no-report'],
      env(),
    );
    expect(resumed.code).toBe(0);
    const done = load(id);
    expect(done.status).toBe('complete');
    const cpuAfter = done.cells
      .find((c) => c.workload === 'cpu')!
      .metrics.find((m) => m.metric === 'sysbench-events-1t')!.values;
    expect(cpuAfter.slice(0, cpuBefore.length)).toEqual(cpuBefore);
    expect(cpuAfter).toHaveLength(2);
    expect(await leftovers(done.runId)).toEqual([]);
  });
});
