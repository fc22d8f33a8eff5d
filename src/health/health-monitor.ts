// HealthMonitor: probes every node on its own connection, applies rise/fall, smooths RTT,
// derives role and lag, and publishes through the TopologyStore (the only writer of snapshots).
// Also: passive eviction from live traffic (reportFailure), immediate probes (probeNow), and the
// catching-up → active readmission after UNDRAIN. Drain itself is driven by admin. Says once
// per change why a node's lag cannot be measured (lag-problem.ts) and when reads follow writes
// because lag is unknown on every node of a multi-master cluster.

import { backendTls } from '../backend/backend-tls.js';
import type { ClusterKindPlugin } from '../cluster/kind-plugin.js';
import { kindPlugin } from '../cluster/kinds/index.js';
import type { HealthConfig, MeridianConfig, NodeConfig } from '../config/types.js';
import { silentLogger, type Logger } from '../logger.js';
import type { TopologyEvent } from '../topology/events.js';
import { TopologyStore, type NodeHealthUpdate } from '../topology/topology-store.js';
import type { NodeRole, NodeSnapshot, TopologySnapshot } from '../topology/types.js';
import { isLagUnknownEverywhere } from '../router/pick-read.js';
import { lagStatus, NOT_ARRIVING_INTERVALS, type LagStatus } from './lag-problem.js';
import type { LagContext, LagPeer } from './node-lag.js';
import type { RawProbe } from './probe-result.js';
import { describeProbeError, pgProbeConnector, type ProbeChannel, type ProbeConnector } from './prober.js';
import { NO_WRITER, recordHeartbeatWrite, type HeartbeatWriter } from './heartbeat-lag.js';
import { countProbe, evictState, filterRtt, isUp, NEW_NODE, nextProbeDelayMs, type NodeHealthState } from './thresholds.js';
import { realClock, type Clock, type HealthCounters, type HealthMonitorExtras } from './monitor-types.js';

export { realClock, type Clock, type HealthCounters, type HealthMonitorExtras };
import type { LagValue } from './lag.js';
import type { PatroniMember } from '../patroni/cluster-view.js';
import { combineRole, describeMember, patroniRole } from '../patroni/patroni-policy.js';
import { PatroniSource } from '../patroni/patroni-source.js';
import { recordLsnMark, type LsnMark, type MasterMarks, type SeenWrites } from './seen-writes.js';

/** Per-node probe state the snapshot does not carry. */
interface NodeRuntime {
  readonly cfg: NodeConfig;
  readonly channel: ProbeChannel;
  health: NodeHealthState;
  rttMs: number | null;
  /** Recent RTT samples for the minimum filter. */
  rttSamples: number[];
  raw: RawProbe | null;
  role: NodeRole;
  writer: HeartbeatWriter;
  lag: LagValue;
  lastCaughtUpAtMs: number | null;
  /** Physical primary: its recent WAL positions by probe time (read-your-writes, seen-writes.ts). */
  lsnMarks: LsnMark[];
  downReason: string | null;
  /** Where its lag comes from and why it cannot be measured (SHOW NODES); null until probed. */
  lagStatus: LagStatus | null;
  probes: number; // finished probes
  timer: unknown;
  running: Promise<void> | null;
  isAgainWanted: boolean;
  isRemoved: boolean;
}

export class HealthMonitor {
  /** The topology this monitor publishes to; admin mutates admin state through it. */
  readonly store: TopologyStore;
  private cfg: MeridianConfig;
  private readonly log: Logger;
  private readonly counters: HealthCounters | null;
  private readonly clock: Clock;
  private readonly random: () => number;
  private connect: ProbeConnector;
  private readonly isOwnConnector: boolean;
  private readonly nodes = new Map<string, NodeRuntime>();
  private isRunning = false;
  private unsubscribe: (() => void) | null = null;
  /** Reads follow writes: lag unknown on every node of a multi-master cluster past start-up. */
  private isReadFollowingWrites = false;
  /** cluster.patroni: the poller of Patroni's view; null without it. */
  private patroniSource: PatroniSource | null = null;
  /** What Patroni's last view says of each configured node (matched members); null: no view (yet). */
  private patroniMembers: ReadonlyMap<string, PatroniMember> | null = null;

