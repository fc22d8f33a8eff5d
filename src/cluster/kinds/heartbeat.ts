// Any replication Meridian cannot read directly (Bucardo, a custom tool): masters by
// pg_is_in_recovery() and read-only settings, every writable node a master, lag only from
// Meridian's heartbeat table, which the operator's replication tool must carry to every node.
// Pure plug-in.

import { heartbeatLagMs } from '../../health/node-lag.js';
import { baseRole } from '../../health/probe-result.js';
import type { ClusterKindPlugin } from '../kind-plugin.js';
import { MULTI_MASTER } from '../multi-master.js';

export const heartbeat: ClusterKindPlugin<'heartbeat'> = {
  name: 'heartbeat',
  usesHeartbeat: true,
  probeFields: () => [],
  roleOf: baseRole,
  lag: (ctx) => ({ lagMs: heartbeatLagMs(ctx), lagBytes: null, isCaughtUp: false }),
  lagSource: () => 'heartbeat',
  lagProblem: () => null,
  replicationHint: 'add it to your replication (e.g. the Bucardo herd)',
  ...MULTI_MASTER,
  heartbeatSetup: {
    extension: null,
    replicationSet: null,
    note: 'replicate it to every node with your replication tool (e.g. add it to the Bucardo herd)',
  },
};
