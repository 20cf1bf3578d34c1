/**
 * The run's state file and lock (core/state.ts), the host-setting guard
 * (host/settings.ts, used by KSM) and the cleanup registry's ordering, on a
 * private state root and fake sysfs files: nothing here touches the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = mkdtempSync(path.join(os.tmpdir(), 'ib-state-'));
process.env.ISOBENCH_STATE_ROOT = path.join(root, 'run');

type StateMod = typeof import('../../../src/core/state.js');
type SettingsMod = typeof import('../../../src/host/settings.js');
type CleanupMod = typeof import('../../../src/core/cleanup.js');
type KsmMod = typeof import('../../../src/host/ksm.js');
let state: StateMod;
let settings: SettingsMod;
let cleanupMod: CleanupMod;
let ksmMod: KsmMod;

beforeAll(async () => {
  state = await import('../../../src/core/state.js');
  settings = await import('../../../src/host/settings.js');
  cleanupMod = await import('../../../src/core/cleanup.js');
  ksmMod = await import('../../../src/host/ksm.js');
  expect(state.stateRoot()).toBe(path.join(root, 'run'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A process that lives until killed, and then is certainly dead. */
function sleeper(): { pid: number; kill: () => Promise<void> } {
  const c = spawn('sleep', ['600'], { stdio: 'ignore' });
  return { pid: c.pid!, kill: () => new Promise((r) => (c.kill('SIGKILL'), c.once('exit', () => r()))) };
}

describe('owner liveness', () => {
  it('a live pid with its start time is alive; a dead pid or a recycled one is not', async () => {
    const s = sleeper();
    const st = state.procStartTime(s.pid)!;
    expect(st).toMatch(/^\d+$/);
    expect(state.ownerAlive({ pid: s.pid, startTime: st })).toBe(true);
    // Same pid, another start time: the pid was reused by a different process.
    expect(state.ownerAlive({ pid: s.pid, startTime: String(Number(st) + 1) })).toBe(false);
    await s.kill();
    expect(state.ownerAlive({ pid: s.pid, startTime: st })).toBe(false);
    expect(state.ownerAlive(undefined)).toBe(false);
  });

  it('short ids match whole name tokens only', () => {
    expect(state.nameHasShortId('isobench-abc123-bench', 'abc123')).toBe(true);
    expect(state.nameHasShortId('isobench/abc123-n-0', 'abc123')).toBe(true);
    expect(state.nameHasShortId('runc x (root /run/isobench/abc123/runc)', 'abc123')).toBe(true);
    expect(state.nameHasShortId('/tmp/isobench-vm-abc123-Xy12', 'abc123')).toBe(true);
    expect(state.nameHasShortId('/tmp/isobench-ffabc123ff-1', 'abc123')).toBe(false);
    expect(state.nameHasShortId('/tmp/isobench-vm-Qabc123', 'abc123')).toBe(false);
  });
});

describe('the run lock', () => {
  it('is written before use, refuses a second claimant naming the holder, and is dropped on release', async () => {
    const { state: s1 } = await state.RunState.claim('run-a', 'aaaaaa');
    const file = path.join(state.stateRoot(), 'aaaaaa', state.STATE_FILE);
    const data = JSON.parse(readFileSync(file, 'utf8')) as { owner: { pid: number }; claims: string[] };
    expect(data.owner.pid).toBe(process.pid);
    expect(data.claims).toContain('netns isobench-aaaaaa-*');
    await expect(state.RunState.claim('run-a', 'aaaaaa')).rejects.toThrow(
      new RegExp(`run run-a is in use by pid ${process.pid}`),
    );
    await s1.recordResource('cgroup isobench/aaaaaa-n-0');
    expect(readFileSync(file, 'utf8')).toContain('isobench/aaaaaa-n-0');
    await s1.release();
    expect(existsSync(path.dirname(file))).toBe(false);
    // Released twice: the second is a no-op, so it cannot remove a newer holder's lock.
    const { state: s2 } = await state.RunState.claim('run-a', 'aaaaaa');
    await s1.release();
    expect(existsSync(path.dirname(file))).toBe(true);
    await s2.release();
  });

  it('a dead holder is taken over, its host settings handed to the new owner', async () => {
    const dead = sleeper();
    const st = state.procStartTime(dead.pid)!;
    await dead.kill();
    const dir = path.join(state.stateRoot(), 'bbbbbb');
    mkdirSync(path.join(dir, 'runc'), { recursive: true });
    writeFileSync(
      path.join(dir, state.STATE_FILE),
      JSON.stringify({
        runId: 'run-b',
        shortId: 'bbbbbb',
        owner: { pid: dead.pid, startTime: st },
        claims: [],
        resources: [],
        hostSettings: [{ file: '/x/run', kind: 'value', original: '0' }],
      }),
    );
    const { state: s, predecessor } = await state.RunState.claim('run-b', 'bbbbbb');
    expect(predecessor?.owner.pid).toBe(dead.pid);
    expect(s.hostSettings()).toEqual([{ file: '/x/run', kind: 'value', original: '0' }]);
    // The dead run's runtime root stays under the run's directory for its removal.
    expect(existsSync(path.join(dir, 'runc'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, state.STATE_FILE), 'utf8')).owner.pid).toBe(process.pid);
    await s.release();
  });
});

