// All pools, keyed by (node, user, database), plus the janitor that sweeps them once a second
// and the cache of server ParameterStatus values shown to clients at startup. Knows nodes and
// credentials from the config snapshot it is given; knows nothing of routing or sessions.

import type { MeridianConfig, NodeConfig, UserConfig } from '../config/types.js';
import type { Backend } from './backend.js';
import { backendTls } from './backend-tls.js';
import { NodeDrainingError, Pool, type PoolHooks } from './pool.js';
import type { ConnectError } from './server-connect.js';
import { LearnedLogins } from '../auth/learned-logins.js';

export interface PoolEvents {
  onConnectError(node: string, err: ConnectError): void;
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
  /** node name → pools of that node (for per-node counts and drain). */
  private readonly byNode = new Map<string, Pool[]>();
  private readonly hooks: PoolHooks;
  private readonly mayPrefill: (node: string) => boolean;
  private janitor: NodeJS.Timeout | null = null;
  /** Cached clock, refreshed by the janitor and on demand (STYLE hot path rule 6). */
  nowMs = Date.now();
  /** "user\0db" → ParameterStatus values from the first backend opened for it. */
  readonly serverParams = new Map<string, Map<string, string>>();
  /** Users and pass-through secrets learned from client logins (auth.query, stored SCRAM secrets). */
  readonly learned = new LearnedLogins();

  constructor(cfg: MeridianConfig, events: PoolEvents) {
    this.cfg = cfg;
    this.setConfig(cfg);
    this.mayPrefill = events.mayPrefill ?? (() => true);
    this.hooks = {
      onConnectError: (node, err) => events.onConnectError(node, err),
      onBackendClosed: (b, reason) => events.onBackendClosed(b, reason),
      onBackendOpened: (b) => {
        const key = `${b.user}\0${b.database}`;
        if (!this.serverParams.has(key)) this.serverParams.set(key, new Map(b.serverParams));
        events.onBackendOpened(b);
      },
      nowMs: () => (this.nowMs = Date.now()),
    };
  }

  setConfig(cfg: MeridianConfig): void {
    this.cfg = cfg;
    this.nodes = new Map(cfg.cluster.nodes.map((n) => [n.name, n]));
    this.users = new Map(cfg.users.map((u) => [u.name, u]));
    for (const p of this.pools.values()) p.maxSize = cfg.pool.size;
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
    for (const pool of this.pools.values()) {
      pool.sweep(now, p.idleTimeoutMs, p.maxLifetimeMs, p.queueTimeoutMs, p.minIdle);
      if (p.minIdle > 0 && this.mayPrefill(pool.node)) pool.fill(p.minIdle, now);
    }
  }

  /** The pool for (node, client user, database); created on first use. Null for an unknown node/user. */
  pool(node: string, user: string, database: string): Pool | null {
    const key = `${node}\0${user}\0${database}`;
    let pool = this.pools.get(key);
    if (pool !== undefined) return pool;
    const n = this.nodes.get(node);
    const u = this.users.get(user) ?? this.learned.user(user);
    if (n === undefined || u === undefined) return null;
    pool = new Pool(node, user, database, this.cfg.pool.size, () => this.connectOptions(node, user, database), this.hooks);
    this.pools.set(key, pool);
    let list = this.byNode.get(node);
    if (list === undefined) this.byNode.set(node, (list = []));
    list.push(pool);
    return pool;
  }

  private connectOptions(node: string, user: string, database: string) {
    // Read the node and user at connect time so a reload's new host/password applies.
    const n = this.nodes.get(node)!;
    const u = this.users.get(user) ?? this.learned.user(user);
    const backendPassword = u?.backendPassword ?? null;
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
    for (const p of this.poolsOfNode(node)) {
      p.isDraining = isDraining;
      if (!isDraining) continue;
      p.closeIdle('node draining');
      // Sessions queued for this node sent nothing yet: they route again, to another node.
      p.failWaiters(new NodeDrainingError(`node "${node}" is draining`));
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
  }

  /** Closes idle backends of a node (eviction, removal). */
  closeIdleOfNode(node: string, reason: string): void {
    for (const p of this.poolsOfNode(node)) p.closeIdle(reason);
  }

  closeAllIdle(reason: string): void {
    for (const p of this.pools.values()) p.closeIdle(reason);
  }
}
