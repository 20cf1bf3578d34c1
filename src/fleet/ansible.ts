/**
 * `isobench fleet ansible`: isobench stays the per-host unit of measurement and
 * Ansible fans it out. This module checks the inputs, writes the fleet
 * directory (fleet.json, the scenario, the source tarball, playbook.yml,
 * ansible.cfg) and, with --run, runs `ansible-playbook` on it. It has no SSH
 * code and no host loop of its own: the playbook is the whole procedure.
 */
import { promises as fs, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { IsobenchError } from '../errors.js';
import { loadScenario } from '../scenario/loader.js';
import { writeFileAtomic } from '../results/io.js';
import { FLEET_FILE, FLEET_ID_RE, FLEET_LOGS, readFleetManifest, runIdFor, type FleetManifest } from './layout.js';
import { renderAnsibleCfg, renderPlaybook, type PlaybookInput } from './playbook.js';

export interface AnsibleFleetOptions {
  scenarioFile: string;
  inventory: string;
  limit?: string;
  serial?: number;
  /** Reuse (resume) or name a fleet; default <scenario>-fleet-<time>. */
  fleetId?: string;
  /** A directory (copied as a tarball) or a git URL; default this checkout. */
  source?: string;
  /** Git ref when the source is a git URL. */
  sourceVersion?: string;
  /** Default install directory on each host. */
  remoteDir?: string;
  resultsRoot: string;
  /** The checkout isobench runs from (the default source). */
  packageRoot: string;
}

export interface PreparedFleet {
  fleetId: string;
  fleetDir: string;
  playbook: string;
  hosts: string[];
  /** The ansible-playbook argv (run from fleetDir). */
  argv: string[];
}

const GIT_URL_RE = /^(?:https?:\/\/|git:\/\/|ssh:\/\/|git@)/;

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const date = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
  return `${date}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The inventory's hosts after --limit, as Ansible itself resolves them (no parser of our own). */
export async function inventoryHosts(inventory: string, limit?: string): Promise<string[]> {
  const argv = ['all', '-i', inventory, '--list-hosts', ...(limit ? ['--limit', limit] : [])];
  const r = await execa('ansible', argv, { reject: false, env: { ANSIBLE_NOCOLOR: '1' } });
  if ((r.exitCode ?? 1) !== 0) {
    const why = (r.stderr || r.stdout)
      .split('\n')
      .filter((l) => /ERROR|WARNING/.test(l))
      .join(' ')
      .trim();
    throw new IsobenchError(
      'BAD_ARGS',
      `--inventory ${inventory}${limit ? ` --limit ${limit}` : ''}: ${why || `ansible exited ${r.exitCode}`}`,
    );
  }
  if (/Unable to parse .* as an inventory source|No inventory was parsed/.test(r.stderr)) {
    throw new IsobenchError(
      'BAD_ARGS',
      `--inventory ${inventory}: Ansible cannot parse it as an inventory (INI or YAML, see docs/fleet.md)`,
    );
  }
  const hosts = r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean);
  if (hosts.length === 0)
    throw new IsobenchError(
      'BAD_ARGS',
      `--inventory ${inventory}${limit ? ` --limit ${limit}` : ''}: no hosts to run on`,
    );
  for (const h of hosts) {
    if (!FLEET_ID_RE.test(h))
      throw new IsobenchError(
        'BAD_ARGS',
        `--inventory ${inventory}: host name "${h}" must be letters, digits, ` +
          `".", "_" or "-" (it names a results directory)`,
      );
  }
  return hosts;
}

/** Pack a source directory for the hosts: what a clone has, without build output, results or dependencies. */
async function packSource(sourceDir: string, tarball: string): Promise<void> {
  const argv = [
    '-czf',
    tarball,
    '--exclude=./node_modules',
    '--exclude=./results',
    '--exclude=./reports',
    '--exclude=./.git',
    '-C',
    sourceDir,
    '.',
  ];
  const r = await execa('tar', argv, { reject: false });
  if (r.exitCode !== 0) throw new IsobenchError('BAD_ARGS', `--source ${sourceDir}: tar failed: ${r.stderr.trim()}`);
}

export async function prepareAnsibleFleet(o: AnsibleFleetOptions): Promise<PreparedFleet> {
  // Every input is checked before anything is written.
  const { scenario, source: scenarioText } = await loadScenario(o.scenarioFile);
  if (!existsSync(o.inventory) || !statSync(o.inventory).isFile())
    throw new IsobenchError(
      'BAD_ARGS',
      `--inventory ${o.inventory}: no such file (an INI or YAML Ansible inventory, see docs/fleet.md)`,
    );
  const serial = o.serial ?? 1;
  if (!Number.isInteger(serial) || serial < 1)
    throw new IsobenchError('BAD_ARGS', `--serial ${String(o.serial)}: expected a whole number of hosts >= 1`);
  const hosts = await inventoryHosts(path.resolve(o.inventory), o.limit);

  const sourceArg = o.source ?? o.packageRoot;
  const git = GIT_URL_RE.test(sourceArg);
  if (
    !git &&
    !(existsSync(path.join(sourceArg, 'scripts', 'setup.sh')) && existsSync(path.join(sourceArg, 'bin', 'isobench.js')))
  ) {
    throw new IsobenchError(
      'BAD_ARGS',
      `--source ${sourceArg}: not an isobench checkout (no scripts/setup.sh and bin/isobench.js); ` +
        `give a checkout directory or a git URL`,
    );
  }

  let fleetId = o.fleetId;
  let resumed: FleetManifest | null = null;
  if (fleetId !== undefined) {
    if (!FLEET_ID_RE.test(fleetId))
      throw new IsobenchError('BAD_ARGS', `--fleet-id "${fleetId}": use letters, digits, ".", "_" and "-" only`);
    const existing = path.join(o.resultsRoot, fleetId, FLEET_FILE);
    if (existsSync(existing)) {
      resumed = readFleetManifest(path.dirname(existing));
      if (resumed.engine !== 'ansible')
        throw new IsobenchError(
          'BAD_ARGS',
          `--fleet-id ${fleetId}: that directory holds a ${resumed.engine} fleet; pick another fleet id`,
        );
      if (resumed.scenarioName !== scenario.name) {
        throw new IsobenchError(
          'BAD_ARGS',
          `--fleet-id ${fleetId}: that fleet ran scenario "${resumed.scenarioName}", ` +
            `not "${scenario.name}"; pick another fleet id`,
        );
      }
    }
  } else fleetId = `${scenario.name}-fleet-${stamp(new Date())}`;
  for (const h of hosts) {
    const rid = runIdFor(fleetId, h);
    if (rid.length > 81)
      throw new IsobenchError(
        'BAD_ARGS',
        `run id "${rid}" for host ${h} is longer than 81 characters; use a shorter --fleet-id`,
      );
  }

  const fleetDir = path.resolve(o.resultsRoot, fleetId);
  await fs.mkdir(path.join(fleetDir, FLEET_LOGS), { recursive: true });
  const manifest: FleetManifest = {
    fleetSchemaVersion: 1,
    fleetId,
    engine: 'ansible',
    scenarioName: scenario.name,
    scenarioFile: path.resolve(o.scenarioFile),
    createdAt: resumed?.createdAt ?? new Date().toISOString(),
    inventory: path.resolve(o.inventory),
    ...(o.limit ? { limit: o.limit } : {}),
    serial,
    hosts: [...new Set([...(resumed?.hosts ?? []), ...hosts])],
    runIdScheme: '<fleetId>-<inventory host>',
  };
  await writeFileAtomic(path.join(fleetDir, FLEET_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const scenarioCopy = path.join(fleetDir, 'scenario.yaml');
  await writeFileAtomic(scenarioCopy, scenarioText);

  let source: PlaybookInput['source'];
  if (git) source = { kind: 'git', url: sourceArg, version: o.sourceVersion ?? 'HEAD' };
  else {
    const tarball = path.join(fleetDir, 'isobench-src.tar.gz');
    await packSource(path.resolve(sourceArg), tarball);
    source = { kind: 'tarball', path: tarball };
  }
  const playbook = path.join(fleetDir, 'playbook.yml');
  await writeFileAtomic(
    playbook,
    renderPlaybook({
      fleetId,
      fleetDir,
      scenarioFile: scenarioCopy,
      source,
      serial,
      remoteDir: o.remoteDir ?? '/opt/isobench',
    }),
  );
  await writeFileAtomic(
    path.join(fleetDir, 'ansible.cfg'),
    renderAnsibleCfg(path.join(fleetDir, FLEET_LOGS, 'ansible.log')),
  );
  const argv = ['-i', path.resolve(o.inventory), ...(o.limit ? ['--limit', o.limit] : []), playbook];
  return { fleetId, fleetDir, playbook, hosts, argv };
}

/**
 * Run the playbook. Its own progress goes to stderr as Ansible prints it; the
 * per-host outcome is read afterwards from the fleet directory (merge.ts),
 * the same way it would be after a user ran the playbook by hand.
 */
export async function runAnsibleFleet(p: PreparedFleet, opts: { quiet?: boolean } = {}): Promise<number> {
  const sub = execa('ansible-playbook', p.argv, {
    cwd: p.fleetDir,
    reject: false,
    // ansible.cfg in a world-writable cwd is ignored; name it explicitly.
    env: { ANSIBLE_CONFIG: path.join(p.fleetDir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
  });
  // Ansible's progress goes to stderr: stdout is for the fleet summary.
  if (!opts.quiet) {
    sub.stdout?.on('data', (c: Buffer) => process.stderr.write(c));
    sub.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
  }
  const r = await sub;
  return r.exitCode ?? 1;
}
