// The SQL of one probe: ONE statement, ONE round trip, prepared once per connection. A single SELECT returns role, LSNs,
// replication views and heartbeat rows as columns (sub-selects aggregated to JSON); on a master of
// a heartbeat kind a data-modifying CTE in the same statement upserts Meridian's clock into the
// node's own heartbeat row. Pure string building; what a node supports is discovered once per
// connection (discoverSql) so the probe never references a missing table. The fields of each
// cluster kind come from its plug-in (src/cluster/kinds/), built with the helpers here.

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
  return name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

export function discoverSql(heartbeatTable: string): string {
  const t = quoteLiteral(quoteQualified(heartbeatTable));
  const can = (rel: string, priv: string) => `coalesce(to_regclass(${rel}) IS NOT NULL AND has_table_privilege(to_regclass(${rel}), '${priv}'), false)`;
  return `SELECT ${can(t, 'SELECT')} AS has_hb, ${can(t, 'INSERT')} AND ${can(t, 'UPDATE')} AS can_write_hb,
  ${can("'pglogical.subscription'", 'SELECT')} AS has_pglogical,
  ${can("'spock.lag_tracker'", 'SELECT')} AND ${can("'spock.local_node'", 'SELECT')} AS has_spock_lag,
  current_setting('server_version_num')::int AS version_num`;
}

/** A duration or timestamp difference as float8 ms. */
export const msExpr = (expr: string): string => `(extract(epoch FROM ${expr}) * 1000)::float8`;
/** An LSN as float8 bytes since 0/0. */
export const lsnBytesExpr = (expr: string): string => `pg_wal_lsn_diff(${expr}, '0/0')::float8`;
/** The expression on a primary, NULL on a node in recovery (where it would raise an error). */
export const ifPrimary = (expr: string): string => `CASE WHEN pg_is_in_recovery() THEN NULL ELSE ${expr} END`;

/** One field of the probe's JSON object: [key, SQL expression]. */
export type ProbeField = readonly [string, string];

/** What the probe needs of a cluster kind (its plug-in). */
export interface KindProbe {
  /** Lag comes from (or falls back to) the heartbeat table: the probe reads its rows and writes a master's own row. */
  readonly usesHeartbeat: boolean;
  /** The kind's own fields, after the base ones (in_recovery, read_only) and before the heartbeat's. */
  probeFields(caps: ProbeCapabilities): readonly ProbeField[];
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

/** The probe reads the heartbeat rows: a heartbeat kind on a node where discovery found the table. */
export function readsHeartbeatTable(kind: KindProbe, caps: ProbeCapabilities): boolean {
  return kind.usesHeartbeat && caps.hasHeartbeatTable;
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
export function buildProbeSql(kind: KindProbe, caps: ProbeCapabilities, table: string, hb: HeartbeatWrite | null): ProbeSql {
  const fields: ProbeField[] = [
    ['in_recovery', 'pg_is_in_recovery()'],
    ['read_only', `current_setting('transaction_read_only')`],
  ];
  fields.push(...kind.probeFields(caps));
  const readsHeartbeat = readsHeartbeatTable(kind, caps);
  if (readsHeartbeat) fields.push(['heartbeat', `(SELECT json_agg(json_build_array(node, ${msExpr('ts')})) FROM ${quoteQualified(table)})`]);
  const writesHeartbeat = hb !== null && readsHeartbeat && caps.canWriteHeartbeat;
  if (writesHeartbeat) fields.push(['beat_ms', `(SELECT ${msExpr('ts')} FROM meridian_beat)`]);
  fields.push(['server_ms', msExpr('clock_timestamp() - statement_timestamp()')]);
  const cte = writesHeartbeat ? heartbeatCte(table) : '';
  const params = writesHeartbeat ? [hb.node, hb.tsMs] : [];
  const object = fields.map(([k, e]) => `'${k}', ${e}`).join(',\n  ');
  return { sql: `${cte}SELECT json_build_object(\n  ${object}) AS probe`, params, writesHeartbeat };
}
