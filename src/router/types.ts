// Inputs and outputs of the pure routing policy. Types only.

import type { ClusterKind, Location, ReadsOnMasters } from '../config/types.js';
import type { RouteHint } from '../classify/types.js';

export type RouteIntent = 'read' | 'write';

export interface RoutePolicy {
  readonly kind: ClusterKind;
  /** The kind's plug-in says every writable node is a master (heartbeat lag): see isLagUnknownEverywhere. */
  readonly isMultiMaster: boolean;
  readonly readsOnMasters: ReadsOnMasters;
  readonly maxReadLagMs: number;
  readonly lagToleranceMs: number;
  readonly proxyRegion: string | null;
  readonly proxyLocation: Location | null;
  /** Configured region-to-region distances are derived from node locations; see proximity.ts. */
  /**
   * Nodes whose proximity is within this many ms of the nearest count as equally near, so probe
   * noise (0.3 vs 0.4 ms) does not decide; writes then prefer higher priority, then config order,
   * reads the least busy node. Default DEFAULT_PROXIMITY_TOLERANCE_MS (1 ms).
   */
  readonly proximityToleranceMs?: number;
}

export interface SessionRouteContext {
  /**
   * Residency: the regions every matching rule allows (possibly none), or null when no rule
   * matched (whole cluster allowed).
   */
  readonly allowedRegions: ReadonlySet<string> | null;
  /** The matching rules' names joined with "+", or null. */
  readonly residencyRule: string | null;
  /** Client region from startup option meridian.region: proximity by configured distance, not RTT. */
  readonly clientRegion: string | null;
  /** Session-level hint from SET meridian.route or startup -c meridian.route. */
  readonly sessionHint: RouteHint | null;
}

export interface RouteRequest {
  readonly intent: RouteIntent;
  readonly hint: RouteHint | null; // statement hint; wins over sessionHint
  /** Read-your-writes: the session's last write, for an unhinted read (absent/null: none). */
  readonly after?: WriteMark | null;
  /**
   * A read's relations, as every qualified name each may resolve to (classify/relations.ts): a
   * node that has one of them without replicating it (NodeSnapshot.unreplicated) is skipped.
   * Absent/null: not known, no node is skipped for it.
   */
  readonly relations?: readonly string[] | null;
}

/** A session's last write: the node that took it and when it was acknowledged (Meridian clock, ms). */
export interface WriteMark {
  readonly node: string;
  readonly atMs: number;
  /**
   * From a causal token the client presented (causal-token.ts): a read goes only to a node known to
   * have the write, or fails ('causal'); a session's own mark lapses when its node cannot serve.
   */
  readonly isCausal?: boolean;
  /**
   * The write waited for the primary's synchronous standbys where it waits for them to apply
   * (synchronous_commit = remote_apply on the server, not lowered by the session): such a
   * standby (NodeSnapshot.syncAppliedFrom) has it at once.
   */
  readonly isSyncApplied?: boolean;
}

/** Busy-ness of nodes for read tie-breaks: active backends per node name. */
export type ActiveBackends = (node: string) => number;

/**
 * The last read tie-break: when the caller last routed a request to the node, as a sequence number
 * (larger = more recent, 0 = never). The caller keeps it (route-recency.ts); the router only reads it.
 */
export type LastRouted = (node: string) => number;

export type RouteRefusal =
  | 'no-master' // no healthy master allowed for the session (→ wait write_wait, then 57P03)
  | 'no-read-node' // no eligible node for a read
  | 'node-down' // hint node=NAME names a down/drained node
  | 'unknown-node' // hint node=NAME names no node
  | 'residency' // nodes exist but the session's residency rules forbid every one of them
  | 'causal' // a causal token's write: no node known to have it can serve (→ wait routing.causal_wait, then 57M02)
  | 'writes-held'; // a switchover is under way: new writes wait (write_wait) for the new primary

export type RouteDecision =
  { readonly ok: true; readonly node: string; readonly reason: string } | { readonly ok: false; readonly refusal: RouteRefusal; readonly reason: string };
