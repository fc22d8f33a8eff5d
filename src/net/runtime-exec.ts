// Which runtime the process should run on (--runtime node|bun, else MERIDIAN_RUNTIME, else the one
// it was started with), and starting it there when it is not: the same command line, without
// --runtime, as a child process under the other runtime, with signals passed on and its exit code
// returned. The child gets MERIDIAN_RUNTIME set to where it runs, so it never starts another.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { detectRuntime } from './runtime.js';
import type { RuntimeName } from './transport.js';

export interface RuntimeChoice {
  /** null: stay on the runtime running now. */
  readonly runtime: RuntimeName | null;
  /** The arguments without --runtime. */
  readonly args: string[];
  readonly error: string | null;
}

function parseName(v: string | undefined, from: string): RuntimeName | null | string {
  if (v === undefined || v === '') return null;
  if (v === 'node' || v === 'bun') return v;
  return `${from} must be node or bun, not "${v}"`;
}

/** Takes --runtime out of `argv`; MERIDIAN_RUNTIME applies when the flag is absent. */
export function chooseRuntime(argv: readonly string[], env: NodeJS.ProcessEnv): RuntimeChoice {
  const args: string[] = [];
  let flag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--runtime') flag = argv[++i] ?? '';
    else if (a.startsWith('--runtime=')) flag = a.slice('--runtime='.length);
    else args.push(a);
  }
  if (flag === '') return { runtime: null, args, error: '--runtime must be node or bun, not ""' };
  const picked = flag !== undefined ? parseName(flag, '--runtime') : parseName(env.MERIDIAN_RUNTIME, 'MERIDIAN_RUNTIME');
  if (picked !== null && picked !== 'node' && picked !== 'bun') return { runtime: null, args, error: picked };
  return { runtime: picked, args, error: null };
}

/** The bun executable installed with the package (npm ci), else `bun` from PATH. */
function bunBinary(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('bun/package.json')), 'bin', 'bun.exe');
  } catch {
    return 'bun';
  }
}

/** Runs this command line under `runtime` and resolves with the child's exit code. */
export function runUnder(runtime: RuntimeName, args: readonly string[]): Promise<number> {
  const script = process.argv[1] ?? '';
  let cmd: string;
  let cmdArgs: string[];
  if (runtime === 'bun') {
    cmd = bunBinary();
    cmdArgs = [script, ...args]; // Bun runs src/cli.ts and dist/cli.js alike
  } else {
    cmd = detectRuntime() === 'node' ? process.execPath : 'node';
    cmdArgs = script.endsWith('.ts') ? ['--import', 'tsx', script, ...args] : [script, ...args];
  }
  const child = spawn(cmd, cmdArgs, { stdio: 'inherit', env: { ...process.env, MERIDIAN_RUNTIME: runtime } });
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = signals.map((sig) => [sig, forward(sig)] as const);
  for (const [sig, fn] of handlers) process.on(sig, fn);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`meridian: cannot start ${runtime}: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      for (const [sig, fn] of handlers) process.off(sig, fn);
      resolve(code ?? (signal !== null ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}
