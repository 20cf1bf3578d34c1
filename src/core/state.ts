/**
 * Who owns what: each run keeps a state file at /run/isobench/<short-id>/state.json
 * naming its owner (pid and the process start time, so a recycled pid is not
 * taken for a live owner), the resource names it claims, the resources it
 * registered, and the original value of every host setting it changed. The
 * file is written (and fsynced) before the resource or setting it describes
 * exists, so after a SIGKILL or power loss `doctor --cleanup` knows what to
 * remove and what to put back, and never touches what a live run owns.
 *
 * The state directory is also the run's lock: it is created with an atomic
 * mkdir, a second claimant finds the live owner and is refused (exit 2).
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { IsobenchError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/**
 * Where runs keep their lock and state, and OCI runtimes their per-run state (<root>/<short-id>/<runtime>/): an
 * isobench-owned root, /run/isobench unless ISOBENCH_STATE_ROOT names another (tests give each file its own). Read
 * at each use, never when the module loads, so the process that sets it decides, whatever imported this first.
 */
export function stateRoot(): string {
  return process.env.ISOBENCH_STATE_ROOT ?? '/run/isobench';
}
export const STATE_FILE = 'state.json';
/** Name prefix of the mutex held while a dead run's lock is taken over (see underTakeoverMutex). */
export const TAKEOVER_PREFIX = '.takeover-';

export interface Owner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); with the pid it names one process. */
  startTime: string;
}

/** A host setting changed by the run: `original` is written back on release. */
export interface HostSettingRecord {
  file: string;
  /**
   * 'value': write `original` back. 'controllers': write `-c` for each controller the run enabled (cgroup v2
   * subtree_control).
   */
  kind: 'value' | 'controllers';
  original: string;
  /** For 'controllers': what the run added. */
  added?: string[];
}

export interface RunStateData {
  runId: string;
  shortId: string;
  owner: Owner;
  /** Name patterns this run owns; every resource it creates carries its short id. */
  claims: string[];
  /** Labels of resources registered for release (what existed at the last write). */
  resources: string[];
  hostSettings: HostSettingRecord[];
}

export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function selfOwner(): Owner {
  return { pid: process.pid, startTime: procStartTime(process.pid) ?? '' };
}

/** The owner process still runs (same pid and same start time). */
export function ownerAlive(o: Owner | undefined): boolean {
  if (!o || !Number.isInteger(o.pid) || o.pid <= 0) return false;
  const st = procStartTime(o.pid);
  return st !== undefined && (o.startTime === '' || st === o.startTime);
}

export function claimsFor(shortId: string): string[] {
  return [
    `netns isobench-${shortId}-*`,
    `cgroup isobench/${shortId}-*`,
    `qemu -name isobench-${shortId}-*`,
    `tmp isobench-${shortId}-*`,
    `tmp isobench-vm-${shortId}-*`,
    `dir ${path.join(stateRoot(), shortId)}`,
  ];
}

/** Does a leftover's name carry this short id as a whole token (not inside another word)? */
export function nameHasShortId(name: string, shortId: string): boolean {
  return new RegExp(`(^|[/ -])${shortId}([-/ ]|$)`).test(name);
}

export async function readState(shortId: string): Promise<RunStateData | undefined> {
  const dir = path.join(stateRoot(), shortId);
  try {
    const data = JSON.parse(await fs.readFile(path.join(dir, STATE_FILE), 'utf8')) as RunStateData;
    if (!data || typeof data !== 'object' || !data.owner) return undefined;
    return {
      ...data,
      hostSettings: Array.isArray(data.hostSettings) ? data.hostSettings : [],
      resources: Array.isArray(data.resources) ? data.resources : [],
    };
  } catch {
    // Older runs wrote only owner.pid.
    const pid = Number(await fs.readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => 'NaN'));
    if (!Number.isInteger(pid)) return undefined;
    return {
      runId: shortId,
      shortId,
      owner: { pid, startTime: '' },
      claims: claimsFor(shortId),
      resources: [],
      hostSettings: [],
    };
  }
}

/** Every state directory, with its owner's liveness. */
export async function listStates(): Promise<
  Array<{ shortId: string; state: RunStateData | undefined; alive: boolean }>