  constructor(cfg: MeridianConfig, logger: Logger = silentLogger, counters: HealthCounters | null = null, extras: HealthMonitorExtras = {}) {
    this.cfg = cfg;
    this.log = logger.child({ component: 'health' });
    this.counters = counters;
    this.clock = extras.clock ?? realClock;
    this.random = extras.random ?? Math.random;
    this.isOwnConnector = extras.connect === undefined;
    this.connect = extras.connect ?? defaultConnector(cfg);
    const hooks = extras.hooks ?? null;
    this.store =
      extras.store ??
      new TopologyStore(cfg.cluster.nodes, {
        kind: cfg.cluster.kind,
        logger,
        now: () => this.clock.now(),
        hooks: {
          onEvent: (ev) => {
            this.count(ev);
            hooks?.onEvent(ev);
          },
        },
      });
  }

  get snapshot(): TopologySnapshot {
    return this.store.snapshot;
  }

  /** The cluster kind's plug-in (cluster.kind needs a restart, but follow the config anyway). */
  private get kind(): ClusterKindPlugin {
    return kindPlugin(this.cfg.cluster.kind);
  }

  /** The next snapshot, or null after timeoutMs (routing.write_wait). */
  waitForChange(timeoutMs: number): Promise<TopologySnapshot | null> {
    return this.store.waitForChange(timeoutMs);
  }

