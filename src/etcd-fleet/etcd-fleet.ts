// One Meridian instance's membership in a fleet of instances sharing state through etcd
// (`fleet:`; the workers of one instance are src/fleet/, something else). It owns:
//   - registration: <prefix>/members/<instance> under a lease (TTL fleet.lease_ttl), renewed every
//     third of the TTL and rewritten every second (heartbeat, the topology this instance sees); a
//     dead instance's key goes with its lease;
//   - the sync loop: every fleet.sync_interval it reads <prefix>/drains/ and applies each node's
//     operation newer than the one it applied (drain-plan.ts), through the instance's own Drains
//     (admin/drain.ts: the same machinery as a local DRAIN), and acknowledges it under
//     <prefix>/acks/<node>/<instance> (applied at once, done when the drain finished);
//   - fleet-wide DRAIN / UNDRAIN: written to etcd, then waited for until every live instance
//     acknowledged them (ack-progress.ts), or failed naming those that did not;
//   - fail static: a sync that fails makes the instance `stale`; it keeps serving with what it
//     applied last and refuses fleet-wide commands (57M03) until a sync succeeds again, which
//     re-registers it (a new lease if the old one expired) and applies what it missed.
// Nothing here is on a client's request path, and every etcd call is bounded (etcd-store.ts).

import type { DrainResult, UndrainResult } from '../admin/drain.js';
import type { FleetDrainOptions, FleetMemberView, FleetStatus, InstanceFleet } from '../admin/instance-fleet.js';
import type { FleetConfig } from '../config/types.js';
import { Errors } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TopologySnapshot } from '../topology/types.js';
import { ackProgress, combineDrainAcks, type AckProgress } from './ack-progress.js';
import { drainedNodes, planDrains, type DrainAction, type DrainEntry } from './drain-plan.js';
import { EtcdStore, type FleetLease, type StoredKey } from './etcd-store.js';
import { fleetKeys, nameUnder, type FleetKeys } from './keys.js';
import { memberRecord } from './member-record.js';
import { decodeAck, decodeDrain, decodeMember, encodeAck, encodeDrain, encodeMember, type AckRecord, type MemberRecord } from './records.js';

/** What the fleet member uses of the instance. */
export interface EtcdFleetHost {
  readonly config: FleetConfig;
  readonly logger: Logger;
  readonly startedAtMs: number;
  region(): string | null;
  snapshot(): TopologySnapshot;
  /** drain.timeout now (a DRAIN without its own timeout waits for it on every instance). */
  drainTimeoutMs(): number;
  readonly drains: {
    drain(node: string, opts: { timeoutMs?: number; force?: boolean; reason?: string }): Promise<DrainResult>;
    undrain(node: string): UndrainResult;
    checkDrainable(node: string): void;
  };
}

/** How often the registration record is rewritten (heartbeat) and the members read. */
const HEARTBEAT_MS = 1_000;
/** A drain's cancel grace after its timeout (admin/drain.ts), waited for on top of the timeout. */
const CANCEL_GRACE_MS = 3_000;
const ACK_POLL_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 300);

export class EtcdFleet implements InstanceFleet {
  private readonly cfg: FleetConfig;
  private readonly keys: FleetKeys;
  private readonly log: Logger;
  private store: EtcdStore | null = null;
  private lease: FleetLease | null = null;
  private leaseRenewedAtMs = 0;
  private heartbeatAtMs = 0;
  private isStale = true;
  private staleSinceMs: number | null = Date.now();
  private lastError: string | null = 'not connected yet';
  private lastSyncAtMs: number | null = null;
  /** node → the revision of the last operation applied here. */
  private readonly applied = new Map<string, number>();
  /** node → the revision of the last acknowledgement written. */
  private readonly ackedRevs = new Map<string, number>();
  private drained: string[] = [];
  /** Something wrong that does not stop the fleet (a name used twice), for SHOW FLEET; null: none. */
  private warning: string | null = null;
  private warnedAtMs = 0;
  private members = new Map<string, MemberRecord>();
  private timer: NodeJS.Timeout | null = null;
  private isStopped = false;
  private syncing: Promise<void> | null = null;
  private isSyncAgain = false;
  /** Acknowledgements are written one after another, so a node's `done` never lands before its `applied`. */
  private ackChain: Promise<void> = Promise.resolve();

  constructor(private readonly host: EtcdFleetHost) {
    this.cfg = host.config;
    this.keys = fleetKeys(host.config.prefix);
    this.log = host.logger.child({ fleet: host.config.instance });
  }

  get instance(): string {
    return this.cfg.instance;
  }

