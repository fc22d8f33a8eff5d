// Test support: Bucardo's command-line tool and its daemon. `bucardo start` detaches (fork, setsid,
// fork again): its Master Control Program (MCP), VAC, controllers (CTL) and kids (KID, which copy
// the rows) are perl processes of one new process group, children of no process of ours, and
// forked again whenever a kid dies. They are stopped by that group: SIGKILL to every member whose
// working directory is the cluster's Bucardo dir (each is started there), and the group is
// registered with cleanup.ts, so the exit handlers and a later run's sweep kill it too.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupMembers, killGroupSync, trackProcessGroup, untrackProcessGroup } from './cleanup.js';
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

/** The pgid of a live process (field 5 of /proc/<pid>/stat), or null. */
function processGroupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : Number(fields[2]);
  } catch {
    return null;
  }
}

function mcpPid(c: BucardoControl): number | null {
  try {
    const pid = Number(readFileSync(join(pidDir(c), 'bucardo.mcp.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export interface RunningBucardo {
  readonly pgid: number;
  /** Live members of the daemon's process group (MCP, VAC, CTL, KID). */
  pids(): number[];
  /** SIGKILL to the whole group; resolves once none is left. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `bucardo start` with its pid files and logs in the Bucardo dir; resolves once the MCP has written
 * its pid file (the sync's controller and kid follow within a second or two: see waitReplicating).
 */
export async function startBucardoDaemon(c: BucardoControl): Promise<RunningBucardo> {
  mkdirSync(pidDir(c), { recursive: true });
  mkdirSync(logDir(c), { recursive: true });
  await bucardoCli(c, ['start', '--sendmail=0', '--log-destination', logDir(c), 'meridian tests']);
  let pgid: number | null = null;
  const deadline = Date.now() + 30_000;
  while (pgid === null) {
    const pid = mcpPid(c);
    pgid = pid === null ? null : processGroupOf(pid);
    if (pgid !== null) break;
    if (Date.now() > deadline) throw new Error(`Bucardo's MCP did not start within 30 s\n${bucardoLogTail(c)}`);
    await sleep(50);
  }
  trackProcessGroup(pgid, c.dir);
  const group = pgid;
  let stopped = false;
  return {
    pgid: group,
    pids: () => groupMembers(group, c.dir),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // Bucardo's own `stop` waits for kids to finish their run; tests want it gone now.
      killGroupSync(group, c.dir);
      untrackProcessGroup(group);
      await Promise.resolve();
    },
  };
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
