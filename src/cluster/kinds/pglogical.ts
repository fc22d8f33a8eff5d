// pglogical (active-active): every writable node is a master. pglogical leaves
// pg_stat_replication's lag columns NULL, so lag comes from Meridian's heartbeat table; the
// providers' slot positions give bytes as a secondary signal. init-heartbeat adds the table to
// the 'default' replication set. Pure plug-in.

import { missingExtensionMessage } from '../../health/lag-problem.js';
import { pglogicalLagBytes } from '../../health/lag.js';
import { heartbeatLagMs } from '../../health/node-lag.js';
import { baseRole } from '../../health/probe-result.js';
import { ifPrimary, type ProbeField } from '../../health/probe-sql.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { MULTI_MASTER } from '../multi-master.js';

const SLOTS: ProbeField = [
  'slots',
  ifPrimary(`(SELECT json_agg(json_build_array(slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8))
       FROM pg_replication_slots WHERE slot_type = 'logical' AND database = current_database())`),
];
const WITH_PGLOGICAL: readonly ProbeField[] = Object.freeze([SLOTS, ['my_slots', '(SELECT json_agg(sub_slot_name) FROM pglogical.subscription)']]);
// A constant per connection: pglogical absent from health.database means the heartbeat table
// there never replicates (the misconfiguration behind "lag unknown" on every node).
const WITHOUT_PGLOGICAL: readonly ProbeField[] = Object.freeze([SLOTS, ['pglogical_missing', 'true']]);

export const pglogical: ClusterKindPlugin<'pglogical'> = {
  name: 'pglogical',
  usesHeartbeat: true,
  probeFields: (caps) => (caps.hasPglogical ? WITH_PGLOGICAL : WITHOUT_PGLOGICAL),
  roleOf: baseRole,
  lag: (ctx) => ({ lagMs: heartbeatLagMs(ctx), lagBytes: pglogicalLagBytes(ctx.self, ctx.others), isCaughtUp: false }),
  lagSource: () => 'heartbeat',
  lagProblem: (raw, database) =>
    raw.isPglogicalMissing ? `${missingExtensionMessage('pglogical', database)} (or grant health.user access to schema pglogical)` : null,
  replicationHint: 'is health.database the database pglogical replicates? Then run meridian init-heartbeat (it adds the table to the replication set)',
  ...MULTI_MASTER,
  heartbeatSetup: {
    extension: 'pglogical',
    replicationSet: {
      memberSql: (rel, set) => `SELECT 1 FROM pglogical.tables WHERE relid = ${rel} AND set_name = ${set}`,
      addSql: (rel, set) => `SELECT pglogical.replication_set_add_table(${set}, ${rel}, false)`,
    },
    note: 'replicated by pglogical',
  },
};
