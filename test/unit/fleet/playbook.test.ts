/**
 * The playbook a fleet writes: valid for ansible-playbook itself (its own
 * --syntax-check), every stage named, user values never templated, and a bad
 * inventory or scenario refused with exit 2 before anything is written.
 */
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderPlaybook } from '../../../src/fleet/playbook.js';
import { isobench } from '../../helpers/cli.js';

const work = mkdtempSync(path.join(tmpdir(), 'isobench-playbook-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fleet playbook', () => {
  it('passes ansible-playbook --syntax-check and keeps user values out of templating', async () => {
    const text = renderPlaybook({
      fleetId: 'f1',
      fleetDir: '/srv/{{ lookup("pipe", "id") }}/f1',
      scenarioFile: '/srv/f1/scenario.yaml',
      source: { kind: 'tarball', path: '/srv/f1/src.tar.gz' },
      serial: 2,
      remoteDir: '/opt/isobench',
    });
    expect(text).toContain('fleet_dir: !unsafe "/srv/{{ lookup(\\"pipe\\", \\"id\\") }}/f1"');
    expect(text).toContain('serial: 2');
    for (const stage of ['resume:', 'connect:', 'install:', 'setup:', 'doctor:', 'run:', 'fetch:', 'failed:'])
      expect(text).toContain(`name: "${stage}`);
    const pb = path.join(work, 'playbook.yml');
    const inv = path.join(work, 'hosts.ini');
    writeFileSync(pb, text);
    writeFileSync(inv, '[bench]\na ansible_connection=local\n');
    const r = await execa('ansible-playbook', ['--syntax-check', '-i', inv, pb], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it("a host lost in any task on it fails that task's stage (rescued), never the play; setup prefers the npm cache", () => {
    const text = renderPlaybook({
      fleetId: 'f1',
      fleetDir: '/srv/f1',
      scenarioFile: '/srv/f1/scenario.yaml',
      source: { kind: 'tarball', path: '/srv/f1/src.tar.gz' },
      serial: 1,
      remoteDir: '/opt/isobench',
    });
    const play = (
      parse(text, { customTags: [{ tag: '!unsafe', resolve: (v: string) => v }] }) as Record<string, any>[]
    )[0]!;
    const measure = play.tasks.find((t: Record<string, unknown>) => Array.isArray(t.block));
    expect(measure.ignore_unreachable).toBe(true);
    const block = measure.block as Record<string, any>[];
    const onHost = block.filter((t) => t.delegate_to !== 'localhost' && !t['ansible.builtin.fail']);
    expect(onHost.length).toBeGreaterThanOrEqual(10);
    for (const t of onHost) {
      const next = block[block.indexOf(t) + 1]!;
      const stage = String(t.name).split(':')[0];
      expect(t.register, t.name).toBeTruthy();
      expect(next.name, t.name).toBe(`${stage}: host lost during the step above`);
      expect(next.when).toBe(`${t.register}.unreachable | default(false)`);
    }
    const setup = block.find((t) => String(t.name).startsWith('setup: the README'))!;
    expect(setup.environment).toBe('{{ setup_env }}');
    expect(play.vars.setup_env).toContain("'npm_config_prefer_offline': 'true'");
    expect(play.vars.npm_cache_env).toContain('isobench_npm_cache');
    // The rescue records the stage from the failed task's name, so a lost host is "failed at <stage>".
    expect(JSON.stringify(measure.rescue)).toContain("ansible_failed_task.name.split(':')[0]");
  });

  it('writes the fleet directory without --run; a bad inventory or scenario is exit 2', async () => {
    const results = path.join(work, 'results');
    const inv = path.join(work, 'hosts.ini');
    const ok = await isobench(
      ['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', inv, '--fleet-id', 'pf'],
      { ISOBENCH_RESULTS: results },
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(path.join(results, 'pf'));
    for (const f of ['fleet.json', 'scenario.yaml', 'playbook.yml', 'ansible.cfg', 'isobench-src.tar.gz'])
      expect(existsSync(path.join(results, 'pf', f)), f).toBe(true);
    expect(JSON.parse(readFileSync(path.join(results, 'pf', 'fleet.json'), 'utf8'))).toMatchObject({
      fleetId: 'pf',
      hosts: ['a'],
      serial: 1,
    });
    expect(ok.stderr).toContain('ansible-playbook -i');
    // Its own log, and one SSH session per task (the play uses no become, so sudo's requiretty cannot bite).
    const cfg = readFileSync(path.join(results, 'pf', 'ansible.cfg'), 'utf8');
    expect(cfg).toMatch(/^log_path = .*fleet-logs\/ansible\.log$/m);
    expect(cfg).toMatch(/^\[ssh_connection\]\npipelining = True$/m);
    expect(readFileSync(path.join(results, 'pf', 'playbook.yml'), 'utf8')).not.toMatch(/\bbecome\b/);

    const noInv = await isobench(
      ['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', path.join(work, 'missing.ini')],
      { ISOBENCH_RESULTS: results },
    );
    expect(noInv.code).toBe(2);
    expect(noInv.stderr.trim().split('\n')).toHaveLength(1);
    expect(noInv.stderr).toContain('missing.ini: no such file');

    const noHosts = await isobench(
      ['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', inv, '--limit', 'nope'],
      { ISOBENCH_RESULTS: results },
    );
    expect(noHosts.code).toBe(2);
    expect(noHosts.stderr).toMatch(/--limit nope: .*no hosts/i);

    const badScenario = await isobench(
      ['fleet', 'ansible', 'test/fixtures/scenarios/bad/typo.yaml', '--inventory', inv],
      { ISOBENCH_RESULTS: results },
    );
    expect(badScenario.code).toBe(2);
    expect(badScenario.stderr).toContain('typo.yaml:4: instance.vcpu: unknown key');
  });
});
