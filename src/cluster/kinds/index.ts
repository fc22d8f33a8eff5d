// The registry of cluster kinds: ClusterKind → plug-in. Adding a kind = its file in this folder,
// its name in names.ts and one line here (the compiler refuses a name without a plug-in).
// Callers (health monitor, prober, topology store, config resolution, init-heartbeat) look a
// kind up here; the plug-ins and the health/ helpers they use never import this file.

import type { ClusterKindPlugin } from '../kind-plugin.js';
import { heartbeat } from './heartbeat.js';
import { logical } from './logical.js';
import type { ClusterKind } from './names.js';
import { pglogical } from './pglogical.js';
import { physical } from './physical.js';
import { spock } from './spock.js';

export { CLUSTER_KIND_NAMES, type ClusterKind } from './names.js';

export const KIND_PLUGINS: { readonly [K in ClusterKind]: ClusterKindPlugin<K> } = Object.freeze({
  physical,
  logical,
  pglogical,
  spock,
  heartbeat,
});

/** The plug-in of a cluster kind. */
export function kindPlugin(kind: ClusterKind): ClusterKindPlugin {
  return KIND_PLUGINS[kind];
}
