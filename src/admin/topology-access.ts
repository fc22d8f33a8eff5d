// The one place admin reaches the topology store: drain, undrain and readmission change node
// state only through TopologyStore.setAdminState, the same mutation function health uses.

import type { Meridian } from '../server.js';
import type { TopologyStore } from '../topology/topology-store.js';

export type AdminTopology = Pick<TopologyStore, 'snapshot' | 'setAdminState' | 'onChange'>;

export function topologyOf(m: Meridian): AdminTopology {
  return m.health.store;
}
