// Keeps the classifier's function-volatility catalog fresh: loads pg_proc from a master of each
// database clients use (periodically, and soon after DDL on functions seen through Meridian).
// One short-lived pg.Client per refresh, never a pooled backend.

import pg from 'pg';
import { VolatilityCatalog } from './classify/catalog.js';
import type { Meridian } from './server.js';

export class CatalogRefresher {
  readonly lookup = new VolatilityCatalog();
  private readonly m: Meridian;
  private readonly databases = new Map<string, string>(); // database → user seen
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(m: Meridian) {
    this.m = m;
  }

  start(): void {
    const every = this.m.config.routing.catalogRefreshMs;
    this.timer = setInterval(() => void this.refresh(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = null;
  }

  /** A session connected to this database: include it in refreshes (first time: now). */
  noteDatabase(user: string, database: string): void {
    if (this.databases.has(database)) return;
    this.databases.set(database, user);
    this.refreshSoon(0);
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
    const m = this.m;
    const snap = m.health.snapshot;
    const node = snap.nodes.find((n) => n.isUp && n.role === 'master') ?? snap.nodes.find((n) => n.isUp);
    if (node === undefined || this.databases.size === 0) return;
    const rows: Array<{ nspname: string; proname: string; provolatile: string }> = [];
    for (const [database, userName] of this.databases) {
      const user = m.config.users.find((u) => u.name === userName);
      if (user === undefined) continue;
      const client = new pg.Client({
        host: node.host, port: node.port, user: user.backendUser, password: user.backendPassword ?? undefined,
        database, connectionTimeoutMillis: 5000, application_name: 'meridian-catalog',
      });
      client.on('error', () => {});
      try {
        await client.connect();
        const r = await client.query(VolatilityCatalog.SQL);
        rows.push(...(r.rows as typeof rows));
      } catch (e) {
        m.logger.warn({ node: node.name, database, err: (e as Error).message }, 'catalog refresh failed');
      } finally {
        void client.end().catch(() => {});
      }
    }
    if (rows.length > 0) {
      m.classifier.replaceCatalogRows(rows);
      if (m.logger.isLevelEnabled('debug')) m.logger.debug({ functions: rows.length }, 'catalog refreshed');
    }
  }
}
