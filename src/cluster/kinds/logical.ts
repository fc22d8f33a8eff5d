// Native logical replication (publications and subscriptions). A node with a subscription is a
// subscriber: a replica, even when writable; the publisher is the master. Lag from the
// provider's pg_stat_replication (pgoutput fills replay_lag), bytes from its WAL position. No
// read-your-writes watermark: after a write, reads follow the node that took it. A subscriber
// may hold only some tables (partial publications): its probe lists the tables it has that are
// not replicated into it, and a read naming one of them goes elsewhere (router/pick-read.ts);
// a table it lacks altogether answers 42P01, and the read is sent again to the publisher. Pure
// plug-in.

import { logicalLag } from '../../health/lag.js';
import { baseRole, type RawProbe } from '../../health/probe-result.js';
import { ifPrimary, msExpr, type ProbeField } from '../../health/probe-sql.js';
import type { NodeRole } from '../../topology/types.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { HOT_STANDBY_REFUSALS } from '../standby-refusals.js';

/** A hot standby's refusals, and 42P01: a subscriber without a table the publisher has. */
const SUBSCRIBER_REFUSALS: ReadonlySet<string> = Object.freeze(new Set([...HOT_STANDBY_REFUSALS, '42P01']));

const FIELDS: readonly ProbeField[] = Object.freeze([
  // Disabled ones too: a node with a disabled subscription is still a subscriber (a replica
  // whose data stops moving), never a master; its lag is then unknown (no provider row).
  [
    'subscriptions',
    `(SELECT json_agg(subname) FROM pg_subscription
       WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
  ],
  // On a subscriber: its tables that are not replicated into it, or not fully yet (no
  // subscription, or its initial copy still running): a read naming one must go elsewhere.
  // Partitioned parents and views are left out (their partitions and tables are what is read).
  [
    'unreplicated',
    `CASE WHEN EXISTS (SELECT 1 FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
     THEN (SELECT coalesce(json_agg(n.nspname || '.' || c.relname), '[]'::json) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
         AND NOT EXISTS (SELECT 1 FROM pg_subscription_rel sr WHERE sr.srrelid = c.oid AND sr.srsubstate IN ('r', 's'))) END`,
  ],
  [
    'replication',
    ifPrimary(`(SELECT json_agg(json_build_array(application_name, ${msExpr('replay_lag')},
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8)) FROM pg_stat_replication)`),
  ],
] as const);

function roleOf(p: RawProbe): NodeRole {
  if (p.subscriptions !== null && p.subscriptions.length > 0) return 'replica';
  return baseRole(p);
}

export const logical: ClusterKindPlugin<'logical'> = {
  name: 'logical',
  usesHeartbeat: false,
  probeFields: () => FIELDS,
  roleOf,
  lag: (ctx) => ({ ...logicalLag(ctx.self, [ctx.self, ...ctx.others]), isCaughtUp: false }),
  lagSource: () => 'pg_stat_replication',
  lagProblem: () => null,
  replicationHint: "add it to your replication (e.g. the Bucardo sync's relgroup)",
  tracksWalMarks: false,
  seenWrites: () => null,
  splitBrain: null,
  isMultiMaster: false,
  defaultReadsOnMasters: 'always',
  standbyRefusals: SUBSCRIBER_REFUSALS,
  serializableReadsNeedMaster: false,
  heartbeatSetup: { extension: null, replicationSet: null, note: 'not needed for this cluster kind; created anyway' },
};