describe('racing claimants', () => {
  // Staggered arrivals over many rounds: a claimant that reads the dead state late must never move
  // the winner's fresh lock (with its half-written state file) aside. One round almost never hits it.
  it('of a dead holder: exactly one gets the lock, the others are refused, round after round', async () => {
    const dir = path.join(state.stateRoot(), 'ffffff');
    for (let round = 0; round < 40; round++) {
      const dead = sleeper();
      const st = state.procStartTime(dead.pid)!;
      await dead.kill();
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, state.STATE_FILE),
        JSON.stringify({
          runId: 'run-f',
          shortId: 'ffffff',
          owner: { pid: dead.pid, startTime: st },
          claims: [],
          resources: [],
          hostSettings: [],
        }),
      );
      const results = await Promise.allSettled(
        [0, 1, 2, 0, 1, 2].map((ms) =>
          new Promise((r) => setTimeout(r, ms)).then(() => state.RunState.claim('run-f', 'ffffff')),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected')
          expect(String(r.reason)).toMatch(
            /in use by pid|just claimed by another process|being started by another process/,
          );
      if (won[0]?.status === 'fulfilled') await won[0].value.state.release();
    }
    expect(readdirSync(state.stateRoot()).filter((f) => f.startsWith(state.TAKEOVER_PREFIX))).toEqual([]);
  });
});

