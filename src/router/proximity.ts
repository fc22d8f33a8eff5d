// Proximity: how near a node is, in milliseconds of round trip. Pure; owns the distance model
// only (no eligibility, no choice). Must not do IO or read clocks.
//
// How a distance is derived (documented for operators in the README):
//  * Measured: a node's smoothed probe RTT (`NodeSnapshot.rttMs`) is its proximity to the proxy.
//  * Configured (used while a node's RTT is unknown, and always for a session that set
//    `meridian.region`): great-circle (haversine) distance converted to an RTT estimate at
//    KM_PER_RTT_MS (light in fibre covers ~200 km per ms one way, so ~100 km per ms of round trip).
//  * A point set stands for each end. A node is its `location`, or — when it has none — the
//    locations of the other nodes of its region. The proxy is `location`, or its region's node
//    locations. A client region is the locations of the nodes of that region (plus the proxy's
//    location when the proxy sits in that region). The distance of two point sets is their closest
//    pair.
//  * Same region and no two concrete locations to compare: distance 0.
//  * Nothing known: Infinity (sorted last; ties then break by the usual rules).
//  * A client region that names no configured region (no node in it and not the proxy's region)
//    cannot be placed, so that session falls back to measured RTT.

import type { Location } from '../config/types.js';
import type { NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import type { RoutePolicy } from './types.js';

/** Kilometres of great-circle distance per millisecond of estimated round trip. */
export const KM_PER_RTT_MS = 100;

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;

/** Great-circle distance in km between two locations (haversine formula). */
export function haversineKm(a: Location, b: Location): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLon = (b.lon - a.lon) * RAD;
  const s1 = Math.sin(dLat / 2);
  const s2 = Math.sin(dLon / 2);
  const h = s1 * s1 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * s2 * s2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Estimated round trip in ms for a great-circle distance. */
export function distanceToRttMs(km: number): number {
  return km / KM_PER_RTT_MS;
}

/** Locations standing for a region: its nodes' locations, plus extra points. */
function regionPoints(nodes: readonly NodeSnapshot[], region: string): Location[] {
  const out: Location[] = [];
  for (const n of nodes) if (n.region === region && n.location !== null) out.push(n.location);
  return out;
}

function closestKm(from: readonly Location[], to: readonly Location[]): number {
  let best = Infinity;
  for (const a of from)
    for (const b of to) {
      const d = haversineKm(a, b);
      if (d < best) best = d;
    }
  return best;
}

/**
 * Configured distance (as estimated RTT ms) from a place (a region and/or point set) to each node.
 * `fromRegion` null means the place has no region; `fromPoints` may be empty.
 */
export function configuredDistancesMs(nodes: readonly NodeSnapshot[], fromRegion: string | null, fromPoints: readonly Location[]): Float64Array {
  const out = new Float64Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as NodeSnapshot;
    // Two concrete points: the most precise answer, even inside one region.
    if (n.location !== null && fromPoints.length === 1 && fromRegion === null) {
      out[i] = distanceToRttMs(haversineKm(fromPoints[0] as Location, n.location));
      continue;
    }
    if (fromRegion !== null && n.region === fromRegion) {
      out[i] = 0;
      continue;
    }
    const to = n.location !== null ? [n.location] : regionPoints(nodes, n.region);
    out[i] = distanceToRttMs(closestKm(fromPoints, to));
  }
  return out;
}

/** Estimated proximity from the proxy to each node, used while a node's RTT is unknown. */
export function proxyDistancesMs(nodes: readonly NodeSnapshot[], policy: RoutePolicy): Float64Array {
  if (policy.proxyLocation !== null) {
    // A concrete proxy location: measure from it; a same-region node without location is 0.
    const out = configuredDistancesMs(nodes, null, [policy.proxyLocation]);
    if (policy.proxyRegion !== null) {
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i] as NodeSnapshot;
        if (n.location === null && n.region === policy.proxyRegion) out[i] = 0;
      }
    }
    return out;
  }
  if (policy.proxyRegion === null) return new Float64Array(nodes.length).fill(Infinity);
  return configuredDistancesMs(nodes, policy.proxyRegion, regionPoints(nodes, policy.proxyRegion));
}

/**
 * Configured proximity from a client region to each node, or null when the region cannot be
 * placed (the session then uses measured RTT).
 */
export function clientRegionDistancesMs(nodes: readonly NodeSnapshot[], policy: RoutePolicy, region: string): Float64Array | null {
  const points = regionPoints(nodes, region);
  if (policy.proxyRegion === region && policy.proxyLocation !== null) points.push(policy.proxyLocation);
  let hasNode = false;
  for (const n of nodes)
    if (n.region === region) {
      hasNode = true;
      break;
    }
  if (!hasNode && points.length === 0) return null;
  return configuredDistancesMs(nodes, region, points);
}

/** Precomputed, per snapshot and policy: proxy estimates and client-region tables. */
export interface ProximityTables {
  readonly policy: RoutePolicy;
  readonly proxyEstimateMs: Float64Array;
  readonly byClientRegion: Map<string, Float64Array | null>;
}

export function buildProximityTables(snap: TopologySnapshot, policy: RoutePolicy): ProximityTables {
  return { policy, proxyEstimateMs: proxyDistancesMs(snap.nodes, policy), byClientRegion: new Map() };
}

/** The client-region table for a session, cached in `tables`; null → use measured RTT. */
export function clientTable(tables: ProximityTables, snap: TopologySnapshot, region: string | null): Float64Array | null {
  if (region === null) return null;
  let t = tables.byClientRegion.get(region);
  if (t === undefined) {
    t = clientRegionDistancesMs(snap.nodes, tables.policy, region);
    tables.byClientRegion.set(region, t);
  }
  return t;
}

/**
 * Proximity of node i: configured client-region distance when the session has a placeable
 * region, else smoothed RTT, else the configured estimate from the proxy.
 */
export function proximityMs(snap: TopologySnapshot, i: number, tables: ProximityTables, client: Float64Array | null): number {
  if (client !== null) return client[i] as number;
  const rtt = (snap.nodes[i] as NodeSnapshot).rttMs;
  return rtt !== null ? rtt : (tables.proxyEstimateMs[i] as number);
}
