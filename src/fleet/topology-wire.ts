// The topology as it travels from the primary (the only process that probes) to the workers: the
// probed facts of every node, plain data for IPC. A worker folds them into its own TopologyStore
// with the store's own probe mutation, so routing, events and listeners work as with local probes;
// the split-brain judgement is the primary's (it remembers which master held writes; a worker
// started later does not, and on its own could prefer the other claimant). What is not probed
// (drain state) stays each worker's own and is set by the admin fan-out. After
// each fold, a catching-up node that is up with little enough lag is readmitted, as the health
// monitor does after a probe in a single process.

import type { LagStatus } from '../health/lag-problem.js';
import type { NodeHealthUpdate, TopologyStore } from '../topology/topology-store.js';
import type { NodeRole, TopologySnapshot } from '../topology/types.js';

export interface WireNode {
  readonly name: string;
  readonly isUp: boolean;
  readonly role: NodeRole;
  readonly rttMs: number | null;
  readonly lagMs: number | null;
  readonly lagBytes: number | null;
  readonly seenWrites: readonly (readonly [string, number])[] | null;
  readonly syncAppliedFrom: string | null;
  readonly unreplicated: readonly string[] | null;
  readonly failedProbes: number;
  readonly lastError: string | null;
  readonly lastProbeAtMs: number | null;
  readonly lagStatus: LagStatus | null;
  /** The primary judged it a split-brain loser (it claims master while another is preferred). */
  readonly isSplitBrain: boolean;
  /** What Patroni says of it (cluster.patroni), or null. */
  readonly patroni: string | null;
}

export interface WireTopology {
  /** The primary's snapshot version (workers' stores count their own versions). */
  readonly version: number;
  readonly nodes: readonly WireNode[];
  /** Why writes are held (a switchover under way), or null. */
  readonly writesHeld: string | null;
}

export function topologyToWire(snap: TopologySnapshot, lagStatusOf: (node: string) => LagStatus | null): WireTopology {
  return {
    version: snap.version,
    nodes: snap.nodes.map((n) => ({
      name: n.name,
      isUp: n.isUp,
      role: n.role,
      rttMs: n.rttMs,
      lagMs: n.lagMs,
      lagBytes: n.lagBytes,
      seenWrites: n.seenWrites == null ? null : [...n.seenWrites],
      syncAppliedFrom: n.syncAppliedFrom ?? null,
      unreplicated: n.unreplicated == null ? null : [...n.unreplicated],
      failedProbes: n.failedProbes,
      lastError: n.lastError,
      lastProbeAtMs: n.lastProbeAtMs,
      lagStatus: lagStatusOf(n.name),
      isSplitBrain: n.isSplitBrain,
      patroni: n.patroni ?? null,
    })),
    writesHeld: snap.writesHeld,
  };
}

/** A worker's view of the primary's topology: folds wire snapshots into the worker's store. */
export class TopologyFollower {
  private readonly lagStatus = new Map<string, LagStatus | null>();
  /** The primary's last version applied (older or repeated ones are skipped). */
  version = 0;

  constructor(
    private readonly store: Pick<TopologyStore, 'snapshot' | 'applyProbes' | 'setAdminState' | 'holdWrites'>,
    private readonly readmitMaxLagMs: () => number,
  ) {}

  apply(wire: WireTopology): void {
    if (wire.version <= this.version) return;
    this.version = wire.version;
    const known = this.store.snapshot.byName;
    const updates: NodeHealthUpdate[] = [];
    for (const n of wire.nodes) {
      this.lagStatus.set(n.name, n.lagStatus);
      if (!known.has(n.name)) continue; // not (yet) in this worker's config: its reload adds it
      updates.push({
        node: n.name,
        isUp: n.isUp,
        role: n.role,
        rttMs: n.rttMs,
        lagMs: n.lagMs,
        lagBytes: n.lagBytes,
        seenWrites: n.seenWrites === null ? null : new Map(n.seenWrites),
        syncAppliedFrom: n.syncAppliedFrom ?? null,
        unreplicated: n.unreplicated == null ? null : new Set(n.unreplicated),
        failedProbes: n.failedProbes,
        lastError: n.lastError,
        lastProbeAtMs: n.lastProbeAtMs,
        patroni: n.patroni ?? null,
        reason: n.isUp ? 'probes passed (primary)' : (n.lastError ?? 'probes failed (primary)'),
      });
    }
    // The primary's hold, whichever source set it there (an older primary sends none: nothing held).
    this.store.holdWrites('patroni', wire.writesHeld ?? null);
    if (updates.length === 0) return;
    const splitBrain = new Set(wire.nodes.filter((n) => n.isSplitBrain === true).map((n) => n.name));
    const snap = this.store.applyProbes(updates, splitBrain);
    const max = this.readmitMaxLagMs();
    for (const n of snap.nodes) {
      if (n.state === 'catching-up' && n.isUp && n.lagMs !== null && n.lagMs <= max) {
        this.store.setAdminState(n.name, 'active', `caught up: lag ${Math.round(n.lagMs)} ms ≤ readmit_max_lag ${max} ms`);
      }
    }
  }

  lagStatusOf(node: string): LagStatus | null {
    return this.lagStatus.get(node) ?? null;
  }
}
