#!/usr/bin/env node
// Launcher: registers tsx's loader in this process and imports the TypeScript CLI,
// so there is no build step and signals reach the CLI directly (no child process).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli.ts');
