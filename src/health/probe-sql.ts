// The SQL of one probe: ONE statement, ONE round trip, prepared once per connection. A single SELECT returns role, LSNs,
// replication views and heartbeat rows as columns (sub-selects aggregated to JSON); on a master of
// a heartbeat kind a data-modifying CTE in the same statement upserts Meridian's clock into the
// node's own heartbeat row. Pure string building; what a node supports is discovered once per
// connection (discoverSql) so the probe never references a missing table.

import type { ClusterKind } from '../config/types.js';

/** Optional objects the probe may read; each is "exists and the probe user may read it". */
export interface ProbeCapabilities {
  readonly hasHeartbeatTable: boolean;
  readonly canWriteHeartbeat: boolean;
  readonly hasPglogical: boolean;
  readonly hasSpockLagTracker: boolean;
  readonly serverVersionNum: number;
}

/** A heartbeat write Meridian makes on this probe: the node's own row, Meridian's clock. */
export interface HeartbeatWrite {
  readonly node: string;
  readonly tsMs: number;
}

export type Escape = (s: string) => string;

/** Standard SQL literal quoting (standard_conforming_strings on since 9.1). */
export const quoteLiteral: Escape = (s) => `'${s.replace(/'/g, "''")}'`;

/** Quote a possibly schema-qualified identifier: meridian_heartbeat, ops.meridian_heartbeat. */
export function quoteQualified(name: string): string {
  return name.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}

/** Kinds whose lag comes from (or falls back to) the heartbeat table. */
export function usesHeartbeat(kind: ClusterKind): boolean {
  return kind === 'pglogical' || kind === 'heartbeat' || kind === 'spock';
}

export function discoverSql(heartbeatTable: string): string {
  const t = quoteLiteral(quoteQualified(heartbeatTable));
  const can = (rel: string, priv: string) =>
    `coalesce(to_regclass(${rel}) IS NOT NULL AND has_table_privilege(to_regclass(${rel}), '${priv}'), false)`;
  return `SELECT ${can(t, 'SELECT')} AS has_hb, ${can(t, 'INSERT')} AND ${can(t, 'UPDATE')} AS can_write_hb,
  ${can("'pglogical.subscription'", 'SELECT')} AS has_pglogical,
  ${can("'spock.lag_tracker'", 'SELECT')} AND ${can("'spock.local_node'", 'SELECT')} AS has_spock_lag,
  current_setting('server_version_num')::int AS version_num`;
}

const MS = (expr: string) => `(extract(epoch FROM ${expr}) * 1000)::float8`;
const LSN_BYTES = (expr: string) => `pg_wal_lsn_diff(${expr}, '0/0')::float8`;
const IF_PRIMARY = (expr: string) => `CASE WHEN pg_is_in_recovery() THEN NULL ELSE ${expr} END`;

/** One field of the probe's JSON object: [key, SQL expression]. */
type Field = readonly [string, string];

function physicalFields(): Field[] {
  return [
    ['current_lsn', IF_PRIMARY(LSN_BYTES('pg_current_wal_lsn()'))],
    // Read-your-writes marks: the insert position covers every commit acknowledged before the
    // probe, also with synchronous_commit = off (acknowledged before its WAL is written).
    ['insert_lsn', IF_PRIMARY(LSN_BYTES('pg_current_wal_insert_lsn()'))],
    ['receive_lsn', LSN_BYTES('pg_last_wal_receive_lsn()')],
    ['replay_lsn', LSN_BYTES('pg_last_wal_replay_lsn()')],
    ['replay_age_ms', MS('clock_timestamp() - pg_last_xact_replay_timestamp()')],
  ];
}

function logicalFields(): Field[] {
  return [
    // Disabled ones too: a node with a disabled subscription is still a subscriber (a replica
    // whose data stops moving), never a master; its lag is then unknown (no provider row).
    ['subscriptions', `(SELECT json_agg(subname) FROM pg_subscription
       WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))`],
    ['replication', IF_PRIMARY(`(SELECT json_agg(json_build_array(application_name, ${MS('replay_lag')},
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8)) FROM pg_stat_replication)`)],
  ];
}

