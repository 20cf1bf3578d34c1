/**
 * Reading what a guest says (pure): on its serial console, the tail a start-up
 * error quotes and the `isobench-init:` marks that time the guest's start-up;
 * through the agent at ready, its uptime and the resources it sees.
 */

/** Console text without ANSI escapes and empty lines; the last `n` lines (pure). */
export function consoleTail(text: string, n = 15): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/\r/g, '');
  return clean
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-n);
}

/**
 * What a start-up error quotes from the console: the init's own messages and any
 * panic line (a panic's stack trace pushes them out of the tail), then the last `n` lines (pure).
 */
export function consoleQuote(text: string, n = 15): string[] {
  const all = consoleTail(text, Number.MAX_SAFE_INTEGER);
  const tail = all.slice(-n);
  const notable = all
    .slice(0, Math.max(0, all.length - n))
    .filter((l) => /isobench-init:|Kernel panic|end Kernel panic|Oops|BUG:/.test(l));
  return notable.length ? [...notable.slice(-10), '...', ...tail] : tail;
}

/** The guest /init's first line: the payload's ready signal (complete once the uptime is followed by whitespace). */
export const INIT_START_RE = /isobench-init: start uptime=[\d.]+\s/;

/** `isobench-init: <what> uptime=S` marks from the console, in seconds (pure). */
export function parseInitMarks(text: string): { start?: number; agentStarting?: number } {
  const start = /isobench-init: start uptime=([\d.]+)/.exec(text)?.[1];
  const agent = /isobench-init: agent starting uptime=([\d.]+)/.exec(text)?.[1];
  return { ...(start ? { start: Number(start) } : {}), ...(agent ? { agentStarting: Number(agent) } : {}) };
}

/**
 * Run by the agent at ready: waits for /init's /run/isobench-ready (the scratch disk and network are set
 * up, overlapping the agent's start), then prints the guest's uptime, CPUs, MemTotal and OOM-kill count.
 */
export const GUEST_READY_PROBE =
  'i=0; while [ ! -e /run/isobench-ready ]; do i=$((i+1)); [ $i -gt 2000 ] && { echo "guest set-up never finished" ' +
  '>&2; exit 1; }; usleep 5000; done; cat /proc/uptime; nproc; grep MemTotal /proc/meminfo; ' +
  'grep oom_kill /proc/vmstat || echo oom_kill 0';

/** GUEST_READY_PROBE's output: uptime (s), CPUs, MemTotal (kB) and the guest's OOM-kill count so far. */
export function parseGuestReadyProbe(stdout: string): {
  uptimeS: number;
  nproc: number;
  memKb: number;
  oomKills: number;
} {
  const lines = stdout.trim().split('\n');
  return {
    uptimeS: Number(lines[0]?.split(/\s+/)[0]),
    nproc: Number(lines[1]),
    memKb: Number(/MemTotal:\s+(\d+)/.exec(stdout)?.[1] ?? NaN),
    oomKills: Number(/oom_kill (\d+)/.exec(stdout)?.[1] ?? 0),
  };
}
