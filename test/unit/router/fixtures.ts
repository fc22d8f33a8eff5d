// Literal snapshots for router tests: every node is up, active, master, lag 0, rtt 1 ms unless a
// test says otherwise.
import type { NodeSnapshot, TopologySnapshot } from '../../../src/topology/types.js';
import { buildSnapshot } from '../../../src/topology/snapshot.js';
import type { ActiveBackends, RoutePolicy, RouteRequest, SessionRouteContext } from '../../../src/router/types.js';
import type { RouteHint } from '../../../src/classify/types.js';
import { kindPlugin } from '../../../src/cluster/kinds/index.js';

export function node(name: string, over: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    name,
    host: '127.0.0.1',
    port: 5432,
    region: name,
    location: null,
    priority: 0,
    isUp: true,
    role: 'master',
    rttMs: 1,
    lagMs: 0,
    lagBytes: 0,
    state: 'active',
    isSplitBrain: false,
    lastError: null,
    changedAtMs: 0,
    failedProbes: 0,
    lastProbeAtMs: 0,
    ...over,
  };
}

let version = 0;
export function snap(...nodes: NodeSnapshot[]): TopologySnapshot {
  return buildSnapshot(nodes, ++version, 0);
}

/** isMultiMaster follows the kind's plug-in, as routePolicyFromConfig sets it. */
export function policy(over: Partial<RoutePolicy> = {}): RoutePolicy {
  const kind = over.kind ?? 'pglogical';
  return {
    kind,
    isMultiMaster: kindPlugin(kind).isMultiMaster,
    readsOnMasters: 'always',
    maxReadLagMs: 5000,
    lagToleranceMs: 100,
    proxyRegion: null,
    proxyLocation: null,
    ...over,
  };
}

export function ctx(over: Partial<SessionRouteContext> = {}): SessionRouteContext {
  return { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null, ...over };
}

export const WRITE: RouteRequest = { intent: 'write', hint: null };
export const READ: RouteRequest = { intent: 'read', hint: null };
export function req(intent: 'read' | 'write', hint: RouteHint | null): RouteRequest {
  return { intent, hint };
}

export const idle: ActiveBackends = () => 0;
export function busy(map: Record<string, number>): ActiveBackends {
  return (n) => map[n] ?? 0;
}

/** Real places, for distance tests. */
export const PLACES = {
  dublin: { lat: 53.3498, lon: -6.2603 },
  london: { lat: 51.5072, lon: -0.1276 },
  frankfurt: { lat: 50.1109, lon: 8.6821 },
  virginia: { lat: 38.9586, lon: -77.357 },
  tokyo: { lat: 35.6762, lon: 139.6503 },
} as const;
