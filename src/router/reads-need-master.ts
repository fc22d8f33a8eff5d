// Which sessions' reads must go to a master because of the cluster kind: a hot standby refuses
// SERIALIZABLE, so on a cluster of hot standbys (physical) a session whose transactions default
// to SERIALIZABLE reads on a master. One small rule, so a per-kind flag can replace the kind test.

import type { ClusterKind } from '../config/types.js';

export function readsNeedMaster(isSerializable: boolean, kind: ClusterKind): boolean {
  return isSerializable && kind === 'physical';
}