  /**
   * Resolves true once every node finished a probe and every up node's lag is known (or false
   * at the timeout): before that, reads may be refused for lack of a known lag.
   */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = this.clock.now() + timeoutMs;
    const isReady = (s: TopologySnapshot) => s.nodes.every((n) => n.lastProbeAtMs !== null && (!n.isUp || n.lagMs !== null));
    let snap = this.store.snapshot;
    while (!isReady(snap)) {
      const left = deadline - this.clock.now();
      if (left <= 0) return false;
      snap = (await this.store.waitForChange(left)) ?? this.store.snapshot;
    }
    return true;
  }

  private count(ev: TopologyEvent): void {
    const c = this.counters;
    if (c === null) return;
    if (ev.type === 'node-down' || ev.type === 'node-evicted') c.evictions?.inc({ node: ev.node });
    if (ev.type === 'master-changed') c.failovers?.inc();
  }

  /** Start probing every node now (first probes spread over a few ms), and reading Patroni's view if configured. */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.unsubscribe = this.store.onChange((snap) => this.syncNodes(snap));
    this.syncNodes(this.store.snapshot);
    this.followPatroni();
  }

  /** The Patroni poller (cluster.patroni), for SWITCHOVER TO; null without Patroni or before start(). */
  get patroni(): PatroniSource | null {
    return this.patroniSource;
  }

  /** Starts, reconfigures or stops the Patroni poller as cluster.patroni says. */
  private followPatroni(): void {
    const pc = this.cfg.cluster.patroni;
    const src = this.patroniSource;
    if (pc === null) {
      if (src !== null) {
        this.patroniSource = null;
        void src.stop();
        this.store.holdWrites('patroni', null);
        this.setPatroniMembers(null);
      }
      return;
    }
    if (src !== null) return src.applyConfig(pc, this.cfg.cluster.nodes);
    const sink = {
      setPatroniMembers: (m: ReadonlyMap<string, PatroniMember> | null) => this.setPatroniMembers(m),
      holdWrites: this.store.holdWrites.bind(this.store),
    };
    this.patroniSource = new PatroniSource(pc, this.cfg.cluster.nodes, sink, this.log.child({ component: 'patroni' }), this.counters);
    this.patroniSource.start();
  }

  /**
   * Patroni's view of the nodes: each node's role becomes what probe and Patroni agree on
   * (patroni-policy.ts combineRole), published at once; a node Patroni calls the leader that its
   * probe still finds in recovery (a promotion) is probed now, so writes follow within a probe.
   */
  setPatroniMembers(members: ReadonlyMap<string, PatroniMember> | null): void {
    this.patroniMembers = members;
    const snap = this.store.snapshot;
    const updates: NodeHealthUpdate[] = [];
    for (const rt of this.nodes.values()) {
      const n = snap.byName.get(rt.cfg.name);
      if (n === undefined) continue;
      const m = members?.get(rt.cfg.name);
      const role = this.effectiveRole(rt);
      const patroni = m === undefined ? null : describeMember(m);
      if (role !== n.role || patroni !== (n.patroni ?? null)) updates.push({ node: rt.cfg.name, role, patroni });
      if (m !== undefined && patroniRole(m) !== rt.role && rt.probes > 0) void this.probeNow(rt.cfg.name);
    }
    if (updates.length > 0) this.store.applyProbes(updates);
  }

  /** The role routing sees: the probe's, combined with Patroni's when a view names the node. */
  private effectiveRole(rt: NodeRuntime): NodeRole {
    const m = this.patroniMembers?.get(rt.cfg.name);
    return combineRole(rt.role, m === undefined ? undefined : patroniRole(m));
  }

  /** Stop probing; closes every probe connection. */
  async stop(): Promise<void> {
    this.isRunning = false;
    const src = this.patroniSource;
    this.patroniSource = null;
    await src?.stop();
    this.unsubscribe?.();
    this.unsubscribe = null;
    const all = [...this.nodes.values()];
    this.nodes.clear();
    for (const rt of all) this.retire(rt);
    await Promise.all(
      all.map(async (rt) => {
        await rt.running?.catch(() => undefined);
        await rt.channel.close().catch(() => undefined);
      }),
    );
  }

  /** Passive health: evict now (live traffic saw a refused/reset connection or 57P0x) and probe. */
  reportFailure(node: string, reason: string): void {
    const rt = this.nodes.get(node);
    if (rt === undefined) return;
    rt.health = evictState(rt.health);
    rt.writer = NO_WRITER;
    rt.downReason = `evicted: ${reason}`;
    this.store.evict(node, reason);
    void this.probeNow(node);
  }

  /** Probe a node now (after any probe in flight); resolves with the resulting snapshot. */
  async probeNow(node: string): Promise<TopologySnapshot> {
    const rt = this.nodes.get(node);
    if (rt === undefined || !this.isRunning) return this.store.snapshot;
    if (rt.running !== null) {
      rt.isAgainWanted = true;
      await rt.running;
      while (rt.running !== null) await rt.running; // the re-run started by the one we waited for
      return this.store.snapshot;
    }
    this.clock.clearTimeout(rt.timer);
    await this.run(rt);
    return this.store.snapshot;
  }

  /** Hot reload: new thresholds and nodes; probe connections are rebuilt if their settings changed. */
  applyConfig(cfg: MeridianConfig): void {
    const connChanged =
      !sameProbeSettings(this.cfg.health, cfg.health) ||
      this.cfg.cluster.kind !== cfg.cluster.kind ||
      this.cfg.cluster.tls !== cfg.cluster.tls ||
      this.cfg.cluster.tlsCa !== cfg.cluster.tlsCa;
    this.cfg = cfg;
    if (connChanged && this.isOwnConnector) this.connect = defaultConnector(cfg);
    if (connChanged) {
      for (const rt of [...this.nodes.values()]) {
        this.retire(rt);
        this.nodes.delete(rt.cfg.name);
        void rt.channel.close();
      }
    }
    this.store.setNodes(cfg.cluster.nodes);
    if (connChanged) this.syncNodes(this.store.snapshot);
    if (this.isRunning) this.followPatroni();
  }

  /** Follow the snapshot's node list: start probing new nodes, stop removed ones. */
  private syncNodes(snap: TopologySnapshot): void {
    if (!this.isRunning) return;
    for (const rt of [...this.nodes.values()]) {
      const n = snap.byName.get(rt.cfg.name);
      if (n === undefined || n.host !== rt.cfg.host || n.port !== rt.cfg.port) {
        this.retire(rt);
        this.nodes.delete(rt.cfg.name);
        void rt.channel.close().catch(() => undefined);
      }
    }
    for (const n of snap.nodes) {
      if (this.nodes.has(n.name)) continue;
      const cfg: NodeConfig = { name: n.name, host: n.host, port: n.port, region: n.region, location: n.location, priority: n.priority };
      const rt = newRuntime(cfg, this.connect(cfg));
      this.nodes.set(n.name, rt);
      this.schedule(rt, Math.floor(this.random() * 10));
    }
  }

  private retire(rt: NodeRuntime): void {
    rt.isRemoved = true;
    this.clock.clearTimeout(rt.timer);
    rt.timer = null;
  }

  private schedule(rt: NodeRuntime, delayMs: number): void {
    this.clock.clearTimeout(rt.timer);
    rt.timer = this.clock.setTimeout(() => {
      rt.timer = null;
      void this.run(rt);
    }, delayMs);
  }

  private run(rt: NodeRuntime): Promise<void> {
    if (rt.running !== null) {
      rt.isAgainWanted = true;
      return rt.running;
    }
    const p = this.probeNode(rt)
      .catch((err: unknown) => {
        this.log.error({ err, node: rt.cfg.name }, 'probe handling failed');
      })
      .finally(() => {
        rt.running = null;
        if (!this.isRunning || rt.isRemoved) return;
        if (rt.isAgainWanted) {
          rt.isAgainWanted = false;
          void this.run(rt);
        } else {
          this.schedule(rt, nextProbeDelayMs(rt.health, this.cfg.health, this.random));
        }
      });
    rt.running = p;
    return p;
  }

  private async probeNode(rt: NodeRuntime): Promise<void> {
    const { health } = this.cfg;
    // Only a node last seen as master gets Meridian's heartbeat (a replica would refuse the write).
    const hb = this.kind.usesHeartbeat && rt.role === 'master' ? { node: rt.cfg.name, tsMs: this.clock.now() } : null;
    let raw: RawProbe | null = null;
    let error: string | null = null;
    try {
      raw = await rt.channel.probe(hb, health.timeoutMs);
    } catch (err) {
      error = describeProbeError(err);
      this.counters?.probeFailures?.inc({ node: rt.cfg.name });
    }
    if (!this.isRunning || rt.isRemoved) return;
    rt.probes++;
    const wasUp = isUp(rt.health);
    const step = countProbe(rt.health, raw !== null, health);
    rt.health = step.state;
    if (raw !== null) this.absorb(rt, raw, this.kind);
    else rt.writer = NO_WRITER;
    const nowUp = isUp(rt.health);
    if (step.transition === 'down') {
      rt.downReason = `${rt.health.failStreak} failed probes: ${error ?? 'unknown error'}`;
      // A node that never came up changes no snapshot flag, so the store logs nothing: say it here.
      if (!wasUp && this.store.snapshot.byName.get(rt.cfg.name)?.isUp === false) this.log.warn({ node: rt.cfg.name, reason: rt.downReason }, 'node down');
    }
    const lag = nowUp && raw !== null ? this.lagOf(rt, raw, wasUp) : nowUp ? rt.lag : { lagMs: null, lagBytes: null };
    rt.lag = lag;
    if (nowUp && raw !== null) this.noteLagStatus(rt, raw, lag.lagMs);
    const seenWrites = nowUp && raw !== null ? this.seenWritesOf(raw) : undefined;
    const syncAppliedFrom = !nowUp ? null : raw !== null ? this.syncAppliedFromOf(raw) : undefined;
    const unreplicated = raw === null ? undefined : unreplicatedOf(raw, this.store.snapshot.byName.get(rt.cfg.name)?.unreplicated ?? null);
    const update: NodeHealthUpdate = {
      node: rt.cfg.name,
      isUp: nowUp,
      role: this.effectiveRole(rt),
      rttMs: rt.rttMs,
      lagMs: lag.lagMs,
      lagBytes: lag.lagBytes,
      seenWrites,
      syncAppliedFrom,
      unreplicated,
      failedProbes: rt.health.failStreak,
      lastError: error ?? this.noteFor(rt, raw, nowUp),
      lastProbeAtMs: this.clock.now(),
      reason: step.transition === 'up' ? (rt.downReason === null ? 'first probe passed' : `${health.rise} probes passed`) : (rt.downReason ?? undefined),
    };
    if (step.transition === 'up') rt.downReason = null;
    const snap = this.store.applyProbe(update);
    this.readmitIfCaughtUp(snap.byName.get(rt.cfg.name));
    this.noteReadFallback(snap);
  }

  /** A node's lag source and problem, as SHOW NODES and GET /nodes show them; null: not probed yet. */
  lagStatusOf(node: string): LagStatus | null {
    return this.nodes.get(node)?.lagStatus ?? null;
  }

  /** True while reads follow writes because lag is unknown on every node (logged and counted). */
  get readsFollowWrites(): boolean {
    return this.isReadFollowingWrites;
  }

  /** Recompute the node's lag status; a new or cleared problem is logged once, not every probe. */
  private noteLagStatus(rt: NodeRuntime, raw: RawProbe, lagMs: number | null): void {
    const { health } = this.cfg;
    const next = lagStatus({
      kind: this.kind,
      database: health.database,
      table: health.heartbeatTable,
      intervalMs: health.intervalMs,
      self: rt.cfg.name,
      raw,
      lagMs,
      peers: this.peersOf(rt),
    });
    const before = rt.lagStatus?.problem ?? null;
    rt.lagStatus = next;
    if (next.problem === before) return;
    if (next.problem !== null) this.log.warn({ node: rt.cfg.name, problem: next.problem }, 'lag cannot be measured');
    else this.log.info({ node: rt.cfg.name, lagSource: next.source }, 'lag measured again');
  }

  /**
   * The router sends reads where writes go while lag is unknown on every node of a multi-master
   * cluster (router/pick-read.ts isLagUnknownEverywhere). Say so once per change, with the causes,
   * and count it; start-up (lag not known yet anywhere for a few intervals) is not such a change.
   */
  private noteReadFallback(snap: TopologySnapshot): void {
    const { routing } = this.cfg;
    const policy = { isMultiMaster: this.kind.isMultiMaster, readsOnMasters: routing.readsOnMasters, maxReadLagMs: routing.maxReadLagMs };
    const isNow = isLagUnknownEverywhere(snap, policy);
    if (isNow === this.isReadFollowingWrites) return;
    // Past start-up only, and late enough for the per-node causes (lag-problem.ts) to be known.
    if (isNow && ![...this.nodes.values()].every((o) => o.probes >= NOT_ARRIVING_INTERVALS + 2)) return;
    this.isReadFollowingWrites = isNow;
    this.counters?.readsFollowWrites?.set(isNow ? 1 : 0);
    if (!isNow) {
      this.log.info({}, "reads by lag again: a node's lag is known");
      return;
    }
    this.counters?.readFallbacks?.inc();
    const problems = [...this.nodes.values()].filter((o) => o.lagStatus?.problem != null).map((o) => `${o.cfg.name}: ${o.lagStatus?.problem}`);
    this.log.warn(
      { problems: problems.length > 0 ? problems : ['none reported (see SHOW NODES)'] },
      'lag unknown on every node: reads follow writes (nearest master)',
    );
  }

  /** The other nodes as the lag computation sees them. */
  private peersOf(rt: NodeRuntime): LagPeer[] {
    const snap = this.store.snapshot;
    return [...this.nodes.values()]
      .filter((o) => o !== rt)
      .map((o) => ({
        name: o.cfg.name,
        isUp: isUp(o.health),
        role: o.role,
        raw: o.raw,
        writer: o.writer,
        hasProbed: o.probes > 0,
        isPreferredMaster: snap.byName.get(o.cfg.name)?.isSplitBrain === false && o.role === 'master',
      }));
  }

  /** Fold a good probe into the runtime: RTT, role, heartbeat write streak. */
  private absorb(rt: NodeRuntime, raw: RawProbe, kind: ClusterKindPlugin): void {
    rt.raw = raw;
    rt.rttMs = filterRtt(rt.rttSamples, raw.networkRttMs);
    rt.role = kind.roleOf(raw);
    rt.writer = recordHeartbeatWrite(rt.writer, raw.heartbeatWrittenTs, raw.receivedAtMs);
    if (kind.tracksWalMarks && rt.role === 'master') recordLsnMark(rt.lsnMarks, raw);
  }

  /** Read-your-writes watermarks of a node from its fresh probe (WAL marks: against the preferred master's). */
  private seenWritesOf(raw: RawProbe): SeenWrites | null {
    const kind = this.kind;
    let masters: MasterMarks[] = [];
    if (kind.tracksWalMarks && raw.replayLsn !== null) {
      const snap = this.store.snapshot;
      masters = [...this.nodes.values()]
        .filter((o) => o.role === 'master' && o.lsnMarks.length > 0 && snap.byName.get(o.cfg.name)?.isSplitBrain === false)
        .map((o) => ({ name: o.cfg.name, marks: o.lsnMarks }));
    }
    return kind.seenWrites(raw, masters);
  }

  /**
   * The primary that waits for this standby to apply its commits (its last probe named the
   * standby among its remote_apply synchronous standbys), or null.
   */
  private syncAppliedFromOf(raw: RawProbe): string | null {
    const name = raw.walAppName;
    if (name === null || !this.cfg.routing.trustSyncStandbys) return null;
    const snap = this.store.snapshot;
    for (const o of this.nodes.values()) {
      if (o.role !== 'master' || o.raw === null || snap.byName.get(o.cfg.name)?.isSplitBrain !== false) continue;
      if (o.raw.syncApplyNames?.includes(name) === true) return o.cfg.name;
    }
    return null;
  }

  private lagOf(rt: NodeRuntime, raw: RawProbe, wasUp: boolean): LagValue {
    const ctx: LagContext = {
      intervalMs: this.cfg.health.intervalMs,
      self: { name: rt.cfg.name, isUp: true, role: rt.role, raw },
      others: this.peersOf(rt),
      wasKnown: wasUp && rt.lag.lagMs !== null,
      lastCaughtUpAtMs: rt.lastCaughtUpAtMs,
    };
    const r = this.kind.lag(ctx);
    if (r.isCaughtUp) rt.lastCaughtUpAtMs = raw.receivedAtMs;
    return r;
  }

  /** What SHOW NODES' last_error says about a node (its probe failures, a refused heartbeat write). */
  private noteFor(rt: NodeRuntime, raw: RawProbe | null, nowUp: boolean): string | null {
    if (!nowUp) return rt.downReason !== null ? `${rt.downReason} (recovering: ${rt.health.okStreak}/${this.cfg.health.rise} good probes)` : null;
    // A heartbeat table that is missing or not replicated is the node's lag problem (lagStatusOf).
    return raw === null ? null : raw.heartbeatError;
  }

  /** catching-up → active once up and lag ≤ routing.readmit_max_lag. */
  private readmitIfCaughtUp(n: NodeSnapshot | undefined): void {
    const max = this.cfg.routing.readmitMaxLagMs;
    if (n === undefined || n.state !== 'catching-up' || !n.isUp || n.lagMs === null || n.lagMs > max) return;
    this.store.setAdminState(n.name, 'active', `caught up: lag ${Math.round(n.lagMs)} ms ≤ readmit_max_lag ${max} ms`);
  }
}

