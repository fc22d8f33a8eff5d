// Which sessions' reads must go to a master because of the cluster kind: a hot standby refuses
// SERIALIZABLE, so on a cluster of hot standbys a session whose transactions default to
// SERIALIZABLE reads on a master. Each kind says whether that applies (its plug-in's
// serializableReadsNeedMaster, src/cluster/kinds/).

import { kindPlugin } from '../cluster/kinds/index.js';
import type { ClusterKind } from '../config/types.js';

/** On a cluster of this kind, a SERIALIZABLE session's reads go to a master. */
export function serializableReadsNeedMaster(kind: ClusterKind): boolean {
  return kindPlugin(kind).serializableReadsNeedMaster;
}