> {
  const out: Array<{ shortId: string; state: RunStateData | undefined; alive: boolean }> = [];
  for (const id of await fs.readdir(stateRoot()).catch(() => [] as string[])) {
    if (id.startsWith(TAKEOVER_PREFIX)) continue; // a takeover mutex, not a run
    const state = await readState(id);
    // A directory without a state file yet may be a run between mkdir and its first write: treat as live for a moment.
    let alive = state ? ownerAlive(state.owner) && state.owner.pid !== process.pid : false;
    if (!state) {
      const st = await fs.stat(path.join(stateRoot(), id)).catch(() => undefined);
      alive = !!st && Date.now() - st.mtimeMs < 10_000;
    }
    out.push({ shortId: id, state, alive });
  }
  return out;
}

/**
 * Run `fn` holding `<stateRoot()>/.takeover-<shortId>` (an atomic mkdir). A
 * second claimant meanwhile is refused rather than queued: the first one is
 * about to hold the run. A mutex left by a claimant that died inside the
 * (milliseconds long) takeover is stale after 10 s and removed.
 */
async function underTakeoverMutex<T>(shortId: string, runId: string, fn: () => Promise<T>): Promise<T> {
  const mutex = path.join(stateRoot(), `${TAKEOVER_PREFIX}${shortId}`);
  try {
    await fs.mkdir(mutex, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await fs.stat(mutex).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 10_000) await fs.rmdir(mutex).catch(() => undefined);
    throw new IsobenchError(
      'BAD_ARGS',
      `run ${runId} was just claimed by another process (lock ${path.join(stateRoot(), shortId)}); ` +
        `try again in a moment`,
    );
  }
  try {
    return await fn();
  } finally {
    await fs.rmdir(mutex).catch(() => undefined);
  }
}

/**
 * The host's own value of a setting a dead run changed and never restored
 * (SIGKILL, power loss before a reboot cleared /run is rare, but a crash is
 * not): a new run takes this as the original instead of the dead run's value.
 */
export async function deadRunOriginal(file: string): Promise<string | undefined> {
  for (const s of await listStates()) {
    if (!s.state || ownerAlive(s.state.owner)) continue;
    const rec = s.state.hostSettings.find((h) => h.file === file && h.kind === 'value');
    if (rec) return rec.original;
  }
  return undefined;
}

/**
 * Files whose original a live run holds: a dead run's record for them waits (the live run restores the host's value).
 */
export async function liveHeldSettings(): Promise<Set<string>> {
  const files = new Set<string>();
  // This process counts too: a run's own records are live.
  for (const s of await listStates())
    if (s.state && ownerAlive(s.state.owner)) for (const h of s.state.hostSettings) files.add(h.file);
  return files;
}

