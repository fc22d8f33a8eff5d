// Any replication Meridian cannot read directly (Bucardo, a custom tool): masters by
// pg_is_in_recovery() and read-only settings, every writable node a master, lag only from
// Meridian's heartbeat table, which the operator's replication tool must carry to every node.
// Bucardo multi-master needs nothing more (verified against Bucardo 5.6: a multi-source sync
// reads each source in one serializable transaction per run and commits each target once, so a
// heartbeat row that arrived brings every write committed before it on its origin, and
// read-your-writes holds). Pure plug-in.

import { heartbeatLagMs } from '../../health/node-lag.js';
import { baseRole } from '../../health/probe-result.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { MULTI_MASTER } from '../multi-master.js';

/** What a Bucardo operator does so the table replicates (Bucardo 5 calls a sync's table set a relgroup). */
export const BUCARDO_HINT = "Bucardo: 'bucardo add table <table> relgroup=<your sync's relgroup>', then 'bucardo restart'";

export const heartbeat: ClusterKindPlugin<'heartbeat'> = {
  name: 'heartbeat',
  usesHeartbeat: true,
  probeFields: () => [],
  roleOf: baseRole,
  lag: (ctx) => ({ lagMs: heartbeatLagMs(ctx), lagBytes: null, isCaughtUp: false }),
  lagSource: () => 'heartbeat',
  lagProblem: () => null,
  replicationHint: `add it to your replication (${BUCARDO_HINT})`,
  ...MULTI_MASTER,
  heartbeatSetup: {
    extension: null,
    replicationSet: null,
    note: `replicate it to every node with your replication tool (${BUCARDO_HINT})`,
  },
};
