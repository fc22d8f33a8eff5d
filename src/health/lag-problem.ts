// Where a node's lag comes from (lag_source in SHOW NODES) and, when it cannot be measured, why
// (problem): the misconfigurations that leave lag unknown on every node while writes succeed —
// pglogical missing from health.database, no heartbeat table, or a heartbeat table that does not
// replicate. Each message names the setting or command that fixes it. Pure; what differs per
// cluster kind comes from its plug-in (LagReporting).

import { GRACE_INTERVALS, type HeartbeatPeer } from './heartbeat-lag.js';
import type { RawProbe } from './probe-result.js';

export interface LagStatus {
  /** wal | pg_stat_replication | heartbeat | spock.lag_tracker */
  readonly source: string;
  readonly problem: string | null;
}

/** What lag reporting needs of a cluster kind (its plug-in). */
export interface LagReporting {
  /** Where a node's lag comes from: wal | pg_stat_replication | heartbeat | spock.lag_tracker. */
  lagSource(raw: RawProbe): string;
  /** A misconfiguration of the kind's own that keeps heartbeat lag unknown (checked first), or null. */
  lagProblem(raw: RawProbe, database: string): string | null;
  /** What to check when the heartbeat rows Meridian writes never arrive on the other nodes. */
  readonly replicationHint: string;
}

export interface LagProblemInput {
  readonly kind: LagReporting;
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
  return (
    `${extension} is not installed in database "${database}" (health.database): a heartbeat table there is not ` +
    `replicated, so every node's lag stays unknown. Set health.database to the database where ${extension} is ` +
    'installed (the replicated one) and run meridian init-heartbeat'
  );
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
  const source = kind.lagSource(raw);
  if (source !== 'heartbeat') return { source, problem: null };
  const own = kind.lagProblem(raw, database);
  if (own !== null) return { source, problem: own };
  if (raw.heartbeat === null) {
    return { source, problem: `heartbeat table ${table} missing or unreadable in database "${database}" (health.database): run meridian init-heartbeat` };
  }
  if (input.lagMs !== null) return { source, problem: null };
  const missing = notArriving(input);
  if (missing.length === 0) return { source, problem: null };
  return {
    source,
    problem:
      `heartbeat rows Meridian writes on ${missing.join(', ')} never arrive in table ${table} of database "${database}" ` +
      `(health.database): the table is not replicated; ${kind.replicationHint}`,
  };
}
