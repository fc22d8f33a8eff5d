// The one place admin reaches the topology store: drain, undrain and readmission change node
// state only through TopologyStore.setAdminState, the same mutation function health uses
// (HealthMonitor.store is the store it publishes through).

import type { Meridian } from '../server.js';
import type { TopologyStore } from '../topology/topology-store.js';

export type AdminTopology = Pick<TopologyStore, 'snapshot' | 'setAdminState'>;

export function topologyOf(m: Meridian): AdminTopology {
  return m.health.store;
}
