/**
 * The fleet directory contract, one place for every reader and writer:
 *
 *   results/<fleet-id>/fleet.json                 what was asked (scenario, inventory, run id scheme)
 *   results/<fleet-id>/scenario.yaml              the scenario every host ran
 *   results/<fleet-id>/playbook.yml, ansible.cfg  the Ansible path (a user may edit and rerun them)
 *   results/<fleet-id>/<inventory-host>/          that host's run directory, fetched back whole
 *   results/<fleet-id>/fleet-logs/<host>/         status.json, doctor.json, setup/run logs per host
 *   results/<fleet-id>/fleet-logs/ansible.log     ansible's own log (unreachable hosts are named there)
 *
 * `report`, `compare` and `capacity` call isFleetDir() to decide between a
 * single run and a fleet; nothing else guesses.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { IsobenchError } from '../errors.js';

export const FLEET_FILE = 'fleet.json';
export const FLEET_LOGS = 'fleet-logs';

export const FleetManifestSchema = z.object({
  fleetSchemaVersion: z.literal(1),
  fleetId: z.string(),
  engine: z.enum(['ansible', 'k8s']),
  scenarioName: z.string(),
  /** Scenario file as given on the controller (the copy every host ran is scenario.yaml). */
  scenarioFile: z.string(),
  createdAt: z.string(),
  inventory: z.string().optional(),
  limit: z.string().optional(),
  serial: z.number().int().positive().optional(),
  /** Hosts the fleet was asked to measure (the inventory after --limit, as Ansible resolved it). */
  hosts: z.array(z.string()).optional(),
  /** Run id on a host: `<fleetId>-<inventory host>` (see runIdFor). */
  runIdScheme: z.string(),
});
export type FleetManifest = z.infer<typeof FleetManifestSchema>;

/** Fleet ids and inventory host names both become directory names and run ids. */
export const FLEET_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/;

/**
 * A host's run id: the fleet id (shared by every host, so a fleet's runs sort
 * together) plus the host. The host part keeps run ids, and the short ids that
 * name cgroups and namespaces, distinct when two inventory hosts are the same machine.
 */
export function runIdFor(fleetId: string, host: string): string {
  return `${fleetId}-${host.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export function isFleetDir(dir: string): boolean {
  return existsSync(path.join(dir, FLEET_FILE)) && !existsSync(path.join(dir, 'results.json'));
}

/** Resolve "fleet id or fleet directory" to a fleet directory, or null when it is not one. */
export function resolveFleetDir(ref: string, resultsRoot: string): string | null {
  for (const c of [ref, path.join(resultsRoot, ref)]) {
    if (existsSync(c) && statSync(c).isDirectory() && isFleetDir(c)) return path.resolve(c);
  }
  return null;
}

export function readFleetManifest(dir: string): FleetManifest {
  const file = path.join(dir, FLEET_FILE);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new IsobenchError(
      'BAD_RESULTS',
      `${file}: cannot read it as JSON (${(e as Error).message}); restore it or rerun \`isobench fleet ansible\``,
    );
  }
  const r = FleetManifestSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new IsobenchError(
      'BAD_RESULTS',
      `${file}: ${i ? `${i.path.join('.') || '(top level)'}: ${i.message}` : 'invalid'}: ` +
        `not an isobench fleet manifest`,
    );
  }
  return r.data;
}

export function hostLogDir(fleetDir: string, host: string): string {
  return path.join(fleetDir, FLEET_LOGS, host);
}
