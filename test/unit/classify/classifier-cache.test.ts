// The classifier's caches: literal-free texts are cached exactly; literal-heavy ad-hoc SQL does not
// evict them; parser results are shared by shape only when no literal can change them; a catalog
// change drops everything.

import { beforeAll, describe, expect, it } from 'vitest';
import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';

beforeAll(async () => {
  await Classifier.init();
});

const fresh = (opts: { cacheSize?: number; maxCachedLength?: number } = {}): Classifier => new Classifier({ catalog: new VolatilityCatalog(), ...opts });

describe('Classifier caching', () => {
  it('returns the same frozen object for a cached text', () => {
    const c = fresh();
    const a = c.classify('SELECT * FROM t WHERE id = $1');
    expect(c.classify('SELECT * FROM t WHERE id = $1')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.effects)).toBe(true);
    expect(c.stats.exactHits).toBe(1);
  });

  it('keeps literal-free statements cached while literal-heavy ad-hoc SQL streams through', () => {
    const c = fresh({ cacheSize: 100 });
    const prepared = Array.from({ length: 50 }, (_, i) => `SELECT a, b FROM t${i} WHERE id = $1`);
    for (const sql of prepared) c.classify(sql);
    for (let i = 0; i < 20_000; i++) c.classify(`SELECT a, b FROM t WHERE id = ${i} AND name = 'user${i}'`);
    const hitsBefore = c.stats.exactHits;
    for (const sql of prepared) c.classify(sql);
    expect(c.stats.exactHits - hitsBefore).toBe(50);
    expect(c.cacheSizes().exact).toBe(50);
  });

  it('shares parser results between texts of one shape', () => {
    const c = fresh();
    const a = c.classify("SELECT * FROM t WHERE a = 1 AND mystery_fn('x')");
    const b = c.classify("select * from t where a = 2 and mystery_fn('y')");
    expect(c.stats.fullParse).toBe(1);
    expect(c.stats.shapeHits).toBe(1);
    expect(b).toEqual(a);
    expect(b.functions).toEqual(['mystery_fn']);
  });

  it('never shares results whose effects depend on a literal', () => {
    const c = fresh();
    expect(c.classify('SELECT pg_advisory_lock(1)').effects).toEqual([{ type: 'pin', pin: 'advisory-lock', key: '1' }]);
    expect(c.classify('SELECT pg_advisory_lock(2)').effects).toEqual([{ type: 'pin', pin: 'advisory-lock', key: '2' }]);
    expect(c.classify("SELECT set_config('a', 'b', true)").effects).toEqual([]);
    expect(c.classify("SELECT set_config('a', 'b', false)").effects).toEqual([{ type: 'state-unknown' }]);
    expect(c.classify('EXPLAIN (ANALYZE false) DELETE FROM t').class).toBe('read');
    expect(c.classify('EXPLAIN (ANALYZE true) DELETE FROM t').class).toBe('write');
    expect(c.classify('EXPLAIN (ANALYZE 0) DELETE FROM t').class).toBe('read');
    expect(c.classify('EXPLAIN (ANALYZE 1) DELETE FROM t').class).toBe('write');
    expect(c.stats.shapeHits).toBe(0);
    // …but the same text again comes from the small ad-hoc cache
    c.classify('SELECT pg_advisory_lock(1)');
    expect(c.cacheSizes().adhoc).toBeGreaterThan(0);
  });

  it('keeps hints per text when sharing a shape', () => {
    const c = fresh();
    expect(c.classify('/* meridian: route=replica */ SELECT mystery_fn(1)').hint).toEqual({ route: 'replica' });
    expect(c.classify('SELECT mystery_fn(2)').hint).toBeNull();
    expect(c.classify('/* meridian: node=n1 */ SELECT mystery_fn(3)').hint).toEqual({ node: 'n1' });
    expect(c.stats.shapeHits).toBe(2);
  });

  it('drops cached answers when the catalog version moves', () => {
    const catalog = new VolatilityCatalog();
    const c = new Classifier({ catalog });
    expect(c.classify('SELECT report_fn($1)').class).toBe('write');
    expect(c.classify('SELECT report_fn(42)').class).toBe('write');
    c.replaceCatalogRows([{ nspname: 'public', proname: 'report_fn', provolatile: 's' }]);
    expect(c.classify('SELECT report_fn($1)').class).toBe('read');
    expect(c.classify('SELECT report_fn(42)').class).toBe('read');
  });

  it('does not cache texts longer than maxCachedLength', () => {
    const c = fresh({ maxCachedLength: 100 });
    const long = `SELECT ${'a, '.repeat(100)}b FROM t`;
    c.classify(long);
    c.classify(long);
    expect(c.stats.exactHits).toBe(0);
    expect(c.cacheSizes().exact).toBe(0);
  });

  it('settles common shapes on the fast path without the parser', () => {
    const c = fresh();
    const common = [
      'BEGIN',
      'COMMIT',
      'ROLLBACK',
      'SELECT 1',
      'SELECT * FROM t WHERE id = $1 LIMIT $2',
      'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
      'INSERT INTO t (a) VALUES ($1) RETURNING id',
      'DELETE FROM t WHERE id = $1',
      "SET application_name = 'x'",
      'SHOW search_path',
      'SELECT count(*) FROM t',
      'SELECT * FROM t FOR UPDATE SKIP LOCKED',
      "SELECT nextval('s')",
      'SELECT now()',
      'RESET ALL',
      'SAVEPOINT a',
      'SELECT "public"."User"."id" FROM "public"."User" WHERE "public"."User"."id" = $1 LIMIT $2 OFFSET $3',
    ];
    for (const sql of common) c.classify(sql);
    expect(c.stats.fullParse).toBe(0);
    expect(c.stats.fastPath).toBe(common.length);
  });
});
