// Test support: Bucardo's command-line tool and its daemon. `bucardo start` detaches (fork, setsid,
// fork again): its Master Control Program (MCP), VAC, controllers (CTL) and kids (KID, which copy
// the rows) are perl processes that are children of no process of ours, forked again whenever a kid
// dies, and after a database problem the MCP respawns the whole daemon through a new `bucardo
// start` (new pids, a new process group). What they all keep is the working directory they were
// started in, the cluster's Bucardo dir: they are found and killed by it (cleanup.ts
// trackDaemonDir), by the harness, by the exit handlers and by a later run's sweep.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killProcessesInSync, processesIn, trackDaemonDir } from './cleanup.js';
import { findExecutable } from './daemon.js';
import { findPgBin } from './pg-bin.js';
import { runChecked, type RunResult } from './proc.js';
import { sleep } from './wait.js';

/** Where Debian's bucardo package puts the schema `bucardo install` loads. */
const SCHEMA_FILES = ['/usr/share/bucardo/bucardo.schema', '/usr/local/share/bucardo/bucardo.schema'];

/** The bucardo executable, or why Bucardo cannot run here (missing package or PL/Perl). */
export function findBucardo(): { bin: string } | { missing: string } {
  const bin = findExecutable('bucardo', ['/usr/bin', '/usr/local/bin']);
  const major = findPgBin().major;
  if (!bin || !SCHEMA_FILES.some((f) => existsSync(f))) return { missing: 'bucardo is not installed (Debian: apt-get install bucardo)' };
  // Bucardo's own database needs plperlu (its triggers and functions are written in it).
  if (!findPgBin().hasExtension('plperl'))
    return { missing: `PL/Perl is not installed for PostgreSQL ${major} (Debian: apt-get install postgresql-plperl-${major})` };
  return { bin };
}

/** Where Bucardo's own database lives: a unix socket dir (local connections are trusted) and port. */
export interface BucardoControl {
  readonly bin: string;
  readonly socketDir: string;
  readonly port: number;
  /** Bucardo's dir: pid files, logs, the reason file; the daemon's working directory. */
  readonly dir: string;
}

/** Runs `bucardo <args>` against Bucardo's own database; throws with its output when it fails. */
export function bucardoCli(c: BucardoControl, args: readonly string[], input?: string): Promise<RunResult> {
  const conn = ['--no-bucardorc', '--db-host', c.socketDir, '--db-port', String(c.port), '--db-user', 'bucardo', '--db-name', 'bucardo'];
  return runChecked(c.bin, [...conn, ...args], { cwd: c.dir, timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
}

export function pidDir(c: BucardoControl): string {
  return join(c.dir, 'run');
}
export function logDir(c: BucardoControl): string {
  return join(c.dir, 'log');
}

function mcpRunning(c: BucardoControl): boolean {
  try {
    const pid = Number(readFileSync(join(pidDir(c), 'bucardo.mcp.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && processesIn(c.dir).includes(pid);
  } catch {
    return false;
  }
}

/** Live processes of the daemon (MCP, VAC, CTL, KID, and a `bucardo` command still running). */
export function bucardoPids(c: BucardoControl): number[] {
  return processesIn(c.dir);
}

/** Kills every process of the daemon; resolves once none is left. */
export async function killBucardo(c: BucardoControl): Promise<void> {
  killProcessesInSync(c.dir);
  await Promise.resolve();
  const left = processesIn(c.dir);
  if (left.length > 0) throw new Error(`Bucardo processes survived SIGKILL: ${left.join(', ')}`);
}

/**
 * `bucardo start` with its pid files and logs in the Bucardo dir; resolves once the MCP runs (the
 * sync's controller and kid follow within a second or two: see waitReplicating).
 */
export async function startBucardoDaemon(c: BucardoControl): Promise<void> {
  mkdirSync(pidDir(c), { recursive: true });
  mkdirSync(logDir(c), { recursive: true });
  trackDaemonDir(c.dir);
  await bucardoCli(c, ['start', '--sendmail=0', '--log-destination', logDir(c), 'meridian tests']);
  const deadline = Date.now() + 30_000;
  while (!mcpRunning(c)) {
    if (Date.now() > deadline) throw new Error(`Bucardo's MCP did not start within 30 s\n${bucardoLogTail(c)}`);
    await sleep(50);
  }
}

/** The last lines of Bucardo's log (for failure messages). */
export function bucardoLogTail(c: BucardoControl, lines = 40): string {
  try {
    return readFileSync(join(logDir(c), 'log.bucardo'), 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no Bucardo log)';
  }
}
