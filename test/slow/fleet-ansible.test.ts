/**
 * A real fleet through a real ansible-playbook: two inventory hosts on this
 * machine, one over the local connection and one over real SSH to 127.0.0.1
 * (Debian's sshd, started here on a private port with a host key and a client
 * key generated in a temp dir), each in its own install directory with its own
 * run id. Beside them, a host that cannot be reached and a host whose setup
 * fails: both are named in the summary with their logs and the others' results
 * are kept. Then a rerun resumes (complete hosts are skipped), and the fleet
 * report is opened in headless Chromium with the two hosts side by side.
 */
import { execa, type ResultPromise } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults, SampleRow } from '../../src/results/types.js';
import { ROOT, isobench } from '../helpers/cli.js';

const FLEET = 'fleet-it';
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

describe('fleet over Ansible: local + SSH hosts, failures named, resume, one report', () => {
  let work: string;
  let sshd: ResultPromise | undefined;
  let browser: Browser | undefined;
  let results: string;
  let reports: string;
  let first: { code: number; stdout: string; stderr: string };
  const env = (): Record<string, string> => ({ ISOBENCH_RESULTS: results, ISOBENCH_REPORTS: reports });

  beforeAll(async () => {
    // The hosts share this checkout's node_modules; setup.sh then only checks (its stamp must match the lock file).
    const nodeModules = realpathSync(path.join(ROOT, 'node_modules'));
    const want = createHash('sha256').update(readFileSync(path.join(ROOT, 'package-lock.json'))).digest('hex');
    const stamp = path.join(nodeModules, '.isobench-lock-sha');
    expect(existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want, 'node_modules is not set up for this package-lock.json: run bash scripts/setup.sh').toBe(true);

    work = mkdtempSync(path.join(tmpdir(), 'isobench-fleet-'));
    results = path.join(work, 'results');
    reports = path.join(work, 'reports');
    const keys = path.join(work, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'host'), '-C', 'isobench-fleet-test-host']);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'client'), '-C', 'isobench-fleet-test-client']);
    writeFileSync(path.join(keys, 'authorized_keys'), readFileSync(path.join(keys, 'client.pub')), { mode: 0o600 });
    const port = await freePort();
    writeFileSync(
      path.join(work, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${path.join(keys, 'host')}`,
        `PidFile ${path.join(work, 'sshd.pid')}`,
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
    sshd = execa('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(work, 'sshd_config')], { reject: false });
    await waitForPort(port, 10_000);
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
        `isobench_node_modules=${nodeModules}`,
        '',
      ].join('\n'),
    );
    first = await isobench(['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', path.join(work, 'hosts.ini'), '--fleet-id', FLEET, '--serial', '1', '--run', '--quiet'], env(), 900_000);
  }, 960_000);

  afterAll(async () => {
    await browser?.close();
    if (sshd?.pid) {
      // Sessions are sshd's children and outlive it: end them by pid, then sshd.
      const kids = await execa('pgrep', ['-P', String(sshd.pid)], { reject: false });
      for (const pid of kids.stdout.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
      sshd.kill('SIGTERM');
      await sshd;
    }
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
      // Each host ran in its own install directory (the SSH one too).
      expect(existsSync(path.join(work, 'hosts', h, 'results', r.runId, 'results.json'))).toBe(true);
      expect(JSON.parse(readFileSync(path.join(fleetDir, 'fleet-logs', h, 'doctor.json'), 'utf8'))).toHaveProperty('checks');
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
    const rows = readFileSync(path.join(results, FLEET, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRow);
    expect(new Set(rows.map((r) => r.host))).toEqual(new Set(['local-host', 'ssh-host']));
    expect(rows.filter((r) => r.host === 'ssh-host' && r.workload === 'cpu').length).toBeGreaterThanOrEqual(2);
  });

  it('resumes host by host: a rerun skips the hosts whose results are complete', async () => {
    const file = path.join(results, FLEET, 'local-host', 'results.json');
    const before = statSync(file).mtimeMs;
    const r = await isobench(['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', path.join(work, 'hosts.ini'), '--fleet-id', FLEET, '--limit', 'local-host,ssh-host', '--run'], env(), 300_000);
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
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => requests.push(q.url()));
    await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('canvas').length > 0 && [...document.querySelectorAll('canvas')].every((c) => c.getAttribute('data-drawn') === '1'));
    expect(errors).toEqual([]);
    expect(requests.every((u) => u.startsWith('file://'))).toBe(true);

    const view = await page.evaluate(() => {
      const head = [...document.querySelectorAll('#headline-table thead th')].map((t) => t.textContent?.trim());
      const cpuRow = [...document.querySelectorAll('#headline-table tbody tr')].find((tr) => /CPU/.test(tr.querySelector('th')?.textContent ?? ''));
      const cells = cpuRow ? [...cpuRow.querySelectorAll('td[data-host]')].map((td) => ({ host: td.getAttribute('data-host'), text: td.textContent ?? '' })) : [];
      const states = [...document.querySelectorAll('table.hosts tbody tr')][0]?.textContent ?? '';
      const canvas = document.querySelector('canvas')!;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235)) ink++;
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
});
