// Builds the router's RoutePolicy from the validated config. Pure; the only place that maps
// config keys to routing knobs, so the router never reads MeridianConfig itself (nor the
// cluster kind's plug-in: what routing needs of it is copied into the policy here).

import { kindPlugin } from '../cluster/kinds/index.js';
import type { MeridianConfig } from '../config/types.js';
import type { RoutePolicy } from './types.js';

export function routePolicyFromConfig(cfg: MeridianConfig): RoutePolicy {
  return Object.freeze({
    kind: cfg.cluster.kind,
    isMultiMaster: kindPlugin(cfg.cluster.kind).isMultiMaster,
    readsOnMasters: cfg.routing.readsOnMasters,
    maxReadLagMs: cfg.routing.maxReadLagMs,
    lagToleranceMs: cfg.routing.lagToleranceMs,
    proxyRegion: cfg.region,
    proxyLocation: cfg.location,
  });
}
