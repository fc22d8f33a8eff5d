// VolatilityCatalog: pg_proc rows → lookups by qualified and bare name; version moves only on change.

import { describe, expect, it } from 'vitest';
import { VolatilityCatalog, VOLATILITY_SQL } from '../../../src/classify/catalog.js';

describe('VolatilityCatalog', () => {
  it('starts empty and not live', () => {
    const catalog = new VolatilityCatalog();
    expect(catalog.isLive).toBe(false);
    expect(catalog.version).toBe(0);
    expect(catalog.volatility('now')).toBeUndefined();
  });

  it('answers qualified and bare names; a bare name takes the most volatile schema', () => {
    const catalog = new VolatilityCatalog();
    catalog.load([
      { nspname: 'public', proname: 'f', provolatile: 's' },
      { nspname: 'app', proname: 'f', provolatile: 'v' },
      { nspname: 'pg_catalog', proname: 'now', provolatile: 's' },
      { nspname: 'public', proname: 'g', provolatile: 'i' },
      { nspname: 'public', proname: 'g', provolatile: 's' }, // an overload in another database's rows
    ]);
    expect(catalog.isLive).toBe(true);
    expect(catalog.volatility('public.f')).toBe('stable');
    expect(catalog.volatility('app.f')).toBe('volatile');
    expect(catalog.volatility('f')).toBe('volatile');
    expect(catalog.volatility('pg_catalog.now')).toBe('stable');
    expect(catalog.volatility('now')).toBe('stable');
    expect(catalog.volatility('g')).toBe('stable');
  });

  it('moves its version only when the content changes', () => {
    const catalog = new VolatilityCatalog();
    const rows = [{ nspname: 'public', proname: 'f', provolatile: 'v' }];
    expect(catalog.load(rows)).toBe(true);
    expect(catalog.version).toBe(1);
    expect(catalog.load([...rows])).toBe(false);
    expect(catalog.version).toBe(1);
    expect(catalog.load([{ nspname: 'public', proname: 'f', provolatile: 's' }])).toBe(true);
    expect(catalog.version).toBe(2);
    expect(catalog.volatility('f')).toBe('stable');
  });

  it('marks itself live even when the first load is empty', () => {
    const catalog = new VolatilityCatalog();
    expect(catalog.load([])).toBe(true);
    expect(catalog.isLive).toBe(true);
  });

  it('skips rows of the wrong shape', () => {
    const catalog = new VolatilityCatalog();
    catalog.load([
      null,
      1,
      { nspname: 'public' },
      { nspname: 'public', proname: 'h', provolatile: 'x' },
      { nspname: 'public', proname: 'ok', provolatile: 'i' },
    ]);
    expect(catalog.size).toBe(2);
    expect(catalog.volatility('ok')).toBe('immutable');
  });

  it('refreshes through any query function', async () => {
    const catalog = new VolatilityCatalog();
    let seen = '';
    const changed = await catalog.refresh(async (sql) => {
      seen = sql;
      return { rows: [{ nspname: 'public', proname: 'f', provolatile: 'v' }] };
    });
    expect(changed).toBe(true);
    expect(seen).toBe(VOLATILITY_SQL);
    expect(VolatilityCatalog.SQL).toBe(VOLATILITY_SQL);
    expect(catalog.volatility('public.f')).toBe('volatile');
  });

  it('queries pg_proc without toast or temp schemas', () => {
    expect(VOLATILITY_SQL).toMatch(/pg_catalog\.pg_proc/);
    expect(VOLATILITY_SQL).toMatch(/pg_toast/);
    expect(VOLATILITY_SQL).toMatch(/pg\\_temp/);
  });
});
