// Function volatility as the cluster's pg_proc reports it. Holds an immutable name → volatility
// map that load() replaces whole; version moves only when the content changes, so a periodic
// refresh that finds nothing new keeps the classifier's caches. No IO of its own: refresh() takes
// a query function (a pg.Client's, a pool's, a test's).

import type { Volatility, VolatilityLookup } from './types.js';

/** One row of VOLATILITY_SQL. */
export interface CatalogRow {
  readonly nspname: string;
  readonly proname: string;
  readonly provolatile: string; // 'i' | 's' | 'v'
}

/**
 * Every function and procedure outside pg_toast and temp schemas; overloads of one name are
 * folded to the most volatile ('v' > 's' > 'i' sorts the same as volatile > stable > immutable).
 */
export const VOLATILITY_SQL =
  'SELECT n.nspname, p.proname, max(p.provolatile::text) AS provolatile ' +
  'FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace ' +
  "WHERE n.nspname <> 'pg_toast' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%' " +
  'GROUP BY n.nspname, p.proname';

const RANK: Readonly<Record<Volatility, number>> = { immutable: 0, stable: 1, volatile: 2 };

function toVolatility(code: string): Volatility | undefined {
  return code === 'i' ? 'immutable' : code === 's' ? 'stable' : code === 'v' ? 'volatile' : undefined;
}

function isCatalogRow(row: unknown): row is CatalogRow {
  if (typeof row !== 'object' || row === null) return false;
  const r = row as Record<string, unknown>;
  return typeof r['nspname'] === 'string' && typeof r['proname'] === 'string' && typeof r['provolatile'] === 'string';
}

export class VolatilityCatalog implements VolatilityLookup {
  static readonly SQL = VOLATILITY_SQL;
  private functions: ReadonlyMap<string, Volatility> = new Map();
  private currentVersion = 0;
  private hasLoaded = false;

  get version(): number {
    return this.currentVersion;
  }

  get isLive(): boolean {
    return this.hasLoaded;
  }

  /** Number of names known (qualified and bare). */
  get size(): number {
    return this.functions.size;
  }

  /** Exact name as parsed ("schema.name" or "name"); bare names cover every schema, most volatile wins. */
  volatility(name: string): Volatility | undefined {
    return this.functions.get(name);
  }

  /**
   * Replaces the catalog with pg_proc rows (rows of several databases may be concatenated).
   * Rows that are not CatalogRow-shaped are skipped. Returns whether the content changed.
   */
  load(rows: readonly unknown[]): boolean {
    const next = new Map<string, Volatility>();
    for (const row of rows) {
      if (!isCatalogRow(row)) continue;
      const volatility = toVolatility(row.provolatile);
      if (volatility === undefined) continue;
      mergeInto(next, `${row.nspname}.${row.proname}`, volatility);
      // A bare call resolves through search_path: assume the most volatile of the candidates.
      mergeInto(next, row.proname, volatility);
    }
    const isChanged = !this.hasLoaded || !sameMap(this.functions, next);
    this.hasLoaded = true;
    if (isChanged) {
      this.functions = next;
      this.currentVersion++;
    }
    return isChanged;
  }

  /** Runs VOLATILITY_SQL through `query` (e.g. `(sql) => client.query(sql)` of a pg.Client) and loads it. */
  async refresh(query: (sql: string) => Promise<{ readonly rows: readonly unknown[] }>): Promise<boolean> {
    const result = await query(VOLATILITY_SQL);
    return this.load(result.rows);
  }
}

function mergeInto(map: Map<string, Volatility>, name: string, volatility: Volatility): void {
  const prev = map.get(name);
  if (prev === undefined || RANK[volatility] > RANK[prev]) map.set(name, volatility);
}

function sameMap(a: ReadonlyMap<string, Volatility>, b: ReadonlyMap<string, Volatility>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
