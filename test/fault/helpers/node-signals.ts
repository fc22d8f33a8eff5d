// Fault suite support: signals to a PostgreSQL node's processes, found from its data directory
// (postmaster.pid) and /proc (children by parent pid). Touches only the postmaster named in that
// file and its direct children; starts and owns nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PgNode } from '../../support/cluster.js';

/** What is needed of a node: its name and data directory (a test or a bench node). */
type NodeDir = Pick<PgNode, 'name' | 'dataDir'>;

/** The running postmaster of a node (first line of postmaster.pid). */
export function postmasterPid(node: NodeDir): number {
  const pid = Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${node.name}: no postmaster pid`);
  return pid;
}

/** Parent pid from /proc/<pid>/stat (the command name may hold spaces and parentheses). */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (parentOf(Number(name)) === pid) out.push(Number(name));
  }
  return out;
}

export function isProcessAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Sends `sig` to the postmaster and every process it forked; returns the pids signalled. */
export function signalNode(node: NodeDir, sig: NodeJS.Signals): number[] {
  const pm = postmasterPid(node);
  // Children first for SIGSTOP (a stopped postmaster cannot fork new ones meanwhile either way).
  const pids = [...childrenOf(pm), pm];
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}
