// TopologyStore: owns the current immutable TopologySnapshot and is the ONLY place it changes.
// Health (probe results, passive eviction) and admin (drain/undrain, hot reload) both call these
// mutation functions; each replaces the snapshot whole (version + 1), derives split-brain flags
// (by the cluster kind's rule, src/cluster/kinds/), logs every state change once and tells
// listeners. It does no IO and no probing.

import type { SplitBrainRule } from '../cluster/kind-plugin.js';
import { kindPlugin } from '../cluster/kinds/index.js';
import type { ClusterKind, NodeConfig } from '../config/types.js';
import { silentLogger, type Logger } from '../logger.js';
import { logTopologyEvent, type TopologyEvent, type TopologyHooks } from './events.js';
import { buildSnapshot, initialNode } from './snapshot.js';
import type { AdminState, NodeRole, NodeSnapshot, TopologySnapshot } from './types.js';

/** What one probe learned about a node. Omitted fields keep their value. */
export interface NodeHealthUpdate {
  readonly node: string;
  readonly isUp?: boolean;
  readonly role?: NodeRole;
  readonly rttMs?: number | null;
  readonly lagMs?: number | null;
  readonly lagBytes?: number | null;
  /** Read-your-writes watermarks (undefined: unchanged). */
  readonly seenWrites?: ReadonlyMap<string, number> | null;
  /** The primary that waits for this standby to apply its commits (undefined: unchanged). */
  readonly syncAppliedFrom?: string | null;
  /** A subscriber's tables not replicated into it (undefined: unchanged). */
  readonly unreplicated?: ReadonlySet<string> | null;
  readonly failedProbes?: number;
  readonly lastError?: string | null;
  readonly lastProbeAtMs?: number | null;
  /** Why isUp changed (logged with "node up" / "node down"). */
  readonly reason?: string;
  /** What Patroni says of the node (undefined: unchanged). */
  readonly patroni?: string | null;
}

/** Who holds writes: an admin SWITCHOVER TO, or a switchover seen in Patroni's view. */
export type WriteHoldSource = 'switchover' | 'patroni';

export type TopologyListener = (snap: TopologySnapshot, prev: TopologySnapshot) => void;

export interface TopologyStoreOptions {
  readonly kind: ClusterKind;
  readonly logger?: Logger;
  readonly hooks?: TopologyHooks;
  readonly now?: () => number;
}

export class TopologyStore {
  private current: TopologySnapshot;
  /** The kind's split-brain rule; null: several masters are normal. */
  private readonly splitBrain: SplitBrainRule | null;
  private readonly log: Logger;
  private readonly hooks: TopologyHooks | null;
  private readonly now: () => number;
  private readonly listeners = new Set<TopologyListener>();
  private readonly waiters = new Set<(snap: TopologySnapshot) => void>();
  /** The master that held writes last (kinds with a split-brain rule); wins split-brain ties on equal priority. */
  private incumbent: string | null = null;
  private masters: readonly string[] = [];
  /** True once every node has been probed: master changes before that are start-up, not failover. */
  private wasSettled = false;
  /** Write holds by source; the snapshot's writesHeld joins their reasons. */
  private readonly holds = new Map<WriteHoldSource, string>();
  private heldSinceMs = 0;

  constructor(nodes: readonly NodeConfig[], opts: TopologyStoreOptions) {
    this.splitBrain = kindPlugin(opts.kind).splitBrain;
    this.log = opts.logger ?? silentLogger;
    this.hooks = opts.hooks ?? null;
    this.now = opts.now ?? Date.now;
    const t = this.now();
    this.current = buildSnapshot(
      nodes.map((n) => initialNode(n, t)),
      1,
      t,
    );
  }

  get snapshot(): TopologySnapshot {
    return this.current;
  }

  /** Apply one probe result. */
  applyProbe(update: NodeHealthUpdate): TopologySnapshot {
    return this.applyProbes([update]);
  }

  /**
   * Apply several nodes' probe results as one new snapshot (lag of one node depends on others).
   * `splitBrain`: the split-brain losers as another store judged them (a worker of several follows
   * its primary, which remembers the incumbent master a worker started later does not know); absent:
   * derived here by the kind's rule.
   */
  applyProbes(updates: readonly NodeHealthUpdate[], splitBrain?: ReadonlySet<string>): TopologySnapshot {
    const events: TopologyEvent[] = [];
    const t = this.now();
    const byName = new Map(updates.map((u) => [u.node, u]));
    const nodes = this.current.nodes.map((n) => {
      const u = byName.get(n.name);
      return u === undefined ? n : this.merge(n, u, t, events);
    });
    return this.publish(nodes, events, t, splitBrain);
  }

