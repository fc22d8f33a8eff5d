// Which runtime the process should run on (--runtime node|bun, else MERIDIAN_RUNTIME, else the
// default for commands that serve clients: Bun, when its binary is there), and starting it there
// when it is not: the same command line, without --runtime, as a child process under the other
// runtime, with signals passed on and its exit code returned. The child gets MERIDIAN_RUNTIME set
// to where it runs, so it never starts another.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
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

/**
 * The runtime of the commands that serve clients (the proxy, the demo) when neither --runtime nor
 * MERIDIAN_RUNTIME names one: Bun, whose native sockets cost less per request (bench/RESULTS.md).
 */
export const DEFAULT_RUNTIME: RuntimeName = 'bun';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The bun executable installed with the package (npm ci), else `bun` on PATH; null when neither is there. */
export function findBun(env: NodeJS.ProcessEnv = process.env): string | null {
  try {
    const packaged = join(dirname(createRequire(import.meta.url).resolve('bun/package.json')), 'bin', 'bun.exe');
    if (isExecutable(packaged)) return packaged;
  } catch {
    /* the bun package is not installed (its platform binary is an optional dependency) */
  }
  return firstOnPath(env, 'bun', () => true);
}

/** The first executable `name` in PATH's directories that `accept` takes, or null. */
function firstOnPath(env: NodeJS.ProcessEnv, name: string, accept: (path: string) => boolean): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && isExecutable(candidate) && accept(candidate)) return candidate;
  }
  return null;
}

/** Whether `path` resolves to a Bun executable (a `node` that bun --bun put on PATH). */
function isBunBinary(path: string): boolean {
  try {
    return /^bun/.test(basename(realpathSync(path)));
  } catch {
    return true; // a dangling link: not a usable node either
  }
}

/**
 * Node.js: this process's executable under Node.js, else the first `node` on PATH that is not Bun
 * (`bun --bun` puts a `node` that is Bun first on PATH); null when there is none.
 */
export function findNode(env: NodeJS.ProcessEnv = process.env): string | null {
  if (detectRuntime() === 'node') return process.execPath;
  return firstOnPath(env, 'node', (p) => !isBunBinary(p));
}

/** Set in the child runUnder starts: a child that is not on the runtime asked for stops there. */
export const REEXEC_MARK = 'MERIDIAN_RUNTIME_REEXEC';

/** Runs this command line under `runtime` and resolves with the child's exit code. */
export function runUnder(runtime: RuntimeName, args: readonly string[]): Promise<number> {
  const script = process.argv[1] ?? '';
  let cmd: string;
  let cmdArgs: string[];
  if (runtime === 'bun') {
    cmd = findBun() ?? 'bun'; // not found: the spawn fails with a clear message below
    cmdArgs = [script, ...args]; // Bun runs src/cli.ts and dist/cli.js alike
  } else {
    const node = findNode();
    if (node === null) {
      process.stderr.write('meridian: cannot start node: no Node.js executable on PATH\n');
      return Promise.resolve(1);
    }
    cmd = node;
    cmdArgs = script.endsWith('.ts') ? ['--import', 'tsx', script, ...args] : [script, ...args];
  }
  const child = spawn(cmd, cmdArgs, { stdio: 'inherit', env: { ...process.env, MERIDIAN_RUNTIME: runtime, [REEXEC_MARK]: '1' } });
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