describe('host settings through the guard', () => {
  it('the original is in the state file before the write, restored by the registry, forgotten after', async () => {
    const sys = mkdtempSync(path.join(root, 'ksm-'));
    writeFileSync(path.join(sys, 'run'), '0\n');
    writeFileSync(path.join(sys, 'pages_to_scan'), '100\n');
    for (const f of ['pages_sharing', 'pages_shared', 'full_scans']) writeFileSync(path.join(sys, f), '0\n');
    const { state: s } = await state.RunState.claim('run-c', 'cccccc');
    const registry = new cleanupMod.CleanupRegistry();
    settings.setHostSettingGuard(settings.makeHostSettingGuard(s, registry));
    try {
      let seenDuring: unknown;
      await ksmMod.withKsmOn(new ksmMod.Ksm(sys), { pagesToScan: 5000 }, async () => {
        expect(readFileSync(path.join(sys, 'run'), 'utf8')).toBe('1');
        seenDuring = JSON.parse(readFileSync(path.join(s.dir, state.STATE_FILE), 'utf8')).hostSettings;
      });
      expect(seenDuring).toEqual([
        { file: path.join(sys, 'pages_to_scan'), kind: 'value', original: '100' },
        { file: path.join(sys, 'run'), kind: 'value', original: '0' },
      ]);
      expect(readFileSync(path.join(sys, 'run'), 'utf8')).toBe('0');
      expect(readFileSync(path.join(sys, 'pages_to_scan'), 'utf8')).toBe('100');
      expect(s.hostSettings()).toEqual([]);
      expect(registry.pending).toEqual([]);
    } finally {
      settings.setHostSettingGuard(undefined);
      await s.release();
    }
  });

  it('a change still held when the run ends is restored by releaseAll (the forced-exit path)', async () => {
    const f = path.join(root, 'setting');
    writeFileSync(f, '7\n');
    const { state: s } = await state.RunState.claim('run-d', 'dddddd');
    const registry = new cleanupMod.CleanupRegistry();
    const guard = settings.makeHostSettingGuard(s, registry);
    await guard.change(f, '9');
    expect(readFileSync(f, 'utf8')).toBe('9');
    expect(await registry.releaseAll()).toEqual([]);
    expect(readFileSync(f, 'utf8')).toBe('7');
    await s.release();
  });

  it("a value a dead run left behind is not taken as the host's own: its recorded original is", async () => {
    const f = path.join(root, 'ksm-run-left');
    writeFileSync(f, '1\n'); // the dead run switched it on and was SIGKILLed
    const dead = sleeper();
    const st = state.procStartTime(dead.pid)!;
    await dead.kill();
    mkdirSync(path.join(state.stateRoot(), '111111'), { recursive: true });
    writeFileSync(
      path.join(state.stateRoot(), '111111', state.STATE_FILE),
      JSON.stringify({
        runId: 'dead-run',
        shortId: '111111',
        owner: { pid: dead.pid, startTime: st },
        claims: [],
        resources: [],
        hostSettings: [{ file: f, kind: 'value', original: '0' }],
      }),
    );
    const { state: s } = await state.RunState.claim('run-g', 'gggggg');
    const registry = new cleanupMod.CleanupRegistry();
    await settings.makeHostSettingGuard(s, registry).change(f, '1');
    expect(s.hostSettings()).toEqual([{ file: f, kind: 'value', original: '0' }]);
    // While this live run holds the file, a cleanup leaves the dead run's record waiting.
    const { restoreDeadRunSettings } = await import('../../../src/ops/leftovers.js');
    const dr = (await state.readState('111111'))!;
    const r1 = await restoreDeadRunSettings([dr]);
    expect(r1.waiting).toHaveLength(1);
    expect(readFileSync(f, 'utf8')).toBe('1');
    await registry.releaseAll();
    expect(readFileSync(f, 'utf8')).toBe('0');
    await s.release();
    const r2 = await restoreDeadRunSettings([dr]);
    expect(r2.restored).toEqual([`host setting ${f} back to 0 (run dead-run)`]);
    rmSync(path.join(state.stateRoot(), '111111'), { recursive: true, force: true });
  });

  it('cgroup v2 root controllers: only the ones the run added are recorded and disabled again', async () => {
    const f = path.join(root, 'cgroup.subtree_control');
    writeFileSync(f, 'cpu memory\n');
    const { state: s } = await state.RunState.claim('run-e', 'eeeeee');
    const registry = new cleanupMod.CleanupRegistry();
    await settings.makeHostSettingGuard(s, registry).enableControllers(f, ['cpu', 'memory', 'pids']);
    expect(s.hostSettings()).toEqual([{ file: f, kind: 'controllers', original: 'cpu memory', added: ['pids'] }]);
    // A plain file stands in for cgroupfs: the restore writes "-pids".
    writeFileSync(f, 'cpu memory pids\n');
    await registry.releaseAll();
    expect(readFileSync(f, 'utf8')).toBe('-pids');
    await s.release();
  });
});

describe('cleanup registry', () => {
  it('a second releaseAll during the first joins it: each release runs once, newest first', async () => {
    const order: string[] = [];
    const r = new cleanupMod.CleanupRegistry();
    for (const n of ['a', 'b', 'c'])
      r.add(n, async () => {
        order.push(`start ${n}`);
        await new Promise((res) => setTimeout(res, 30));
        order.push(`end ${n}`);
      });
    const first = r.releaseAll();
    await new Promise((res) => setTimeout(res, 10));
    const second = r.releaseAll();
    await Promise.all([first, second]);
    expect(order).toEqual(['start c', 'end c', 'start b', 'end b', 'start a', 'end a']);
  });

  it('tells its hooks what is added and released', async () => {
    const seen: string[] = [];
    const r = new cleanupMod.CleanupRegistry({ added: (l) => seen.push(`+${l}`), released: (l) => seen.push(`-${l}`) });
    r.add('x', () => undefined);
    r.add('y', () => {
      throw new Error('busy');
    });
    const failures = await r.releaseAll();
    expect(failures).toEqual([{ label: 'y', error: 'busy' }]);
    // A failed release stays listed in the state: only x is reported released.
    expect(seen).toEqual(['+x', '+y', '-x']);
  });
});
