// Test support: long-running helper processes that are not PostgreSQL (etcd, Patroni): spawn one with its
// output appended to a log file, register it for clean-up, tie its life to ours, stop it by signal with a
// deadline. Knows nothing of what the process is.
//
// Why the extra care: the cleanup registry kills tracked pids when this process exits or is signalled, but
// a SIGKILLed test process runs no handler. Children are therefore started through `setpriv --pdeathsig
// KILL` (util-linux) where it exists: the kernel kills them when we die. setpriv execs the command, so the
// pid we hold is the command's own.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { trackPid, untrackPid } from './cleanup.js';
import { asPgUserOptions, pidState, serverToolEnv } from './pg-bin.js';
import { exitedWithin, kill } from './postmaster.js';

export interface Daemon {
  readonly pid: number;
  /** Resolves when the process has exited (and was reaped). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
}

export interface DaemonOptions {
  /** Run as the PostgreSQL OS user when we are root (Patroni: PostgreSQL refuses root). */
  asPgUser?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of an executable found on PATH or in the extra directories, or null. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extraDirs]) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

const setpriv = findExecutable('setpriv', ['/usr/bin', '/bin']);

/** Starts `cmd args` in the background, stdout and stderr appended to `logFile`. Does not wait. */
export function spawnDaemon(cmd: string, args: readonly string[], logFile: string, opts: DaemonOptions = {}): Daemon {
  const fd = openSync(logFile, 'a');
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, [...args]];
  let child;
  try {
    child = spawn(file, argv, {
      ...(opts.asPgUser ? asPgUserOptions() : {}),
      cwd: opts.cwd ?? '/tmp',
      env: opts.env ?? (opts.asPgUser ? serverToolEnv() : process.env),
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${cmd}`);
  // Must not keep a test process alive; the exit handlers of cleanup.ts kill it.
  child.unref();
  trackPid(pid);
  let done = false;
  const finish = (): void => {
    done = true;
    untrackPid(pid);
  };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      finish();
      resolve();
    });
    child.once('error', () => {
      finish();
      resolve();
    });
  });
  return { pid, exited, hasExited: () => done || pidState(pid) !== 'alive' };
}

/** Sends `sig` (default SIGTERM), waits up to `timeoutMs`, then SIGKILL. Resolves once it is gone. */
export async function stopDaemon(d: Daemon, sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
  if (d.hasExited()) return;
  kill(d.pid, sig);
  if (await exitedWithin(d, timeoutMs)) return;
  kill(d.pid, 'SIGKILL');
  if (!(await exitedWithin(d, 10_000))) throw new Error(`pid ${d.pid} survived SIGKILL`);
}
