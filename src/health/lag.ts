// Lag per cluster kind from the latest probes of all nodes (README, "What it does" → Health). Pure: the
// monitor passes what it knows, gets numbers back. A lag that cannot be trusted is null (unknown),
// never 0. Heartbeat-based lag lives in heartbeat-lag.ts.

import type { NodeRole } from '../topology/types.js';
import type { RawProbe } from './probe-result.js';

export interface LagInput {
  readonly name: string;
  readonly isUp: boolean;
  readonly role: NodeRole;
  readonly raw: RawProbe | null; // latest successful probe
}

export interface LagValue {
  readonly lagMs: number | null;
  readonly lagBytes: number | null;
}

export const ZERO_LAG: LagValue = Object.freeze({ lagMs: 0, lagBytes: 0 });
export const UNKNOWN_LAG: LagValue = Object.freeze({ lagMs: null, lagBytes: null });

export interface PhysicalLag extends LagValue {
  /** The standby had replayed at least the master's last known WAL position. */
  readonly isCaughtUp: boolean;
}

/**
 * Physical standby: bytes = master's current LSN − standby's replay LSN. Time:
 *  * 0 when the standby has replayed up to the master's last known position (idle master);
 *  * else now − last replayed transaction's commit time (grows 1:1 while replay is paused) —
 *    but that timestamp also grows on an idle master (no new commits to replay), so when everything
 *    received is replayed (receive = replay: no replay backlog, e.g. the master only wrote
 *    non-transaction WAL) it is capped by the time since the standby was last seen caught up.
 */
export function physicalLag(node: LagInput, master: LagInput | null, lastCaughtUpAtMs: number | null): PhysicalLag {
  const raw = node.raw;
  if (node.role === 'master') return { ...ZERO_LAG, isCaughtUp: true };
  if (raw === null || !node.isUp) return { ...UNKNOWN_LAG, isCaughtUp: false };
  const masterLsn = master !== null && master.isUp ? (master.raw?.currentLsn ?? null) : null;
  const replay = raw.replayLsn;
  const lagBytes = masterLsn !== null && replay !== null ? Math.max(0, masterLsn - replay) : null;
  if (lagBytes === 0) return { lagMs: 0, lagBytes: 0, isCaughtUp: true };
  const noBacklog = raw.receiveLsn !== null && replay !== null && raw.receiveLsn <= replay;
  let lagMs = raw.replayAgeMs !== null ? Math.max(0, raw.replayAgeMs) : null;
  if (noBacklog && lastCaughtUpAtMs !== null) {
    const since = Math.max(0, raw.receivedAtMs - lastCaughtUpAtMs);
    lagMs = lagMs === null ? since : Math.min(lagMs, since);
  }
  if (lagMs === null && noBacklog && masterLsn === null) lagMs = 0; // nothing to compare with, nothing pending
  return { lagMs, lagBytes, isCaughtUp: false };
}

/**
 * Native logical replication: a subscriber's lag is the provider's pg_stat_replication
 * replay_lag for each of its subscriptions (pgoutput fills it); replay_lag is NULL when idle,
 * which is 0 when no bytes are pending. A subscription no provider reports: unknown.
 */
export function logicalLag(node: LagInput, all: readonly LagInput[]): LagValue {
  const raw = node.raw;
  if (raw === null || !node.isUp) return UNKNOWN_LAG;
  const subs = raw.subscriptions ?? [];
  if (subs.length === 0) return ZERO_LAG;
  let lagMs = 0;
  let lagBytes: number | null = 0;
  for (const sub of subs) {
    let found = false;
    for (const p of all) {
      if (p.name === node.name || !p.isUp) continue;
      const row = p.raw?.replication?.find((r) => r.name === sub);
      if (row === undefined) continue;
      found = true;
      const ms = row.replayLagMs ?? (row.bytes === 0 ? 0 : null);
      if (ms === null) return UNKNOWN_LAG;
      lagMs = Math.max(lagMs, ms);
      lagBytes = row.bytes === null || lagBytes === null ? null : Math.max(lagBytes, row.bytes);
    }
    if (!found) return UNKNOWN_LAG;
  }
  return { lagMs, lagBytes };
}

/**
 * pglogical byte lag (secondary signal, under-reports big transactions): the providers' slot
 * lag for this node's subscription slots, worst one. Null when nothing matched.
 */
export function pglogicalLagBytes(node: LagInput, all: readonly LagInput[]): number | null {
  const mine = node.raw?.mySlots;
  if (mine === null || mine === undefined) return null;
  if (mine.length === 0) return 0;
  let worst: number | null = null;
  for (const p of all) {
    if (p.name === node.name || !p.isUp || p.raw?.slots == null) continue;
    for (const s of p.raw.slots) {
      if (s.bytes !== null && mine.includes(s.slot)) worst = Math.max(worst ?? 0, s.bytes);
    }
  }
  return worst;
}

/**
 * Spock: spock.lag_tracker rows for this receiver. replication_lag counts from the last commit
 * received, so it grows while the origin is idle; rows with 0 bytes behind count as 0. Null when
 * the view gave nothing (the caller falls back to the heartbeat).
 */
export function spockLag(node: LagInput): LagValue | null {
  const rows = node.raw?.spockLag;
  if (rows === null || rows === undefined || rows.length === 0) return null;
  let lagMs = 0;
  let lagBytes = 0;
  for (const r of rows) {
    const ms = r.bytes === 0 ? 0 : r.lagMs;
    if (ms === null) return null;
    lagMs = Math.max(lagMs, ms);
    lagBytes = Math.max(lagBytes, r.bytes ?? 0);
  }
  return { lagMs, lagBytes };
}