  /** Passive health: evict a node at once (connection refused on live traffic, 57P01…). */
  evict(name: string, reason: string): boolean {
    const n = this.current.byName.get(name);
    if (n === undefined || !n.isUp) return false;
    const t = this.now();
    const next: NodeSnapshot = { ...n, isUp: false, lastError: `evicted: ${reason}`, changedAtMs: t };
    this.publish(this.replace(next), [{ type: 'node-evicted', node: name, reason }], t);
    return true;
  }

  /** Operator state: drain / drained / undrain (catching-up) / readmit (active). */
  setAdminState(name: string, state: AdminState, reason: string): boolean {
    const n = this.current.byName.get(name);
    if (n === undefined || n.state === state) return false;
    const t = this.now();
    const next: NodeSnapshot = { ...n, state, changedAtMs: t };
    this.publish(this.replace(next), [{ type: 'state-changed', node: name, from: n.state, to: state, reason }], t);
    return true;
  }

  /**
   * Holds new writes (reason) or releases this source's hold (null). Writes are held while any
   * source holds them. Returns true when the snapshot changed.
   */
  holdWrites(source: WriteHoldSource, reason: string | null): boolean {
    const before = this.current.writesHeld;
    if (reason === null) this.holds.delete(source);
    else this.holds.set(source, reason);
    const after = this.holds.size === 0 ? null : [...this.holds.values()].join('; ');
    if (after === before) return false;
    const t = this.now();
    const events: TopologyEvent[] = [];
    if (before === null) this.heldSinceMs = t;
    if (after !== null) events.push({ type: 'writes-held', reason: after });
    if (after === null) events.push({ type: 'writes-released', heldMs: t - this.heldSinceMs });
    this.publish([...this.current.nodes], events, t);
    return true;
  }

  /** Hot reload: add a node (down, unknown role, until probed). */
  addNode(cfg: NodeConfig): boolean {
    if (this.current.byName.has(cfg.name)) return false;
    const t = this.now();
    this.publish([...this.current.nodes, initialNode(cfg, t)], [{ type: 'node-added', node: cfg.name }], t);
    return true;
  }

  /** Hot reload: remove a node (drain it first; see admin). */
  removeNode(name: string, reason: string): boolean {
    if (!this.current.byName.has(name)) return false;
    const t = this.now();
    this.publish(
      this.current.nodes.filter((n) => n.name !== name),
      [{ type: 'node-removed', node: name, reason }],
      t,
    );
    return true;
  }

