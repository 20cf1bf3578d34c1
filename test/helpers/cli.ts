import { execa } from 'execa';
import path from 'node:path';
import { defaultIO, main } from '../../src/cli.js';

export const ROOT = path.resolve(__dirname, '../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (bin/isobench.js) as a user would: a process of its own (exit codes, signals, EPIPE). */
export async function isobench(args: string[], env: Record<string, string> = {}, timeoutMs = 600_000): Promise<CliRun> {
  const r = await execa(process.execPath, [path.join(ROOT, 'bin/isobench.js'), ...args], {
    cwd: ROOT,
    reject: false,
    timeout: timeoutMs,
    env: { ...process.env, ...env },
    stdin: 'ignore',
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * The same command line in this process, through main() (cli.ts): what `isobench` prints on stdout and
 * stderr and its exit code, without starting node and tsx again. `env` takes the same ISOBENCH_RESULTS and
 * ISOBENCH_REPORTS the installed command reads; the working directory must be the checkout (vitest's).
 */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io = {
    ...defaultIO({ ...env }),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
