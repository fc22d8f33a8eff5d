// Where a node's lag comes from (lag_source in SHOW NODES) and, when it cannot be measured, why
// (problem): the misconfigurations that leave lag unknown on every node while writes succeed —
// pglogical missing from health.database, no heartbeat table, or a heartbeat table that does not
// replicate. Each message names the setting or command that fixes it. Pure.

import type { ClusterKind } from '../config/types.js';
import { GRACE_INTERVALS, type HeartbeatPeer } from './heartbeat-lag.js';
import type { RawProbe } from './probe-result.js';

export interface LagStatus {
  /** wal | pg_stat_replication | heartbeat | spock.lag_tracker */
  readonly source: string;
  readonly problem: string | null;
}

export interface LagProblemInput {
  readonly kind: ClusterKind;
  readonly database: string;
  readonly table: string;
  readonly intervalMs: number;
  readonly self: string;
  readonly raw: RawProbe;
  /** The lag just computed from `raw` (null: unknown). */
  readonly lagMs: number | null;
  readonly peers: readonly HeartbeatPeer[];
}

/** Peer rows still missing this many intervals into Meridian's writes are not on their way. */
export const NOT_ARRIVING_INTERVALS = GRACE_INTERVALS + 3;

/** Also init-heartbeat's refusal: the extension that would replicate the table is not there. */
export function missingExtensionMessage(extension: string, database: string): string {
  return `${extension} is not installed in database "${database}" (health.database): a heartbeat table there is not `
    + `replicated, so every node's lag stays unknown. Set health.database to the database where ${extension} is `
    + 'installed (the replicated one) and run meridian init-heartbeat';
}

function sourceOf(kind: ClusterKind, raw: RawProbe): string {
  switch (kind) {
    case 'physical': return 'wal';
    case 'logical': return 'pg_stat_replication';
    case 'spock': return raw.spockLag !== null ? 'spock.lag_tracker' : 'heartbeat';
    default: return 'heartbeat';
  }
}

function replicationHint(kind: ClusterKind): string {
  if (kind === 'pglogical') return 'is health.database the database pglogical replicates? Then run meridian init-heartbeat (it adds the table to the replication set)';
  if (kind === 'spock') return 'is health.database the database spock replicates? Then run meridian init-heartbeat';
  return 'add it to your replication (e.g. the Bucardo herd)';
}

/** Peers whose rows Meridian has written for a while and this node has never shown. */
function notArriving(input: LagProblemInput): string[] {
  const rows = input.raw.heartbeat;
  if (rows === null) return [];
  const out: string[] = [];
  for (const p of input.peers) {
    if (p.name === input.self || !p.isUp) continue;
    const start = p.writer.streakStartMs;
    if (start === null || input.raw.sentAtMs - start < NOT_ARRIVING_INTERVALS * input.intervalMs) continue;
    const seen = rows.get(p.name);
    if (seen === undefined || seen < start - 0.5) out.push(p.name);
  }
  return out;
}

/** The lag source of a node and the misconfiguration that keeps its lag unknown, if any. */
export function lagStatus(input: LagProblemInput): LagStatus {
  const { kind, raw, database, table } = input;
  const source = sourceOf(kind, raw);
  if (source !== 'heartbeat') return { source, problem: null };
  if (kind === 'pglogical' && raw.isPglogicalMissing) {
    return { source, problem: `${missingExtensionMessage('pglogical', database)} (or grant health.user access to schema pglogical)` };
  }
  if (raw.heartbeat === null) {
    return { source, problem: `heartbeat table ${table} missing or unreadable in database "${database}" (health.database): run meridian init-heartbeat` };
  }
  if (input.lagMs !== null) return { source, problem: null };
  const missing = notArriving(input);
  if (missing.length === 0) return { source, problem: null };
  return {
    source,
    problem: `heartbeat rows Meridian writes on ${missing.join(', ')} never arrive in table ${table} of database "${database}" `
      + `(health.database): the table is not replicated; ${replicationHint(kind)}`,
  };
}