/** Put one recorded host setting back; returns an error text or undefined. */
export async function restoreHostSetting(h: HostSettingRecord): Promise<string | undefined> {
  try {
    if (h.kind === 'controllers') {
      // A controller stays enabled while a child still enables it: the empty isobench parent goes first.
      await fs.rmdir(path.join(path.dirname(h.file), 'isobench')).catch(() => undefined);
      const current = (await fs.readFile(h.file, 'utf8')).trim().split(/\s+/).filter(Boolean);
      const drop = (h.added ?? []).filter((c) => current.includes(c));
      if (drop.length) await fs.writeFile(h.file, drop.map((c) => `-${c}`).join(' '));
    } else {
      await fs.writeFile(h.file, h.original);
    }
    return undefined;
  } catch (e) {
    return `${h.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
}

export class RunState {
  private data: RunStateData;
  private writing: Promise<void> = Promise.resolve();
  released = false;

  private constructor(
    readonly dir: string,
    data: RunStateData,
  ) {
    this.data = data;
  }

  get shortId(): string {
    return this.data.shortId;
  }

  /** What the state file says now (a copy). */
  snapshot(): RunStateData {
    return JSON.parse(JSON.stringify(this.data)) as RunStateData;
  }

  /**
   * Take the run's lock. A live holder is refused with its pid; a dead one's
   * state is returned as `predecessor` so the caller removes its leftovers
   * and restores its host settings before creating anything.
   */
  static async claim(runId: string, shortId: string): Promise<{ state: RunState; predecessor?: RunStateData }> {
    const dir = path.join(stateRoot(), shortId);
    await fs.mkdir(stateRoot(), { recursive: true, mode: 0o755 });
    let predecessor: RunStateData | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.mkdir(dir, { mode: 0o700 });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw e;
      }
      const held = await readState(shortId);
      if (held && ownerAlive(held.owner)) {
        throw new IsobenchError(
          'BAD_ARGS',
          `run ${held.runId} is in use by pid ${held.owner.pid} (lock ${dir}); ` +
            `wait for it to end, or stop that process first`,
        );
      }
      if (!held) {
        // Between another claimant's mkdir and its first write (milliseconds, longer on a loaded host): not dead yet.
        const st = await fs.stat(dir).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs < 30_000) {
          throw new IsobenchError(
            'BAD_ARGS',
            `run ${runId} is being started by another process (lock ${dir}); try again in a moment`,
          );
        }
      }
      // Owner dead: take its lock over under a short mutex, so one claimant moves the dead lock
      // aside and none ever moves a live one (a newer claimant's lock, mid-write, would lose its files).
      const outcome = await underTakeoverMutex(shortId, runId, async () => {
        const again = await readState(shortId);
        const st = await fs.stat(dir).catch(() => undefined);
        if (!st) return 'retry' as const; // gone meanwhile: the mkdir above decides
        if (again && ownerAlive(again.owner))
          throw new IsobenchError(
            'BAD_ARGS',
            `run ${again.runId} is in use by pid ${again.owner.pid} (lock ${dir}); ` +
              `wait for it to end, or stop that process first`,
          );
        if (!again && Date.now() - st.mtimeMs < 30_000)
          throw new IsobenchError(
            'BAD_ARGS',
            `run ${runId} is being started by another process (lock ${dir}); try again in a moment`,
          );
        const aside = path.join(stateRoot(), `.dead-${shortId}-${process.pid}-${randomBytes(3).toString('hex')}`);
        await fs.rename(dir, aside);
        try {
          await fs.mkdir(dir, { mode: 0o700 });
        } catch (e) {
          // A newcomer's plain mkdir got in between: it holds the lock now.
          // The dead state stays aside for doctor --cleanup.
          if ((e as NodeJS.ErrnoException).code === 'EEXIST')
            throw new IsobenchError(
              'BAD_ARGS',
              `run ${runId} was just claimed by another process (lock ${dir}); try again in a moment`,
            );
          throw e;
        }
        predecessor = again;
        // The dead run's runtime roots (runc state) come back under the run's directory for their removal.
        for (const f of await fs.readdir(aside).catch(() => [] as string[]))
          if (f !== STATE_FILE && f !== 'owner.pid')
            await fs.rename(path.join(aside, f), path.join(dir, f)).catch(() => undefined);
        await fs.rm(aside, { recursive: true, force: true });
        return 'done' as const;
      });
      if (outcome === 'retry') continue;
      break;
    }
    const state = new RunState(dir, {
      runId,
      shortId,
      owner: selfOwner(),
      claims: claimsFor(shortId),
      resources: [],
      hostSettings: predecessor?.hostSettings ?? [],
    });
    await state.flush();
    return predecessor ? { state, predecessor } : { state };
  }

  /** Serialised, durable write of the state file. */
  flush(): Promise<void> {
    const text = `${JSON.stringify(this.data, null, 1)}\n`;
    this.writing = this.writing
      .catch(() => undefined)
      .then(() => (this.released ? undefined : writeFileAtomic(path.join(this.dir, STATE_FILE), text, 0o600)));
    return this.writing;
  }

  async recordResource(label: string): Promise<void> {
    this.data.resources.push(label);
    await this.flush();
  }

  async forgetResource(label: string): Promise<void> {
    const i = this.data.resources.lastIndexOf(label);
    if (i >= 0) this.data.resources.splice(i, 1);
    await this.flush();
  }

  hostSettings(): HostSettingRecord[] {
    return [...this.data.hostSettings];
  }

  async recordHostSetting(h: HostSettingRecord): Promise<void> {
    // The first original is the host's own: a later change of the same file keeps it.
    if (!this.data.hostSettings.some((x) => x.file === h.file)) this.data.hostSettings.push(h);
    else if (h.kind === 'controllers') {
      const x = this.data.hostSettings.find((y) => y.file === h.file);
      if (x) x.added = [...new Set([...(x.added ?? []), ...(h.added ?? [])])];
    }
    await this.flush();
  }

  async forgetHostSetting(file: string): Promise<void> {
    this.data.hostSettings = this.data.hostSettings.filter((x) => x.file !== file);
    await this.flush();
  }

  /** Remove the state directory (the lock); only once everything it lists is released. */
  async release(): Promise<void> {
    // Once only: after release another process may hold a new lock of the same name.
    if (this.released) return;
    this.released = true;
    await this.writing.catch(() => undefined);
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
