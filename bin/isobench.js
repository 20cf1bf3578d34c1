#!/usr/bin/env node
// Launcher: registers tsx's loader in this process and imports the TypeScript CLI,
// so there is no build step and signals reach the CLI directly (no child process).
import { register } from 'tsx/esm/api';
register();
// `isobench … | head` closes the pipe early: that is the reader's choice, not an error. Later
// output is dropped and the command goes on (a run still cleans up and writes its results).
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
  });
await import('../src/cli.ts');
