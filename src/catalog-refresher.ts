// Keeps the classifier's function-volatility catalog fresh: loads pg_proc from a master of each
// database clients use (periodically, and soon after DDL on functions seen through Meridian).
// One short-lived pg.Client per refresh, never a pooled backend; it honours cluster.tls like every
// other connection Meridian opens to a node (the backend password and pg_proc travel in it).
// Sees the rest of the proxy only through CatalogHost; routing.catalog_refresh reloads (applyConfig).

import pg from 'pg';
import { backendTls, isTlsRequired, tlsOptions } from './backend/backend-tls.js';
import { VolatilityCatalog } from './classify/catalog.js';
import type { ClusterConfig, MeridianConfig } from './config/types.js';
import type { Logger } from './logger.js';
import type { TopologySnapshot } from './topology/types.js';

interface Target {
  host: string;
  port: number;
  user: string;
  password: string | null;
  database: string;
}

/**
 * A connected pg.Client with cluster.tls applied: require/verify-* insist on TLS (verify-* check
 * the certificate), prefer tries TLS first and falls back to plain text only when the node
 * says it has no TLS, as libpq does.
 */
async function connectClient(cluster: ClusterConfig, t: Target): Promise<pg.Client> {
  const mode = cluster.tls;
  const open = async (isTls: boolean): Promise<pg.Client> => {
    const client = new pg.Client({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password ?? undefined,
      database: t.database,
      connectionTimeoutMillis: 5000,
      application_name: 'meridian-catalog',
      ssl: isTls ? tlsOptions(backendTls(cluster), t.host) : false,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      void client.end().catch(() => {});
      throw e;
    }
  };
  if (mode === 'disable') return open(false);
  if (isTlsRequired(mode)) return open(true);
  try {
    return await open(true);
  } catch (e) {
    if (!/does not support SSL/i.test(String((e as Error).message))) throw e;
    return open(false);
  }
}

/** What the refresher needs from the proxy: settings, where to connect, where the rows go. */
export interface CatalogHost {
  readonly logger: Logger;
  /** The running config (users, cluster.tls, routing.catalog_refresh). */
  config(): MeridianConfig;
  snapshot(): TopologySnapshot;
  /** Fresh pg_proc rows of every known database, to swap into the classifier's catalog. */
  replaceRows(rows: readonly unknown[]): void;
}

export class CatalogRefresher {
  readonly lookup = new VolatilityCatalog();
  private readonly host: CatalogHost;
  private readonly databases = new Map<string, string>(); // database → user seen
  private timer: NodeJS.Timeout | null = null;
  /** The period the running timer was set with (routing.catalog_refresh). */
  private everyMs = 0;
  private soon: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(host: CatalogHost) {
    this.host = host;
  }

  start(): void {
    this.startTimer(this.host.config().routing.catalogRefreshMs);
  }

  /** routing.catalog_refresh changed: the next refresh comes one new period from now. */
  applyConfig(next: MeridianConfig): void {
    const every = next.routing.catalogRefreshMs;
    if (this.timer === null || every === this.everyMs) return;
    clearInterval(this.timer);
    this.startTimer(every);
  }

  private startTimer(everyMs: number): void {
    this.everyMs = everyMs;
    this.timer = setInterval(() => void this.refresh(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = null;
  }

  /**
   * A session connected to this database: include it in refreshes (first time: now). The user
   * noted first is kept while the config still has it (a reload may remove it).
   */
  noteDatabase(user: string, database: string): void {
    const known = this.databases.get(database);
    if (known !== undefined && (known === user || this.host.config().users.some((u) => u.name === known))) return;
    this.databases.set(database, user);
    if (known === undefined) this.refreshSoon(0);
  }

  refreshSoon(delayMs = 100): void {
    if (this.soon !== null) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.refresh();
    }, delayMs);
    this.soon.unref();
  }

  /** Loads every known database's pg_proc and swaps the catalog in one step. */
  refresh(): Promise<void> {
    if (this.running !== null) return this.running.then(() => this.refresh());
    this.running = this.doRefresh().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async doRefresh(): Promise<void> {
    const h = this.host;
    const snap = h.snapshot();
    const node = snap.nodes.find((n) => n.isUp && n.role === 'master') ?? snap.nodes.find((n) => n.isUp);
    if (node === undefined || this.databases.size === 0) return;
    const rows: Array<{ nspname: string; proname: string; provolatile: string }> = [];
    for (const [database, userName] of this.databases) {
      const cfg = h.config();
      const user = cfg.users.find((u) => u.name === userName);
      if (user === undefined) continue;
      let client: pg.Client | null = null;
      try {
        client = await connectClient(cfg.cluster, { host: node.host, port: node.port, user: user.backendUser, password: user.backendPassword, database });
        const r = await client.query(VolatilityCatalog.SQL);
        rows.push(...(r.rows as typeof rows));
      } catch (e) {
        h.logger.warn({ node: node.name, database, err: (e as Error).message }, 'catalog refresh failed');
      } finally {
        void client?.end().catch(() => {});
      }
    }
    if (rows.length > 0) {
      h.replaceRows(rows);
      if (h.logger.isLevelEnabled('debug')) h.logger.debug({ functions: rows.length }, 'catalog refreshed');
    }
  }
}
