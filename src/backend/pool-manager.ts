// All pools, keyed by (node, user, database), plus the janitor that sweeps them once a second
// and the cache of server ParameterStatus values shown to clients at startup. Knows nodes and
// credentials from the config snapshot it is given; knows nothing of routing or sessions.
// Bounded: at most pool.max_pools pools; one that never connected (a database that does not
// exist) is dropped as soon as it is empty, any other after pool.idle_timeout empty.

import type { MeridianConfig, NodeConfig, UserConfig } from '../config/types.js';
import type { Backend } from './backend.js';
import { backendTls } from './backend-tls.js';
import { LearnedLogins } from '../auth/learned-logins.js';
import { isLocalConnectFailure } from './connect-failure.js';
import { NodeDownError, NodeDrainingError, Pool, PoolClosedError, type PoolHooks } from './pool.js';
import type { ConnectError, ConnectOptions } from './server-connect.js';

/** SQLSTATE of a session ended because a reload removed its user (admin_shutdown, as PgBouncer's and PostgreSQL's terminations). */
export const USER_REMOVED_SQLSTATE = '57P01';

export interface PoolEvents {
  /** A connect attempt failed for a reason that concerns the node (local failures are not reported). */
  onConnectError(node: string, err: ConnectError): void;
  /** A connect attempt failed for want of a local resource (EMFILE, ENOMEM …): no health signal. */
  onLocalConnectError?(node: string, err: ConnectError): void;
  onBackendClosed(b: Backend, reason: string): void;
  onBackendOpened(b: Backend): void;
  /** Whether pool.min_idle may open backends to this node now (up, not draining). */
  mayPrefill?(node: string): boolean;
}

export class PoolManager {
  private cfg: MeridianConfig;
  private readonly pools = new Map<string, Pool>();
  private nodes = new Map<string, NodeConfig>();
  private users = new Map<string, UserConfig>();
  /** Nodes draining now: a pool created for one starts draining. */
  private readonly drainingNodes = new Set<string>();
  /** node name → pools of that node (for per-node counts and drain). */
  private readonly byNode = new Map<string, Pool[]>();
  private readonly hooks: PoolHooks;
  private readonly mayPrefill: (node: string) => boolean;
  private janitor: NodeJS.Timeout | null = null;
  /** Cached clock, refreshed by the janitor and on demand (no clock read per query). */
  nowMs = Date.now();
  /** "user\0db" → ParameterStatus values from the first backend opened for it. */
  readonly serverParams = new Map<string, Map<string, string>>();
  /** Users and pass-through secrets learned from client logins (auth.query, stored SCRAM secrets). */
  readonly learned = new LearnedLogins();

  constructor(cfg: MeridianConfig, events: PoolEvents) {
    this.cfg = cfg;
    this.applyConfig(cfg);
    this.mayPrefill = events.mayPrefill ?? (() => true);
    this.hooks = {
      onConnectError: (node, err) => {
        if (isLocalConnectFailure(err)) events.onLocalConnectError?.(node, err);
        else events.onConnectError(node, err);
      },
      onBackendClosed: (b, reason) => events.onBackendClosed(b, reason),
      onBackendOpened: (b) => {
        const key = `${b.user}\0${b.database}`;
        if (!this.serverParams.has(key)) {
          // What a client's own startup settings changed is not the server's default: left out.
          const params = new Map(b.serverParams);
          for (const name of params.keys()) if (b.startup.params.has(name.toLowerCase())) params.delete(name);
          this.serverParams.set(key, params);
        }
        events.onBackendOpened(b);
      },
      nowMs: () => (this.nowMs = Date.now()),
      onNeverConnected: (pool) => this.dropPool(pool),
      resetQuery: () => this.cfg.pool.resetQuery,
      isSessionMode: () => this.cfg.pool.mode === 'session',
      resetTimeoutMs: () => Math.max(this.cfg.pool.connectTimeoutMs, this.cfg.pool.queueTimeoutMs),
    };
  }

