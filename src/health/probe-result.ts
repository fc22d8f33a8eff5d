// What one probe observed (RawProbe), parsed from the probe SELECT's single row, and the role
// every kind starts from (a kind's plug-in may refine it). Pure: validates shapes, never trusts a
// column's type blindly. One record for every kind: a column the kind's SQL did not select is null.
import type { NodeRole } from '../topology/types.js';

export interface ReplicationRow {
  readonly name: string; // application_name (= subscription name for pgoutput)
  readonly replayLagMs: number | null;
  readonly bytes: number | null;
}

export interface SlotRow {
  readonly slot: string;
  readonly bytes: number | null;
}

export interface SpockLagRow {
  readonly origin: string;
  readonly lagMs: number | null;
  readonly bytes: number | null;
}

export interface RawProbe {
  readonly sentAtMs: number; // Meridian clock when the probe query was sent
  readonly receivedAtMs: number; // … and when its answer was complete
  readonly networkRttMs: number; // elapsed − server time, ≥ 0
  readonly inRecovery: boolean;
  readonly isReadOnly: boolean; // transaction_read_only, or spock.readonly ≠ off
  // physical
  readonly currentLsn: number | null; // on a primary: pg_current_wal_lsn() as bytes
  readonly insertLsn: number | null; // on a primary: pg_current_wal_insert_lsn() as bytes
  readonly receiveLsn: number | null;
  readonly replayLsn: number | null;
  readonly replayAgeMs: number | null; // clock_timestamp() − pg_last_xact_replay_timestamp()
  /** On a primary with synchronous_commit = remote_apply: application names of its standbys in sync state; else null. */
  readonly syncApplyNames: readonly string[] | null;
  /** On a standby: its name in the primary's pg_stat_replication (application_name); else null. */
  readonly walAppName: string | null;
  // logical
  readonly subscriptions: readonly string[] | null; // subscriptions on this node's database, enabled or not
  /** On a logical subscriber: its tables not (fully) replicated into it, "schema.name"; else null. */
  readonly unreplicated: readonly string[] | null;
  readonly replication: readonly ReplicationRow[] | null; // pg_stat_replication on a provider
  // pglogical
  readonly slots: readonly SlotRow[] | null; // logical slots on a provider with byte lag
  readonly mySlots: readonly string[] | null; // slot names of this node's subscriptions
  // spock
  readonly spockLag: readonly SpockLagRow[] | null;
  // heartbeat: node → ts (Meridian clock ms) as seen on this node; null = table not read
  readonly heartbeat: ReadonlyMap<string, number> | null;
  /** The heartbeat ts written on this probe (confirmed by RETURNING); null: not written. */
  readonly heartbeatWrittenTs: number | null;
  /** Why the heartbeat could not be written, when a write was attempted and failed. */
  readonly heartbeatError: string | null;
  /** pglogical: the extension is not installed (or not readable) in the probed database. */
  readonly isPglogicalMissing: boolean;
}

const num = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
};
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const arr = (v: unknown): readonly unknown[] | null => (Array.isArray(v) ? v : null);

function strings(v: unknown): string[] | null {
  const a = arr(v);
  if (a === null) return v === null || v === undefined ? null : [];
  return a.filter((x): x is string => typeof x === 'string');
}

function tuples<T>(v: unknown, make: (t: readonly unknown[]) => T | null): T[] | null {
  const a = arr(v);
  if (a === null) return null;
  const out: T[] = [];
  for (const t of a) {
    const tuple = arr(t);
    const row = tuple === null ? null : make(tuple);
    if (row !== null) out.push(row);
  }
  return out;
}

export interface ProbeTiming {
  readonly sentAtMs: number;
  readonly receivedAtMs: number;
  readonly elapsedMs: number;
}

/**
 * Parse the probe row. `heartbeatWrite` is the ts written on this probe (null: none);
 * `heartbeatError` why an attempted write failed.
 */
export function parseProbeRow(
  row: Record<string, unknown>,
  timing: ProbeTiming,
  heartbeatWrite: number | null,
  heartbeatError: string | null,
  hasHeartbeatColumn: boolean,
): RawProbe {
  const serverMs = num(row.server_ms) ?? 0;
  const hbRows = hasHeartbeatColumn
    ? (tuples(row.heartbeat, (t) => {
        const node = str(t[0]);
        const ts = num(t[1]);
        return node !== null && ts !== null ? ([node, ts] as const) : null;
      }) ?? [])
    : null;
  const heartbeat = hbRows === null ? null : new Map(hbRows);
  const beat = num(row.beat_ms);
  const spockRo = str(row.spock_readonly);
  return {
    sentAtMs: timing.sentAtMs,
    receivedAtMs: timing.receivedAtMs,
    networkRttMs: Math.max(0, timing.elapsedMs - serverMs),
    inRecovery: row.in_recovery === true,
    isReadOnly: str(row.read_only) === 'on' || (spockRo !== null && spockRo !== 'off' && spockRo !== ''),
    currentLsn: num(row.current_lsn),
    insertLsn: num(row.insert_lsn),
    receiveLsn: num(row.receive_lsn),
    replayLsn: num(row.replay_lsn),
    replayAgeMs: num(row.replay_age_ms),
    syncApplyNames: strings(row.sync_apply),
    walAppName: str(row.wal_app_name),
    subscriptions: strings(row.subscriptions),
    unreplicated: strings(row.unreplicated),
    replication: tuples(row.replication, (t) => {
      const name = str(t[0]);
      return name === null ? null : { name, replayLagMs: num(t[1]), bytes: num(t[2]) };
    }),
    slots: tuples(row.slots, (t) => {
      const slot = str(t[0]);
      return slot === null ? null : { slot, bytes: num(t[1]) };
    }),
    mySlots: strings(row.my_slots),
    spockLag: tuples(row.spock_lag, (t) => {
      const origin = str(t[0]);
      return origin === null ? null : { origin, lagMs: num(t[1]), bytes: num(t[2]) };
    }),
    heartbeat,
    heartbeatWrittenTs: heartbeatWrite !== null && beat !== null && Math.abs(beat - heartbeatWrite) < 1 ? heartbeatWrite : null,
    heartbeatError,
    isPglogicalMissing: row.pglogical_missing === true,
  };
}

/**
 * A node is a master when it is not in recovery and not read-only (transaction_read_only, or
 * spock.readonly). Kinds refine it (logical: a subscriber is a replica).
 */
export function baseRole(p: RawProbe): NodeRole {
  return p.inRecovery || p.isReadOnly ? 'replica' : 'master';
}
