// Which sessions' reads must go to a master because of the cluster kind: a hot standby refuses
// SERIALIZABLE, so on a cluster of hot standbys (physical) a session whose transactions default
// to SERIALIZABLE reads on a master. One small rule, so a per-kind flag can replace the kind test.

import type { ClusterKind } from '../config/types.js';

/** On a cluster of this kind, a SERIALIZABLE session's reads go to a master. */
export function serializableReadsNeedMaster(kind: ClusterKind): boolean {
  return kind === 'physical';
}