  /**
   * Connects and syncs once before the instance serves, so it starts with the fleet's drained
   * nodes. An unreachable etcd does not stop it: it starts stale, with no fleet drains, and
   * catches up when etcd answers.
   */
  async start(): Promise<void> {
    this.store = await EtcdStore.open(this.cfg);
    await this.sync();
    if (this.isStale) this.log.warn({ err: this.lastError }, 'fleet unreachable at start: serving without the fleet state');
    else this.log.info({ members: this.members.size, drained: this.drained }, 'fleet joined');
    this.schedule();
  }

  /** Leaves the fleet: the registration goes at once (lease revoked), not after its TTL. */
  async stop(): Promise<void> {
    this.isStopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.syncing?.catch(() => {});
    await this.ackChain.catch(() => {});
    await this.lease?.revoke().catch(() => {});
    this.lease = null;
    this.store?.close();
  }

  status(): FleetStatus {
    const self = this.cfg.instance;
    const members: FleetMemberView[] = [];
    const own = memberRecord(self, this.host.region(), this.host.startedAtMs, this.heartbeatAtMs || Date.now(), this.host.snapshot());
    for (const m of [own, ...[...this.members.values()].filter((x) => x.instance !== self)]) members.push({ ...m, isSelf: m.instance === self });
    return {
      instance: self,
      status: this.isStale ? 'stale' : 'ok',
      staleSinceMs: this.staleSinceMs,
      lastError: this.lastError,
      lastSyncAtMs: this.lastSyncAtMs,
      warning: this.warning,
      drained: this.drained,
      members,
    };
  }

  get memberCount(): number {
    return this.members.size;
  }

  get stale(): boolean {
    return this.isStale;
  }

  // ---- fleet-wide operations ----

  async drain(node: string, opts: FleetDrainOptions): Promise<DrainResult | 'started'> {
    this.requireFresh();
    if (opts.force) this.requireNode(node);
    else this.host.drains.checkDrainable(node);
    const store = this.store!;
    const expected = await this.liveInstances(store);
    const record = { op: 'drain' as const, by: this.cfg.instance, atMs: Date.now(), timeoutMs: opts.timeoutMs ?? null };
    const rev = await this.write(store, node, encodeDrain(record));
    const applied = await this.waitAcks(store, node, rev, 'applied', expected, this.cfg.ackTimeoutMs);
    this.throwIfIncomplete('DRAIN', node, rev, applied, `${this.cfg.ackTimeoutMs} ms (fleet.ack_timeout)`);
    if (opts.noWait) return 'started';
    const waitMs = (opts.timeoutMs ?? this.host.drainTimeoutMs()) + CANCEL_GRACE_MS + this.cfg.ackTimeoutMs;
    const done = await this.waitAcks(store, node, rev, 'done', expected, waitMs);
    this.throwIfIncomplete('DRAIN', node, rev, done, `${waitMs} ms (the drain timeout, its cancel grace and fleet.ack_timeout)`);
    const c = combineDrainAcks(done.answered);
    const state = c.outcome === 'undrained' ? (this.host.snapshot().byName.get(node)?.state ?? 'removed') : 'drained';
    return { node, state, ...c };
  }

  async undrain(node: string): Promise<UndrainResult> {
    this.requireFresh();
    this.requireNode(node);
    const store = this.store!;
    const expected = await this.liveInstances(store);
    const rev = await this.write(store, node, encodeDrain({ op: 'undrain', by: this.cfg.instance, atMs: Date.now(), timeoutMs: null }));
    const done = await this.waitAcks(store, node, rev, 'done', expected, this.cfg.ackTimeoutMs);
    this.throwIfIncomplete('UNDRAIN', node, rev, done, `${this.cfg.ackTimeoutMs} ms (fleet.ack_timeout)`);
    const states = new Map<string, number>();
    for (const a of done.answered.values()) {
      const s = a === 'superseded' ? 'superseded' : a.outcome;
      states.set(s, (states.get(s) ?? 0) + 1);
    }
    const summary = [...states].map(([s, n]) => `${n} ${s}`).join(', ');
    const state = this.host.snapshot().byName.get(node)?.state ?? 'catching-up';
    return {
      node,
      state,
      message: `node "${node}" undrained on ${done.answered.size} instances (${summary}); each readmits it when up with lag ≤ routing.readmit_max_lag`,
    };
  }

  private requireFresh(): void {
    if (this.isStale || this.store === null) throw Errors.fleetStale(this.lastError ?? 'not connected');
  }

  private requireNode(node: string): void {
    if (!this.host.snapshot().byName.has(node)) throw Errors.invalidParameter(`unknown node "${node}" (see SHOW NODES)`);
  }

  /** Writes the operation; a failure here is the fleet being unreachable (nothing was written, or nobody will know). */
  private async write(store: EtcdStore, node: string, value: string): Promise<number> {
    try {
      const rev = await store.put(this.keys.drain(node), value);
      this.syncSoon(); // this instance applies it at once, the others at their next sync
      return rev;
    } catch (err) {
      this.markStale(err);
      throw Errors.fleetStale(messageOf(err));
    }
  }