function pglogicalFields(caps: ProbeCapabilities): Field[] {
  const fields: Field[] = [
    ['slots', IF_PRIMARY(`(SELECT json_agg(json_build_array(slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8))
       FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database())`)],
  ];
  if (caps.hasPglogical) fields.push(['my_slots', '(SELECT json_agg(sub_slot_name) FROM pglogical.subscription)']);
  // A constant per connection: pglogical absent from health.database means the heartbeat table
  // there never replicates (the misconfiguration behind "lag unknown" on every node).
  else fields.push(['pglogical_missing', 'true']);
  return fields;
}

function spockFields(caps: ProbeCapabilities): Field[] {
  const fields: Field[] = [['spock_readonly', `current_setting('spock.readonly', true)`]];
  if (caps.hasSpockLagTracker) {
    fields.push(['spock_lag', `(SELECT json_agg(json_build_array(origin_name, ${MS('replication_lag')}, replication_lag_bytes::float8))
       FROM spock.lag_tracker WHERE receiver_name = (SELECT n.node_name FROM spock.node n
       JOIN spock.local_node l ON l.node_id = n.node_id))`]);
  }
  return fields;
}

/**
 * The own-row upsert as a CTE; RETURNING confirms the write (the main SELECT cannot see it).
 * $1 = node name, $2 = Meridian's clock in ms.
 */
export function heartbeatCte(table: string): string {
  return `WITH meridian_beat AS (INSERT INTO ${quoteQualified(table)} (node, ts)
  VALUES ($1::text, to_timestamp($2::float8 / 1000))
  ON CONFLICT (node) DO UPDATE SET ts = excluded.ts RETURNING ts)
`;
}

export interface ProbeSql {
  /** Constant per (kind, capabilities, write or not): prepared once per connection. */
  readonly sql: string;
  readonly params: readonly (string | number)[];
  /** The statement writes the heartbeat: it fails on a node that became read-only (retry without). */
  readonly writesHeartbeat: boolean;
}

/**
 * The probe: one row, one `probe` column holding a JSON object (one RowDescription field to
 * decode, one JSON.parse). `hb` (only for a node last seen as master) adds the heartbeat upsert.
 * `server_ms` (evaluated last) is the server's time on the statement so far, so
 * elapsed − server_ms is the network round trip (the heartbeat's commit, after the row is sent,
 * still counts in it).
 */
export function buildProbeSql(kind: ClusterKind, caps: ProbeCapabilities, table: string, hb: HeartbeatWrite | null): ProbeSql {
  const fields: Field[] = [['in_recovery', 'pg_is_in_recovery()'], ['read_only', `current_setting('transaction_read_only')`]];
  if (kind === 'physical') fields.push(...physicalFields());
  if (kind === 'logical') fields.push(...logicalFields());
  if (kind === 'pglogical') fields.push(...pglogicalFields(caps));
  if (kind === 'spock') fields.push(...spockFields(caps));
  const readsHeartbeat = usesHeartbeat(kind) && caps.hasHeartbeatTable;
  if (readsHeartbeat) fields.push(['heartbeat', `(SELECT json_agg(json_build_array(node, ${MS('ts')})) FROM ${quoteQualified(table)})`]);
  const writesHeartbeat = hb !== null && readsHeartbeat && caps.canWriteHeartbeat;
  if (writesHeartbeat) fields.push(['beat_ms', `(SELECT ${MS('ts')} FROM meridian_beat)`]);
  fields.push(['server_ms', MS('clock_timestamp() - statement_timestamp()')]);
  const cte = writesHeartbeat ? heartbeatCte(table) : '';
  const params = writesHeartbeat ? [hb.node, hb.tsMs] : [];
  const object = fields.map(([k, e]) => `'${k}', ${e}`).join(',\n  ');
  return { sql: `${cte}SELECT json_build_object(\n  ${object}) AS probe`, params, writesHeartbeat };
}