  /**
   * A new config snapshot. Pools of a user it no longer has are shut (their waiters and later
   * acquires fail with 57P01; the caller closes the user's sessions); pools of a user whose
   * backend_user or backend password changed are recycled (idle backends close now, busy ones as
   * they come back), so no backend keeps serving under credentials the config no longer has.
   */
  applyConfig(cfg: MeridianConfig): void {
    const before = this.users;
    this.cfg = cfg;
    this.nodes = new Map(cfg.cluster.nodes.map((n) => [n.name, n]));
    this.users = new Map(cfg.users.map((u) => [u.name, u]));
    for (const p of this.pools.values()) p.maxSize = cfg.pool.size;
    for (const [name, old] of before) {
      const now = this.users.get(name);
      if (now === undefined) this.removeUser(name);
      else if (now.backendUser !== old.backendUser || now.backendPassword !== old.backendPassword) {
        for (const p of this.pools.values()) if (p.user === name) p.recycle('backend credentials changed by reload');
      }
    }
  }

  /** Shuts and drops every pool of a user removed from the config. */
  private removeUser(user: string): void {
    const err = new PoolClosedError(USER_REMOVED_SQLSTATE, `user "${user}" was removed from the configuration by a reload`);
    for (const p of [...this.pools.values()]) {
      if (p.user !== user) continue;
      p.shutDown(err, 'user removed by reload');
      this.dropPool(p);
    }
    for (const key of [...this.serverParams.keys()]) if (key.startsWith(`${user}\0`)) this.serverParams.delete(key);
  }

  /** Forgets a pool (sessions holding it see isRemoved and look it up again). */
  private dropPool(p: Pool): void {
    const key = `${p.node}\0${p.user}\0${p.database}`;
    if (this.pools.get(key) !== p) return;
    p.isRemoved = true;
    this.pools.delete(key);
    const list = this.byNode.get(p.node);
    if (list !== undefined) {
      const i = list.indexOf(p);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byNode.delete(p.node);
    }
  }

  get poolCount(): number {
    return this.pools.size;
  }

  start(): void {
    if (this.janitor) return;
    this.janitor = setInterval(() => this.sweep(), 1000);
    this.janitor.unref();
  }

  stop(): void {
    if (this.janitor) clearInterval(this.janitor);
    this.janitor = null;
  }

  /** Once a second: timeouts and lifetimes, then pool.min_idle for the pools that exist. */
  sweep(): void {
    const now = (this.nowMs = Date.now());
    const p = this.cfg.pool;
    for (const pool of [...this.pools.values()]) {
      pool.sweep(now, p.idleTimeoutMs, p.maxLifetimeMs, p.queueTimeoutMs, p.minIdle);
      // Empty pools go: at once when they never connected, else after idle_timeout when
      // min_idle does not keep them warm (a drained node's pools stay, to refill on UNDRAIN).
      if (pool.isEmpty && pool.emptySinceMs > 0) {
        const isStale = now - pool.emptySinceMs > p.idleTimeoutMs && p.minIdle === 0 && !pool.isDraining;
        if (!pool.hasConnected || isStale) {
          this.dropPool(pool);
          continue;
        }
      }
      if (p.minIdle > 0 && this.mayPrefill(pool.node)) pool.fill(p.minIdle, now);
    }
  }