  /**
   * Hot reload: make the node list match `configs` (config order). New nodes are added, missing
   * ones removed, changed address = removed + added (its health is unknown), changed
   * region/location/priority kept with their health. Returns the names added and removed.
   */
  setNodes(configs: readonly NodeConfig[]): { added: string[]; removed: string[] } {
    const t = this.now();
    const events: TopologyEvent[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    const wanted = new Set(configs.map((c) => c.name));
    for (const n of this.current.nodes) {
      if (!wanted.has(n.name)) {
        removed.push(n.name);
        events.push({ type: 'node-removed', node: n.name, reason: 'removed from config' });
      }
    }
    const nodes = configs.map((c) => {
      const old = this.current.byName.get(c.name);
      if (old !== undefined && old.host === c.host && old.port === c.port) {
        return { ...old, region: c.region, location: c.location, priority: c.priority };
      }
      if (old !== undefined) {
        removed.push(c.name);
        events.push({ type: 'node-removed', node: c.name, reason: 'address changed' });
      }
      added.push(c.name);
      events.push({ type: 'node-added', node: c.name });
      return initialNode(c, t);
    });
    this.publish(nodes, events, t);
    return { added, removed };
  }

  /** Listen to every new snapshot; returns the unsubscribe function. */
  onChange(listener: TopologyListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The next snapshot, or null after timeoutMs (used by routing.write_wait). */
  waitForChange(timeoutMs: number): Promise<TopologySnapshot | null> {
    return new Promise((resolve) => {
      const done = (snap: TopologySnapshot | null): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(snap);
      };
      const timer = setTimeout(() => done(null), Math.max(0, timeoutMs));
      this.waiters.add(done);
    });
  }

  private replace(next: NodeSnapshot): NodeSnapshot[] {
    return this.current.nodes.map((n) => (n.name === next.name ? next : n));
  }

  private merge(n: NodeSnapshot, u: NodeHealthUpdate, t: number, events: TopologyEvent[]): NodeSnapshot {
    const isUp = u.isUp ?? n.isUp;
    const role = u.role ?? n.role;
    if (isUp !== n.isUp) {
      events.push(
        isUp
          ? { type: 'node-up', node: n.name, reason: u.reason ?? 'probes passed' }
          : { type: 'node-down', node: n.name, reason: u.reason ?? u.lastError ?? 'probes failed' },
      );
    }
    if (role !== n.role && role !== 'unknown') events.push({ type: 'role-changed', node: n.name, from: n.role, to: role });
    return {
      ...n,
      isUp,
      role,
      rttMs: u.rttMs !== undefined ? u.rttMs : n.rttMs,
      lagMs: u.lagMs !== undefined ? u.lagMs : n.lagMs,
      lagBytes: u.lagBytes !== undefined ? u.lagBytes : n.lagBytes,
      seenWrites: u.seenWrites !== undefined ? u.seenWrites : n.seenWrites,
      syncAppliedFrom: u.syncAppliedFrom !== undefined ? u.syncAppliedFrom : n.syncAppliedFrom,
      unreplicated: u.unreplicated !== undefined ? u.unreplicated : n.unreplicated,
      failedProbes: u.failedProbes ?? n.failedProbes,
      lastError: u.lastError !== undefined ? u.lastError : n.lastError,
      lastProbeAtMs: u.lastProbeAtMs !== undefined ? u.lastProbeAtMs : n.lastProbeAtMs,
      patroni: u.patroni !== undefined ? u.patroni : (n.patroni ?? null),
      changedAtMs: isUp !== n.isUp || role !== n.role ? t : n.changedAtMs,
    };
  }

  /** Derive split-brain flags (kinds with one master), detect master changes, publish, notify. */
  private publish(nodes: NodeSnapshot[], events: TopologyEvent[], t: number, judged?: ReadonlySet<string>): TopologySnapshot {
    const derived = this.splitBrain !== null ? this.deriveSplitBrain(this.splitBrain, nodes, events, judged) : nodes;
    this.trackMasters(derived, events);
    const prev = this.current;
    this.current = buildSnapshot(derived, prev.version + 1, t, this.holds.size === 0 ? null : [...this.holds.values()].join('; '));
    for (const ev of events) {
      logTopologyEvent(this.log, ev);
      if (this.hooks !== null) {
        try {
          this.hooks.onEvent(ev);
        } catch (err) {
          this.log.error({ err }, 'topology hook failed');
        }
      }
    }
    for (const l of this.listeners) {
      try {
        l(this.current, prev);
      } catch (err) {
        this.log.error({ err }, 'topology listener failed');
      }
    }
    for (const w of [...this.waiters]) w(this.current);
    return this.current;
  }

  private deriveSplitBrain(rule: SplitBrainRule, nodes: NodeSnapshot[], events: TopologyEvent[], judged?: ReadonlySet<string>): NodeSnapshot[] {
    const claimants = nodes.filter((n) => n.isUp && n.role === 'master');
    // Judged elsewhere: the preferred master is the claimant not flagged (and becomes the incumbent here too).
    const preferred =
      judged === undefined
        ? rule.preferred(nodes, this.incumbent)
        : claimants.some((n) => judged.has(n.name))
          ? (claimants.find((n) => !judged.has(n.name))?.name ?? null)
          : null;
    if (preferred !== null) this.incumbent = preferred;
    else {
      const sole = nodes.find((n) => n.isUp && n.role === 'master');
      if (sole !== undefined) this.incumbent = sole.name;
    }
    return nodes.map((n) => {
      const isSplitBrain = preferred !== null && n.isUp && n.role === 'master' && n.name !== preferred;
      if (isSplitBrain === n.isSplitBrain) return n;
      events.push(isSplitBrain ? { type: 'split-brain', node: n.name, preferred: preferred as string } : { type: 'split-brain-resolved', node: n.name });
      return { ...n, isSplitBrain };
    });
  }

  /** "master changed" once every node has been probed, whenever the set of usable masters changes. */
  private trackMasters(nodes: readonly NodeSnapshot[], events: TopologyEvent[]): void {
    const after = nodes.filter((n) => n.isUp && n.role === 'master' && !n.isSplitBrain).map((n) => n.name);
    const before = this.masters;
    this.masters = after;
    const settled = nodes.every((n) => n.lastProbeAtMs !== null) && before.length + after.length > 0;
    const same = before.length === after.length && before.every((m, i) => after[i] === m);
    if (!same && settled && this.wasSettled) events.push({ type: 'master-changed', before, after });
    this.wasSettled = settled || this.wasSettled;
  }
}
