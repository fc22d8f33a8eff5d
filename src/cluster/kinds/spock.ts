// pgEdge Spock (active-active): every writable node is a master unless spock.readonly fences it.
// Lag from spock.lag_tracker (per origin → this receiver, ms and bytes), the heartbeat table as
// fallback when the view says nothing; init-heartbeat adds the table to the 'default' repset.
// Pure plug-in.

import { spockLag } from '../../health/lag.js';
import { heartbeatLagMs } from '../../health/node-lag.js';
import { baseRole } from '../../health/probe-result.js';
import { msExpr, type ProbeField } from '../../health/probe-sql.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { MULTI_MASTER } from '../multi-master.js';

const READONLY: ProbeField = ['spock_readonly', `current_setting('spock.readonly', true)`];
const WITH_LAG_TRACKER: readonly ProbeField[] = Object.freeze([
  READONLY,
  [
    'spock_lag',
    `(SELECT json_agg(json_build_array(origin_name, ${msExpr('replication_lag')}, replication_lag_bytes::float8))
       FROM spock.lag_tracker WHERE receiver_name = (SELECT n.node_name FROM spock.node n
       JOIN spock.local_node l ON l.node_id = n.node_id))`,
  ],
]);
const WITHOUT_LAG_TRACKER: readonly ProbeField[] = Object.freeze([READONLY]);

export const spock: ClusterKindPlugin<'spock'> = {
  name: 'spock',
  usesHeartbeat: true,
  probeFields: (caps) => (caps.hasSpockLagTracker ? WITH_LAG_TRACKER : WITHOUT_LAG_TRACKER),
  roleOf: baseRole, // probe-result.ts folds spock.readonly into isReadOnly
  lag: (ctx) => {
    const s = spockLag(ctx.self);
    return s !== null ? { ...s, isCaughtUp: false } : { lagMs: heartbeatLagMs(ctx), lagBytes: null, isCaughtUp: false };
  },
  lagSource: (raw) => (raw.spockLag !== null ? 'spock.lag_tracker' : 'heartbeat'),
  lagProblem: () => null,
  replicationHint: 'is health.database the database spock replicates? Then run meridian init-heartbeat',
  ...MULTI_MASTER,
  heartbeatSetup: {
    extension: 'spock',
    replicationSet: {
      memberSql: (rel, set) => `SELECT 1 FROM spock.tables WHERE relid = ${rel} AND set_name = ${set}`,
      addSql: (rel, set) => `SELECT spock.repset_add_table(${set}, ${rel}, false)`,
    },
    note: 'replicated by spock',
  },
};