  /**
   * The pool for (node, client user, database); created on first use. Null for an unknown
   * node/user. Past pool.max_pools a new pool is a stand-in that refuses every acquire with
   * 53300 and is never stored.
   */
  pool(node: string, user: string, database: string): Pool | null {
    const key = `${node}\0${user}\0${database}`;
    let pool = this.pools.get(key);
    if (pool !== undefined) return pool;
    const n = this.nodes.get(node);
    const u = this.users.get(user) ?? this.learned.user(user);
    if (n === undefined || u === undefined) return null;
    pool = new Pool(node, user, database, this.cfg.pool.size, () => this.connectOptions(node, user, database), this.hooks);
    if (this.pools.size >= this.cfg.pool.maxPools) {
      const max = this.cfg.pool.maxPools;
      pool.shutDown(
        new PoolClosedError(
          '53300',
          `too many server connection pools (pool.max_pools = ${max}); no pool for user "${user}", database "${database}" on node "${node}"`,
        ),
        'pool limit',
      );
      return pool;
    }
    pool.isDraining = this.drainingNodes.has(node);
    this.pools.set(key, pool);
    let list = this.byNode.get(node);
    if (list === undefined) this.byNode.set(node, (list = []));
    list.push(pool);
    return pool;
  }

  private connectOptions(node: string, user: string, database: string): ConnectOptions | null {
    // Read the node and user at connect time so a reload's new host/password applies; either
    // may be gone after a reload (the pool then fails the acquire, it never throws).
    const n = this.nodes.get(node);
    const u = this.users.get(user) ?? this.learned.user(user);
    if (n === undefined || u === undefined) return null;
    const backendPassword = u.backendPassword ?? null;
    return {
      host: n.host,
      port: n.port,
      user: u?.backendUser ?? user,
      password: backendPassword,
      secret: backendPassword === null ? this.learned.secret(user) : null,
      authMethods: new Set(this.cfg.cluster.authMethods),
      database,
      tls: backendTls(this.cfg.cluster),
      timeoutMs: this.cfg.pool.connectTimeoutMs,
    };
  }

  /** Backends checked out (serving sessions) on a node: the router's busy-ness tie-break. */
  activeBackends = (node: string): number => {
    const list = this.byNode.get(node);
    if (list === undefined) return 0;
    let n = 0;
    for (const p of list) n += p.activeCount;
    return n;
  };

  poolsOfNode(node: string): readonly Pool[] {
    return this.byNode.get(node) ?? [];
  }

  allPools(): IterableIterator<Pool> {
    return this.pools.values();
  }

  /** Drain support: stop opening, close idle backends on the node. */
  setNodeDraining(node: string, isDraining: boolean): void {
    if (isDraining) this.drainingNodes.add(node);
    else this.drainingNodes.delete(node);
    for (const p of this.poolsOfNode(node)) {
      p.isDraining = isDraining;
      if (!isDraining) continue;
      p.closeIdle('node draining');
      // Sessions queued for this node sent nothing yet: they route again, to another node.
      p.failWaiters(new NodeDrainingError(`node "${node}" is draining`));
    }
  }

  /**
   * The node went down (failed probes, or evicted on live traffic): sessions queued for it, or
   * waiting for a connect to it, sent nothing yet, so they route again (to another node, or wait
   * routing.write_wait for one).
   */
  nodeDown(node: string): void {
    for (const p of this.poolsOfNode(node)) {
      const err = new NodeDownError(`node "${node}" is down`);
      p.failWaiters(err);
      p.abandonConnects(err);
    }
  }

  /** Drops the pools of a node removed from the config (their backends close as they come back). */
  removeNode(node: string): void {
    for (const p of this.poolsOfNode(node)) {
      p.isDraining = true;
      p.isRemoved = true;
      p.closeIdle('node removed');
      p.failWaiters(new NodeDrainingError(`node "${node}" was removed`));
      this.pools.delete(`${p.node}\0${p.user}\0${p.database}`);
    }
    this.byNode.delete(node);
    this.drainingNodes.delete(node);
  }

  /** Closes idle backends of a node (eviction, removal). */
  closeIdleOfNode(node: string, reason: string): void {
    for (const p of this.poolsOfNode(node)) p.closeIdle(reason);
  }

  closeAllIdle(reason: string): void {
    for (const p of this.pools.values()) p.closeIdle(reason);
  }
}
