// Native logical replication (publications and subscriptions). A node with a subscription is a
// subscriber: a replica, even when writable; the publisher is the master. Lag from the
// provider's pg_stat_replication (pgoutput fills replay_lag), bytes from its WAL position. No
// read-your-writes watermark: after a write, reads follow the node that took it. Pure plug-in.

import { logicalLag } from '../../health/lag.js';
import { baseRole, type RawProbe } from '../../health/probe-result.js';
import { ifPrimary, msExpr, type ProbeField } from '../../health/probe-sql.js';
import type { NodeRole } from '../../topology/types.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { HOT_STANDBY_REFUSALS } from '../standby-refusals.js';

const FIELDS: readonly ProbeField[] = Object.freeze([
  // Disabled ones too: a node with a disabled subscription is still a subscriber (a replica
  // whose data stops moving), never a master; its lag is then unknown (no provider row).
  [
    'subscriptions',
    `(SELECT json_agg(subname) FROM pg_subscription
       WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
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
  replicationHint: 'add it to your replication (e.g. the Bucardo herd)',
  tracksWalMarks: false,
  seenWrites: () => null,
  splitBrain: null,
  isMultiMaster: false,
  defaultReadsOnMasters: 'always',
  standbyRefusals: HOT_STANDBY_REFUSALS,
  serializableReadsNeedMaster: false,
  heartbeatSetup: { extension: null, replicationSet: null, note: 'not needed for this cluster kind; created anyway' },
};
