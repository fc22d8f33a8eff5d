// Streaming replication (primary and hot standbys). Role from pg_is_in_recovery(); lag from WAL
// positions (bytes) and the last replayed commit's age, capped while nothing is pending (ms);
// read-your-writes from the primary's WAL insert positions, and at once from a standby the primary
// waits for (synchronous_commit = remote_apply, sync_state = sync); one master at a time, so a second
// node claiming master is a split-brain loser; standbys are hot standbys (they refuse
// SERIALIZABLE), and masters serve reads only when no standby can. Pure plug-in.

import { physicalLag } from '../../health/lag.js';
import { followedMaster } from '../../health/node-lag.js';
import { baseRole } from '../../health/probe-result.js';
import { ifPrimary, lsnBytesExpr, msExpr, type ProbeField } from '../../health/probe-sql.js';
import { walSeenWrites } from '../../health/seen-writes.js';
import { preferredMaster } from '../../topology/snapshot.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { HOT_STANDBY_REFUSALS } from '../standby-refusals.js';

const FIELDS: readonly ProbeField[] = Object.freeze([
  ['current_lsn', ifPrimary(lsnBytesExpr('pg_current_wal_lsn()'))],
  // Read-your-writes marks: the insert position covers every commit acknowledged before the
  // probe, also with synchronous_commit = off (acknowledged before its WAL is written).
  ['insert_lsn', ifPrimary(lsnBytesExpr('pg_current_wal_insert_lsn()'))],
  ['receive_lsn', lsnBytesExpr('pg_last_wal_receive_lsn()')],
  ['replay_lsn', lsnBytesExpr('pg_last_wal_replay_lsn()')],
  ['replay_age_ms', msExpr('clock_timestamp() - pg_last_xact_replay_timestamp()')],
  // Synchronous standbys that have every acknowledged commit applied: with synchronous_commit =
  // remote_apply on the primary, the application names of the standbys in sync state (NULL
  // otherwise; the names need pg_read_all_stats, else nothing is shown and nothing assumed).
  [
    'sync_apply',
    ifPrimary(
      `CASE WHEN current_setting('synchronous_commit') = 'remote_apply' THEN (SELECT coalesce(json_agg(application_name), '[]'::json) FROM pg_stat_replication WHERE sync_state = 'sync' AND application_name IS NOT NULL) END`,
    ),
  ],
  // A standby's name in the primary's pg_stat_replication: its WAL receiver's application_name,
  // else cluster_name, else PostgreSQL's default.
  [
    'wal_app_name',
    `CASE WHEN pg_is_in_recovery() THEN coalesce((SELECT substring(conninfo from 'application_name=([^ ]+)') FROM pg_stat_wal_receiver), nullif(current_setting('cluster_name'), ''), 'walreceiver') END`,
  ],
] as const);

export const physical: ClusterKindPlugin<'physical'> = {
  name: 'physical',
  usesHeartbeat: false,
  probeFields: () => FIELDS,
  roleOf: baseRole,
  lag: (ctx) => physicalLag(ctx.self, followedMaster(ctx), ctx.lastCaughtUpAtMs),
  lagSource: () => 'wal',
  lagProblem: () => null,
  replicationHint: "add it to your replication (e.g. the Bucardo sync's relgroup)",
  tracksWalMarks: true,
  seenWrites: walSeenWrites,
  splitBrain: { preferred: preferredMaster },
  isMultiMaster: false,
  defaultReadsOnMasters: 'fallback',
  standbyRefusals: HOT_STANDBY_REFUSALS,
  serializableReadsNeedMaster: true,
  heartbeatSetup: { extension: null, replicationSet: null, note: 'not needed for this cluster kind; created anyway' },
};
