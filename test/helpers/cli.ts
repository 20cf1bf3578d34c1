import { execa } from 'execa';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** Run the real CLI (bin/isobench.js) as a user would. */
export async function isobench(args: string[], env: Record<string, string> = {}, timeoutMs = 600_000) {
  const r = await execa(process.execPath, [path.join(ROOT, 'bin/isobench.js'), ...args], {
    cwd: ROOT,
    reject: false,
    timeout: timeoutMs,
    env: { ...process.env, ...env },
    stdin: 'ignore',
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
