// The one place admin reaches the topology store: drain, undrain and readmission change node
// state only through TopologyStore.setAdminState, the same mutation function health uses.
// Meridian should expose the store as `m.topology`; until it does, the health monitor's store
// is used (it is the same object the monitor publishes through).

import type { Meridian } from '../server.js';
import type { TopologyStore } from '../topology/topology-store.js';

export type AdminTopology = Pick<TopologyStore, 'snapshot' | 'setAdminState' | 'onChange'>;

export function topologyOf(m: Meridian): AdminTopology {
  const own = (m as unknown as { topology?: AdminTopology }).topology;
  if (own !== undefined) return own;
  const viaHealth = (m.health as unknown as { store?: AdminTopology }).store;
  if (viaHealth !== undefined) return viaHealth;
  throw new Error('Meridian exposes no topology store (expected m.topology)');
}
