// Builds the router's RoutePolicy from the validated config. Pure; the only place that maps
// config keys to routing knobs, so the router never reads MeridianConfig itself.

import type { MeridianConfig } from '../config/types.js';
import type { RoutePolicy } from './types.js';

export function routePolicyFromConfig(cfg: MeridianConfig): RoutePolicy {
  return Object.freeze({
    kind: cfg.cluster.kind,
    readsOnMasters: cfg.routing.readsOnMasters,
    maxReadLagMs: cfg.routing.maxReadLagMs,
    lagToleranceMs: cfg.routing.lagToleranceMs,
    proxyRegion: cfg.region,
    proxyLocation: cfg.location,
  });
}