  private throwIfIncomplete(what: string, node: string, rev: number, p: AckProgress, within: string): void {
    if (p.failures.length > 0) throw Errors.adminFailed(`${what} ${node} (fleet revision ${rev}) failed on: ${p.failures.join('; ')}`);
    if (!p.isComplete) {
      throw Errors.adminFailed(
        `${what} ${node} was written to the fleet (revision ${rev}) but not acknowledged within ${within} by: ${p.missing.join(', ')}; ` +
          `an instance applies it when it reaches etcd again (SHOW FLEET)`,
      );
    }
  }

  /** The registered instances now (this one always counts). */
  private async liveInstances(store: EtcdStore): Promise<Set<string>> {
    try {
      const live = new Set<string>([this.cfg.instance]);
      for (const m of this.decodeMembers(await store.range(this.keys.members)).keys()) live.add(m);
      return live;
    } catch (err) {
      this.markStale(err);
      throw Errors.fleetStale(messageOf(err));
    }
  }

  /** Polls the node's acknowledgements until every live instance in `expected` answered revision `rev`, or `withinMs`. */
  private async waitAcks(
    store: EtcdStore,
    node: string,
    rev: number,
    need: 'applied' | 'done',
    expected: ReadonlySet<string>,
    withinMs: number,
  ): Promise<AckProgress> {
    const deadline = Date.now() + withinMs;
    let last: AckProgress = ackProgress(rev, need, expected, expected, new Map());
    for (;;) {
      try {
        const acks = new Map<string, AckRecord | null>();
        for (const kv of await store.range(this.keys.acksOf(node))) {
          const name = nameUnder(this.keys.acksOf(node), kv.key);
          if (name !== null) acks.set(name, decodeAck(kv.value));
        }
        const live = await this.liveInstances(store).catch(() => expected);
        last = ackProgress(rev, need, expected, live, acks);
        if (last.isComplete || last.failures.length > 0) return last;
      } catch {
        // etcd did not answer this time: asked again until the deadline
      }
      if (Date.now() >= deadline || this.isStopped) return last;
      await sleep(ACK_POLL_MS);
    }
  }

  // ---- the sync loop ----