function defaultConnector(cfg: MeridianConfig): ProbeConnector {
  return pgProbeConnector({ kind: cfg.cluster.kind, health: cfg.health, tls: backendTls(cfg.cluster) });
}

function newRuntime(cfg: NodeConfig, channel: ProbeChannel): NodeRuntime {
  return {
    cfg,
    channel,
    health: NEW_NODE,
    rttMs: null,
    rttSamples: [],
    raw: null,
    role: 'unknown',
    writer: NO_WRITER,
    lag: { lagMs: null, lagBytes: null },
    lastCaughtUpAtMs: null,
    lsnMarks: [],
    downReason: null,
    lagStatus: null,
    probes: 0,
    timer: null,
    running: null,
    isAgainWanted: false,
    isRemoved: false,
  };
}

function sameProbeSettings(a: HealthConfig, b: HealthConfig): boolean {
  return a.user === b.user && a.password === b.password && a.database === b.database && a.heartbeatTable === b.heartbeatTable;
}

/** A subscriber's unreplicated tables from its probe; the previous set when unchanged (snapshots stay stable). */
function unreplicatedOf(raw: RawProbe, prev: ReadonlySet<string> | null): ReadonlySet<string> | null {
  const list = raw.unreplicated;
  if (list === null || list.length === 0) return null;
  if (prev !== null && prev.size === list.length && list.every((t) => prev.has(t))) return prev;
  return new Set(list);
}
