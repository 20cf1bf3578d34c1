/**
 * A real fleet through a real ansible-playbook: two inventory hosts on this
 * machine, one over the local connection and one over real SSH to 127.0.0.1
 * (Debian's sshd, started here on a private port with a host key and a client
 * key generated in a temp dir), each in its own install directory with its own
 * run id, each set up from bare: its own checkout, its own scripts/setup.sh and
 * its own `npm ci` (with npm's cache shared with the controller, as a fleet
 * with a package cache would). Beside them, a host that cannot be reached and a
 * host whose setup fails: both are named in the summary with their logs and the
 * others' results are kept. Then a rerun resumes (complete hosts are skipped),
 * and the fleet report is opened in headless Chromium with the two hosts side
 * by side. Last, a second fleet loses a host mid-run (its sshd and everything
 * under it killed, as in a crash): that host is `failed` at its stage with its
 * log, the host after it completes, and a rerun with the same fleet id resumes
 * the lost host only.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults, SampleRow } from '../../src/results/types.js';
import { loadFleet } from '../../src/fleet/merge.js';
import { isobench } from '../helpers/cli.js';

const FLEET = 'fleet-it';
const LOST_FLEET = 'fleet-lost';
const CHROMIUM = '/usr/bin/chromium';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${ms} ms`);
}

/** sshd on 127.0.0.1:port with the test's keys, in the foreground (its pid is the listener's). */
function startSshd(work: string, keys: string, port: number, name: string): ResultPromise {
  const config = path.join(work, `${name}_config`);
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(keys, 'host')}`,
      `PidFile ${path.join(work, `${name}.pid`)}`,
      `AuthorizedKeysFile ${path.join(keys, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation directory
  return execa('/usr/sbin/sshd', ['-D', '-e', '-f', config], { reject: false });
}

/** Every descendant of pid (children first found, then theirs), read from /proc via pgrep -P. */
async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  let level = [pid];
  while (level.length) {
    const next: number[] = [];
    for (const p of level) {
      const r = await execa('pgrep', ['-P', String(p)], { reject: false });
      next.push(...r.stdout.split('\n').filter(Boolean).map(Number));
    }
    out.push(...next);
    level = next;
  }
  return out;
}

/** Stop an sshd and everything its sessions started (sessions outlive the listener otherwise). */
async function killSshdTree(sshd: ResultPromise | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!sshd?.pid) return;
  for (const pid of [...(await descendants(sshd.pid)), sshd.pid]) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  await sshd;
}

