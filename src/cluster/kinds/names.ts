// The names of the cluster kinds, the one list the config schema, the settings table and the
// ClusterKind type derive from. A leaf: it imports nothing, so config/types.ts can take the type
// from here without an import cycle (the plug-ins themselves import health/ and topology/, which
// import config/types.ts). The registry (index.ts) must map every name to its plug-in; the
// compiler checks that.

export const CLUSTER_KIND_NAMES = ['physical', 'logical', 'pglogical', 'spock', 'heartbeat'] as const;

export type ClusterKind = (typeof CLUSTER_KIND_NAMES)[number];
