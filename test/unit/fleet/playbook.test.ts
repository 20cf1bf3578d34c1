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
    for (const stage of ['resume:', 'connect:', 'install:', 'setup:', 'doctor:', 'run:', 'fetch:', 'failed:']) expect(text).toContain(`name: "${stage}`);
    const pb = path.join(work, 'playbook.yml');
    const inv = path.join(work, 'hosts.ini');
    writeFileSync(pb, text);
    writeFileSync(inv, '[bench]\na ansible_connection=local\n');
    const r = await execa('ansible-playbook', ['--syntax-check', '-i', inv, pb], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('writes the fleet directory without --run; a bad inventory or scenario is exit 2', async () => {
    const results = path.join(work, 'results');
    const inv = path.join(work, 'hosts.ini');
    const ok = await isobench(['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', inv, '--fleet-id', 'pf'], { ISOBENCH_RESULTS: results });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(path.join(results, 'pf'));
    for (const f of ['fleet.json', 'scenario.yaml', 'playbook.yml', 'ansible.cfg', 'isobench-src.tar.gz']) expect(existsSync(path.join(results, 'pf', f)), f).toBe(true);
    expect(JSON.parse(readFileSync(path.join(results, 'pf', 'fleet.json'), 'utf8'))).toMatchObject({ fleetId: 'pf', hosts: ['a'], serial: 1 });
    expect(ok.stderr).toContain('ansible-playbook -i');

    const noInv = await isobench(['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', path.join(work, 'missing.ini')], { ISOBENCH_RESULTS: results });
    expect(noInv.code).toBe(2);
    expect(noInv.stderr.trim().split('\n')).toHaveLength(1);
    expect(noInv.stderr).toContain('missing.ini: no such file');

    const noHosts = await isobench(['fleet', 'ansible', 'test/fixtures/scenarios/fleet-short.yaml', '--inventory', inv, '--limit', 'nope'], { ISOBENCH_RESULTS: results });
    expect(noHosts.code).toBe(2);
    expect(noHosts.stderr).toMatch(/--limit nope: .*no hosts/i);

    const badScenario = await isobench(['fleet', 'ansible', 'test/fixtures/scenarios/bad/typo.yaml', '--inventory', inv], { ISOBENCH_RESULTS: results });
    expect(badScenario.code).toBe(2);
    expect(badScenario.stderr).toContain('typo.yaml:4: instance.vcpu: unknown key');
  });
});
