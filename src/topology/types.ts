// The immutable topology snapshot the router reads once per request. Types only; building and
// replacing snapshots is topology/topology-store.ts (TopologyStore), filling them is health/.

import type { Location } from '../config/types.js';

export type NodeRole = 'master' | 'replica' | 'unknown';

/**
 * Operator state of a node, orthogonal to up/down:
 *  active      takes new work
 *  draining    no new transactions/pins/sessions; running ones finish
 *  drained     drain finished; nothing runs there
 *  catching-up undrained, waiting until up and lag ≤ routing.readmitMaxLagMs
 */
export type AdminState = 'active' | 'draining' | 'drained' | 'catching-up';

export interface NodeSnapshot {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly location: Location | null;
  readonly priority: number;
  readonly isUp: boolean;
  readonly role: NodeRole;
  readonly rttMs: number | null; // smoothed probe RTT; null until measured
  readonly lagMs: number | null; // null = unknown → never read-eligible
  readonly lagBytes: number | null;
  /**
   * Read-your-writes: master name → Meridian-clock ms up to which that master's acknowledged
   * writes are visible on this node (health/seen-writes.ts); null/absent = nothing known.
   */
  readonly seenWrites?: ReadonlyMap<string, number> | null;
  /**
   * A standby its primary waits for before acknowledging a commit (synchronous_commit =
   * remote_apply, sync_state = sync): the primary's name; it has every write the primary
   * acknowledged. Null/absent: none known.
   */
  readonly syncAppliedFrom?: string | null;
  /** A logical subscriber's tables that are not (fully) replicated into it ("schema.name"); null/absent: none. */
  readonly unreplicated?: ReadonlySet<string> | null;
  readonly state: AdminState;
  readonly isSplitBrain: boolean; // claims master while the preferred master is another (physical)
  readonly lastError: string | null;
  readonly changedAtMs: number; // when isUp/role/state last changed
  readonly failedProbes: number; // consecutive failed probes (0 while passing)
  readonly lastProbeAtMs: number | null; // when the last probe finished; null = never probed
  /** What Patroni's GET /cluster says of the node ("replica streaming, lag 0 B"); null/absent: not a Patroni member or no Patroni. */
  readonly patroni?: string | null;
}

export interface TopologySnapshot {
  readonly version: number; // strictly increasing
  readonly nodes: readonly NodeSnapshot[]; // config order
  readonly byName: ReadonlyMap<string, NodeSnapshot>;
  readonly takenAtMs: number;
  /**
   * Why new writes are held (a switchover under way: SWITCHOVER TO, or one Patroni reports), or
   * null. While set, a write is refused with 'writes-held', which routing.write_wait waits out.
   */
  readonly writesHeld: string | null;
}