  private schedule(): void {
    if (this.isStopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sync().finally(() => this.schedule());
    }, this.cfg.syncIntervalMs);
    this.timer.unref?.();
  }

  /** A sync now (after this instance wrote an operation), or right after the one running. */
  private syncSoon(): void {
    if (this.syncing !== null) this.isSyncAgain = true;
    else void this.sync();
  }

  private sync(): Promise<void> {
    if (this.syncing !== null) return this.syncing;
    const run = async () => {
      do {
        this.isSyncAgain = false;
        await this.syncOnce();
      } while (this.isSyncAgain && !this.isStopped);
    };
    this.syncing = run().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const store = this.store;
    if (store === null || this.isStopped) return;
    try {
      await this.keepRegistered(store);
      const entries: DrainEntry[] = [];
      for (const kv of await store.range(this.keys.drains)) {
        const node = nameUnder(this.keys.drains, kv.key);
        if (node !== null) entries.push({ node, rev: kv.modRevision, record: decodeDrain(kv.value) });
      }
      for (const a of planDrains(entries, this.applied)) this.apply(a);
      this.drained = drainedNodes(entries);
      this.markFresh();
    } catch (err) {
      this.markStale(err);
    }
  }

  /** Lease (granted again after an outage longer than its TTL), renewal, heartbeat record, members. */
  private async keepRegistered(store: EtcdStore): Promise<void> {
    const now = Date.now();
    const ttl = this.cfg.leaseTtlMs;
    if (this.lease !== null && now - this.leaseRenewedAtMs >= ttl / 3) {
      try {
        await this.lease.keepAlive();
        this.leaseRenewedAtMs = now;
      } catch (err) {
        // Expired (etcd says so), or past its TTL since the last renewal: a new one below.
        if (/lease/i.test((err as Error).constructor.name) || now - this.leaseRenewedAtMs >= ttl) this.lease = null;
        else throw err;
      }
    }
    if (this.lease === null) {
      this.lease = await store.grantLease(ttl);
      this.leaseRenewedAtMs = now;
      this.heartbeatAtMs = 0;
      this.log.info({ lease: this.lease.id }, 'fleet registration lease granted');
    }
    if (now - this.heartbeatAtMs < HEARTBEAT_MS) return;
    // Read before writing: our key as another process left it since our last heartbeat shows a
    // name used twice (not right after a new lease: a dead incarnation's key may linger).
    const kvs = await store.range(this.keys.members);
    if (this.heartbeatAtMs !== 0) this.checkNameUnique(kvs);
    const rec = memberRecord(this.cfg.instance, this.host.region(), this.host.startedAtMs, now, this.host.snapshot());
    await store.put(this.keys.member(this.cfg.instance), encodeMember(rec), this.lease);
    this.heartbeatAtMs = now;
    this.members = this.decodeMembers(kvs);
    this.members.set(this.cfg.instance, rec);
  }

  /**
   * Two processes with one fleet.instance overwrite each other's registration and
   * acknowledgements: a key of this name under a lease not this instance's (read a heartbeat after
   * our last write) means another one wrote it meanwhile. Said in SHOW FLEET / /fleet and logged (every 30 s at most); nothing else changes.
   */
  private checkNameUnique(kvs: readonly StoredKey[]): void {
    const own = kvs.find((kv) => kv.key === this.keys.member(this.cfg.instance));
    const isShared = own !== undefined && this.lease !== null && own.lease !== this.lease.id;
    this.warning = isShared ? `another process registers the same fleet.instance "${this.cfg.instance}": names must be unique in the fleet` : null;
    if (isShared && Date.now() - this.warnedAtMs >= 30_000) {
      this.warnedAtMs = Date.now();
      this.log.error({ instance: this.cfg.instance }, 'fleet instance name used by another process');
    }
  }

  /**
   * The registrations that read as one: a key under members/ whose value is not a member record
   * of that name (written by hand, by something else) is no instance, and counts for nothing.
   */
  private decodeMembers(kvs: readonly StoredKey[]): Map<string, MemberRecord> {
    const members = new Map<string, MemberRecord>();
    for (const kv of kvs) {
      const name = nameUnder(this.keys.members, kv.key);
      const m = name === null ? null : decodeMember(kv.value);
      if (name !== null && m !== null && m.instance === name) members.set(name, m);
    }
    return members;
  }

  /** Applies one operation of the fleet here, and acknowledges it. */
  private apply(a: DrainAction): void {
    this.applied.set(a.node, a.rev);
    const { node, rev, record } = a;
    if (record === null) {
      this.log.warn({ node, rev }, 'fleet drain value unreadable: ignored');
      return;
    }
    const ack = (phase: AckRecord['phase'], outcome: string, r: Partial<DrainResult> = {}, error: string | null = null) =>
      this.ack(node, { rev, phase, outcome, waitedMs: r.waitedMs ?? 0, cancelled: r.cancelled ?? 0, closed: r.closed ?? 0, left: r.left ?? 0, error });
    if (!this.host.snapshot().byName.has(node)) {
      ack('done', 'unknown', {}, `no node "${node}" in this instance's cluster.nodes`);
      return;
    }
    this.log.info({ node, op: record.op, by: record.by, rev }, 'fleet operation applied');
    if (record.op === 'undrain') {
      ack('done', this.host.drains.undrain(node).state);
      return;
    }
    const done = this.host.drains.drain(node, { force: true, timeoutMs: record.timeoutMs ?? undefined, reason: `DRAIN (fleet, through ${record.by})` });
    ack('applied', 'draining');
    done.then(
      (r) => ack('done', r.outcome, r),
      (err: unknown) => ack('done', 'failed', {}, messageOf(err)),
    );
  }

  private ack(node: string, rec: AckRecord): void {
    const store = this.store;
    if (store === null) return;
    // One key per node and instance: an older operation's late answer (a DRAIN that an UNDRAIN
    // aborted, finishing after the UNDRAIN was acknowledged) must not overwrite the newer one.
    if (rec.rev < (this.ackedRevs.get(node) ?? 0)) return;
    this.ackedRevs.set(node, rec.rev);
    this.ackChain = this.ackChain
      .then(() => store.put(this.keys.ack(node, this.cfg.instance), encodeAck(rec), this.lease))
      .then(
        () => {},
        (err: unknown) => this.log.warn({ node, rev: rec.rev, phase: rec.phase, err: messageOf(err) }, 'fleet acknowledgement not written'),
      );
  }

  private markFresh(): void {
    this.lastSyncAtMs = Date.now();
    if (!this.isStale) return;
    if (this.staleSinceMs !== null && this.lastError !== 'not connected yet')
      this.log.info({ staleMs: Date.now() - this.staleSinceMs }, 'fleet reachable again');
    this.isStale = false;
    this.staleSinceMs = null;
    this.lastError = null;
  }

  private markStale(err: unknown): void {
    this.lastError = messageOf(err);
    if (this.isStale) return;
    this.isStale = true;
    this.staleSinceMs = Date.now();
    this.log.warn({ err: this.lastError }, 'fleet unreachable: serving with the last known state');
  }
}
