// `meridian demo`: the local three-region demo (the same as `npm run demo`). The demo reuses the
// test harness's cluster code (test/support), which the build leaves out, so it runs from a
// source checkout with its devDependencies installed (tsx), as a child process; this process
// only passes signals on and returns the demo's exit code.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this file belongs to (src/ or dist/ sit one level below it). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function runDemo(args: readonly string[], stderr: NodeJS.WritableStream): Promise<number> {
  const script = join(ROOT, 'test', 'support', 'demo.ts');
  if (!existsSync(script) || !existsSync(join(ROOT, 'node_modules', 'tsx'))) {
    stderr.write('meridian demo needs a source checkout with its devDependencies (npm ci): it reuses the test harness in test/support.\n');
    return Promise.resolve(2);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: 'inherit' });
  // Ctrl-C reaches both processes; the demo tears its cluster down once, however many signals come.
  const pass = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', pass);
  process.on('SIGTERM', pass);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal !== null ? 1 : 0)));
    child.on('error', (err) => {
      stderr.write(`meridian demo: ${err.message}\n`);
      resolve(1);
    });
  });
}