describe('fleet over Ansible: local + SSH hosts, failures named, resume, one report', () => {
  let work: string;
  let sshd: ResultPromise | undefined;
  let sshdLost: ResultPromise | undefined;
  let keys: string;
  let lostPort: number;
  let npmCache: string;
  let firstMs = 0;
  let browser: Browser | undefined;
  let results: string;
  let reports: string;
  let first: { code: number; stdout: string; stderr: string };
  const env = (): Record<string, string> => ({ ISOBENCH_RESULTS: results, ISOBENCH_REPORTS: reports });

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'isobench-fleet-'));
    results = path.join(work, 'results');
    reports = path.join(work, 'reports');
    keys = path.join(work, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    await execa('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      path.join(keys, 'host'),
      '-C',
      'isobench-fleet-test-host',
    ]);
    await execa('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      path.join(keys, 'client'),
      '-C',
      'isobench-fleet-test-client',
    ]);
    writeFileSync(path.join(keys, 'authorized_keys'), readFileSync(path.join(keys, 'client.pub')), { mode: 0o600 });
    const port = await freePort();
    sshd = startSshd(work, keys, port, 'sshd');
    await waitForPort(port, 10_000);
    // The controller's npm cache: each host's npm ci takes its packages from it (npm_config_prefer_offline).
    npmCache = (await execa('npm', ['config', 'get', 'cache'])).stdout.trim();
    const closed = await freePort();

    const hosts = path.join(work, 'hosts');
    // No ControlMaster: a persistent master would keep an sshd session alive after the test stops sshd.
    const ssh = `ansible_host=127.0.0.1 ansible_port=${port} ansible_user=root ansible_ssh_private_key_file=${path.join(keys, 'client')} ansible_ssh_args='-o ControlMaster=no' ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'`;
    writeFileSync(
      path.join(work, 'hosts.ini'),
      [
        '[bench]',
        // First, so serial batches must go on after it.
        `gone ansible_host=127.0.0.1 ansible_port=${closed} ansible_user=root ansible_ssh_common_args='-o ConnectTimeout=5'`,
        `local-host ansible_connection=local isobench_remote_dir=${hosts}/local-host`,
        `ssh-host ${ssh} isobench_remote_dir=${hosts}/ssh-host`,
        `broken-setup ansible_connection=local isobench_remote_dir=${hosts}/broken-setup isobench_setup_argv='["sh", "-c", "echo setup cannot reach the package mirror >&2; exit 3"]'`,
        '[bench:vars]',
        'ansible_python_interpreter=/usr/bin/python3',
        `isobench_npm_cache=${npmCache}`,
        '',
      ].join('\n'),
    );
    const t0 = Date.now();
    first = await isobench(
      [
        'fleet',
        'ansible',
        'test/fixtures/scenarios/fleet-short.yaml',
        '--inventory',
        path.join(work, 'hosts.ini'),
        '--fleet-id',
        FLEET,
        '--serial',
        '1',
        '--run',
        '--quiet',
      ],
      env(),
      900_000,
    );
    firstMs = Date.now() - t0;
    process.stderr.write(
      `fleet ${FLEET}: 4 hosts (2 set up from bare with npm ci) in ${(firstMs / 1000).toFixed(1)} s\n`,
    );
  }, 960_000);

  afterAll(async () => {
    await browser?.close();
    await killSshdTree(sshdLost, 'SIGTERM');
    await killSshdTree(sshd, 'SIGTERM');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('gets both run directories back, each with its own run id', () => {
    if (first.code !== 1) throw new Error(`exit ${first.code}\n${first.stderr.slice(-4000)}`);
    const fleetDir = path.join(results, FLEET);
    expect(first.stdout.trim().split('\n').at(-1)).toBe(fleetDir);
    const runs: RunResults[] = [];
    for (const h of ['local-host', 'ssh-host']) {
      const r = JSON.parse(readFileSync(path.join(fleetDir, h, 'results.json'), 'utf8')) as RunResults;
      expect(r.status, h).toBe('complete');
      expect(r.runId).toBe(`${FLEET}-${h}`);
      const cpu = r.cells.find((c) => c.workload === 'cpu');
      expect(cpu?.state).toBe('complete');
      const m = cpu!.metrics[0]!;
      expect(m.values).toHaveLength(2);
      for (const log of m.rawLogs) expect(existsSync(path.join(fleetDir, h, log)), log).toBe(true);
      // Each host ran in its own install directory (the SSH one too), set up from bare: its own node_modules from its own npm ci.
      expect(existsSync(path.join(work, 'hosts', h, 'results', r.runId, 'results.json'))).toBe(true);
      const nm = path.join(work, 'hosts', h, 'node_modules');
      expect(lstatSync(nm).isDirectory() && !lstatSync(nm).isSymbolicLink(), `${h}: node_modules is its own`).toBe(
        true,
      );
      expect(existsSync(path.join(nm, '.isobench-lock-sha'))).toBe(true);
      expect(readFileSync(path.join(fleetDir, 'fleet-logs', h, 'setup.log'), 'utf8')).toMatch(/\[setup\] npm ci/);
      expect(JSON.parse(readFileSync(path.join(fleetDir, 'fleet-logs', h, 'doctor.json'), 'utf8'))).toHaveProperty(
        'checks',
      );
      runs.push(r);
    }
    expect(runs[0]!.runId).not.toBe(runs[1]!.runId);
  });

  it('names the unreachable host and the failed setup, with their logs', () => {
    const fleetDir = path.join(results, FLEET);
    const line = (h: string): string => first.stderr.split('\n').find((l) => l.trimStart().startsWith(`${h} `)) ?? '';
    expect(line('local-host')).toMatch(/complete/);
    expect(line('ssh-host')).toMatch(/complete/);
    expect(line('gone')).toMatch(/unreachable\s+connect: .*(refused|timed out)/i);
    expect(line('gone')).toContain(path.join(fleetDir, 'fleet-logs', 'ansible.log'));
    expect(line('broken-setup')).toMatch(/setup-failed\s+setup: /);
    const log = /\(log: ([^)]+)\)/.exec(line('broken-setup'))?.[1];
    expect(log && readFileSync(log, 'utf8')).toContain('setup cannot reach the package mirror');
    expect(existsSync(path.join(fleetDir, 'broken-setup', 'results.json'))).toBe(false);
  });

  it('writes the fleet as one table: samples.jsonl with a host field', () => {
    const rows = readFileSync(path.join(results, FLEET, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SampleRow);
    expect(new Set(rows.map((r) => r.host))).toEqual(new Set(['local-host', 'ssh-host']));
    expect(rows.filter((r) => r.host === 'ssh-host' && r.workload === 'cpu').length).toBeGreaterThanOrEqual(2);
  });

  it('resumes host by host: a rerun skips the hosts whose results are complete', async () => {
    const file = path.join(results, FLEET, 'local-host', 'results.json');
    const before = statSync(file).mtimeMs;
    const r = await isobench(
      [
        'fleet',
        'ansible',
        'test/fixtures/scenarios/fleet-short.yaml',
        '--inventory',
        path.join(work, 'hosts.ini'),
        '--fleet-id',
        FLEET,
        '--limit',
        'local-host,ssh-host',
        '--run',
      ],
      env(),
      300_000,
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(1); // the two failed hosts are still in the fleet
    expect(r.stderr).toContain('TASK [resume: skip this host, its results are complete]');
    expect(r.stderr).not.toContain('TASK [run: isobench run');
    expect(statSync(file).mtimeMs).toBe(before);
  }, 300_000);

  it('renders the fleet report with the two hosts side by side (headless Chromium)', async () => {
    const r = await isobench(['report', path.join(results, FLEET)], env());
    expect(r.code, r.stderr).toBe(0);
    const index = r.stdout.trim();
    expect(index).toBe(path.join(reports, FLEET, 'index.html'));
    expect(readFileSync(path.join(reports, FLEET, 'summary.md'), 'utf8')).toMatch(/\| local-host \| complete/);
    expect(existsSync(path.join(reports, FLEET, 'cpu-sysbench-events-1t-native.png'))).toBe(true);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => requests.push(q.url()));
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
    await page.waitForFunction(
      () =>
        document.querySelectorAll('canvas').length > 0 &&
        [...document.querySelectorAll('canvas')].every((c) => c.getAttribute('data-drawn') === '1'),
    );
    expect(errors).toEqual([]);
    expect(requests.every((u) => u.startsWith('file://'))).toBe(true);

    const view = await page.evaluate(() => {
      const head = [...document.querySelectorAll('#headline-table thead th')].map((t) => t.textContent?.trim());
      const cpuRow = [...document.querySelectorAll('#headline-table tbody tr')].find((tr) =>
        /CPU/.test(tr.querySelector('th')?.textContent ?? ''),
      );
      const cells = cpuRow
        ? [...cpuRow.querySelectorAll('td[data-host]')].map((td) => ({
            host: td.getAttribute('data-host'),
            text: td.textContent ?? '',
          }))
        : [];
      const states = [...document.querySelectorAll('table.hosts tbody tr')][0]?.textContent ?? '';
      const canvas = document.querySelector('canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 0; i < data.length; i += 4)
        if (data[i + 3]! > 0 && (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235)) ink++;
      return { head, cells, states, ink: ink / (canvas.width * canvas.height) };
    });
    expect(view.head).toEqual(expect.arrayContaining(['local-host', 'ssh-host', 'gone', 'broken-setup']));
    const local = view.cells.find((c) => c.host === 'local-host');
    const viaSsh = view.cells.find((c) => c.host === 'ssh-host');
    expect(local?.text).toMatch(/\d/);
    expect(viaSsh?.text).toMatch(/\d/);
    expect(view.cells.find((c) => c.host === 'gone')?.text).toContain('unreachable');
    expect(view.states).toMatch(/complete[\s\S]*complete/);
    expect(view.ink).toBeGreaterThan(0.01);
  });

  it('loses a host mid-run: that host is failed at its stage with its log, the host after it completes', async () => {
    // A second loopback host with its own sshd, in the SSH host's checkout (already set up: a second fleet on the same hosts).
    lostPort = await freePort();
    sshdLost = startSshd(work, keys, lostPort, 'sshd-lost');
    await waitForPort(lostPort, 10_000);
    const ssh = `ansible_host=127.0.0.1 ansible_port=${lostPort} ansible_user=root ansible_ssh_private_key_file=${path.join(keys, 'client')} ansible_ssh_args='-o ControlMaster=no' ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5'`;
    writeFileSync(
      path.join(work, 'lost.ini'),
      [
        '[bench]',
        // First, so the play must go on after losing it (serial 1).
        `lost ${ssh} isobench_remote_dir=${path.join(work, 'hosts', 'ssh-host')}`,
        `steady ansible_connection=local isobench_remote_dir=${path.join(work, 'hosts', 'local-host')}`,
        '[bench:vars]',
        'ansible_python_interpreter=/usr/bin/python3',
        `isobench_npm_cache=${npmCache}`,
        '',
      ].join('\n'),
    );
    const fleet = isobench(
      [
        'fleet',
        'ansible',
        'test/fixtures/scenarios/fleet-lost.yaml',
        '--inventory',
        path.join(work, 'lost.ini'),
        '--fleet-id',
        LOST_FLEET,
        '--serial',
        '1',
        '--run',
        '--quiet',
      ],
      env(),
      600_000,
    );
    // Mid-run: the lost host's run has written its first results.json (it measures for about 6 s after that).
    const remoteResults = path.join(work, 'hosts', 'ssh-host', 'results', `${LOST_FLEET}-lost`, 'results.json');
    const end = Date.now() + 300_000;
    while (!existsSync(remoteResults) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(remoteResults), 'the lost host never started its run').toBe(true);
    await new Promise((r) => setTimeout(r, 2000));
    // The host goes away: its sshd and every process under it (the run too) killed, as in a crash.
    await killSshdTree(sshdLost, 'SIGKILL');
    sshdLost = undefined;
    const r = await fleet;
    expect(r.code, r.stderr.slice(-4000)).toBe(1);
    const fleetDir = path.join(results, LOST_FLEET);
    const m = await loadFleet(fleetDir);
    const by = Object.fromEntries(m.hosts.map((h) => [h.name, h]));
    expect(by.steady?.state, r.stderr.slice(-4000)).toBe('complete');
    expect(by.lost?.state).toBe('failed');
    expect(by.lost?.problem?.stage).toBe('run');
    // The connection's end as Ansible saw it: the task's ssh died, or the next connection was refused.
    expect(by.lost?.problem?.message).toMatch(/host unreachable|Failed to connect|closed/i);
    const log = by.lost?.problem?.log;
    expect(log).toBe('fleet-logs/lost/run.log');
    expect(readFileSync(path.join(fleetDir, log!), 'utf8')).toMatch(
      /^run: [\s\S]*(unreachable|Failed to connect|closed)/i,
    );
    expect(existsSync(path.join(fleetDir, 'lost', 'results.json'))).toBe(false);
    const line = r.stderr.split('\n').find((l) => l.trimStart().startsWith('lost ')) ?? '';
    expect(line).toMatch(/failed\s+run: /);
  }, 600_000);

  it('a rerun with the same fleet id resumes the lost host only', async () => {
    sshdLost = startSshd(work, keys, lostPort, 'sshd-lost');
    await waitForPort(lostPort, 10_000);
    const steadyFile = path.join(results, LOST_FLEET, 'steady', 'results.json');
    const before = statSync(steadyFile).mtimeMs;
    const r = await isobench(
      [
        'fleet',
        'ansible',
        'test/fixtures/scenarios/fleet-lost.yaml',
        '--inventory',
        path.join(work, 'lost.ini'),
        '--fleet-id',
        LOST_FLEET,
        '--run',
      ],
      env(),
      600_000,
    );
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    expect(statSync(steadyFile).mtimeMs).toBe(before);
    // The lost host's interrupted attempt is resumed (its run id kept), not started again under a new one.
    expect(r.stderr).toMatch(/TASK \[run: isobench run[\s\S]*changed: \[lost\]/);
    expect(r.stderr).not.toMatch(/changed: \[steady\]/);
    const m = await loadFleet(path.join(results, LOST_FLEET));
    expect(m.hosts.map((h) => [h.name, h.state])).toEqual([
      ['lost', 'complete'],
      ['steady', 'complete'],
    ]);
    const lost = m.hosts.find((h) => h.name === 'lost')!.results!;
    expect(lost.runId).toBe(`${LOST_FLEET}-lost`);
    expect(lost.cells.find((c) => c.workload === 'cpu')?.metrics[0]?.values).toHaveLength(3);
  }, 600_000);
});
