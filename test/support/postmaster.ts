// Test support: one postmaster process: spawn it (as the server OS user when we are root), wait until
// it accepts connections, stop it by signal. The postmaster is our direct child (no pg_ctl, no
// runuser in between), so Node reaps it and no zombie is left even where PID 1 does not reap.
// Knows nothing of clusters, roles or ports.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trackPid, untrackPid } from './cleanup.js';
import { asPgUserOptions, findPgBin, pidState, serverToolEnv } from './pg-bin.js';

export const START_TIMEOUT_MS = 60_000;

export interface Postmaster {
  readonly pid: number;
  /** Resolves when the process has exited (and was reaped). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
}

export class PostmasterStartError extends Error {
  constructor(
    message: string,
    /** The port was taken (by another process or a stale socket lock): retry on another port. */
    readonly isPortConflict: boolean,
  ) {
    super(message);
    this.name = 'PostmasterStartError';
  }
}

export function readTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts `postgres -D dataDir [args]`, appending its stdout/stderr to logFile. Does not wait. */
export function spawnPostmaster(dataDir: string, logFile: string, args: readonly string[] = []): Postmaster {
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(findPgBin().path('postgres'), ['-D', dataDir, ...args], {
      ...asPgUserOptions(),
      env: serverToolEnv(),
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn postgres for ${dataDir}`);
  // The postmaster must not keep a test process alive; the exit handlers in cleanup.ts kill it.
  child.unref();
  trackPid(pid);
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      untrackPid(pid);
      resolve();
    });
    child.once('error', () => {
      done = true;
      untrackPid(pid);
      resolve();
    });
  });
  return { pid, exited, hasExited: () => done || pidState(pid) !== 'alive' };
}

/** Status word (line 8) of postmaster.pid when it belongs to `pid`: starting | ready | standby | stopping. */
function pidFileStatus(dataDir: string, pid: number): string | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    if (Number(lines[0]) !== pid) return undefined;
    return lines[7]?.trim();
  } catch {
    return undefined;
  }
}

const PORT_CONFLICT =
  /could not bind IPv4 address|Address already in use|lock file ".*\.s\.PGSQL\.\d+\.lock" already exists|could not create any TCP\/IP sockets/;

/**
 * Waits until the postmaster accepts connections (postmaster.pid says "ready", or "standby" for a hot
 * standby), as pg_ctl -w does. Deadline-based; on failure the error carries the server log tail.
 */
export async function waitReady(pm: Postmaster, dataDir: string, logFile: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = pidFileStatus(dataDir, pm.pid);
    if (status === 'ready' || status === 'standby') return;
    if (pm.hasExited()) {
      const log = readTail(logFile);
      throw new PostmasterStartError(`postgres for ${dataDir} exited during start-up; log tail:\n${log}`, PORT_CONFLICT.test(log));
    }
    if (Date.now() > deadline) {
      throw new PostmasterStartError(
        `postgres for ${dataDir} not ready after ${timeoutMs} ms (status ${status ?? 'none'}); log tail:\n${readTail(logFile)}`,
        false,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `sig` to `pid`; a process already gone is no error. */
export function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Whether a started process (a postmaster, a daemon) exits within `ms`. */
export async function exitedWithin(p: { readonly exited: Promise<unknown>; hasExited(): boolean }, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  const ok = await Promise.race([p.exited.then(() => true), timeout]);
  clearTimeout(timer);
  return ok || p.hasExited();
}

/**
 * Stops the postmaster: `fast` = SIGINT (abort transactions, checkpoint, exit), `immediate` = SIGQUIT
 * (no checkpoint; crash recovery at next start), `smart` = SIGTERM. SIGKILL after the deadline.
 */
export async function stopPostmaster(pm: Postmaster, mode: 'smart' | 'fast' | 'immediate', timeoutMs = 60_000): Promise<void> {
  if (pm.hasExited()) return;
  kill(pm.pid, mode === 'immediate' ? 'SIGQUIT' : mode === 'fast' ? 'SIGINT' : 'SIGTERM');
  if (await exitedWithin(pm, timeoutMs)) return;
  kill(pm.pid, 'SIGKILL');
  if (!(await exitedWithin(pm, 10_000))) throw new Error(`postgres pid ${pm.pid} survived SIGKILL`);
}

/** True when a data dir holds a cluster (PG_VERSION present). */
export function isDataDir(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}
