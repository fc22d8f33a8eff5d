// Issue 14: code the classifier cannot see into (DO blocks, CALL, volatile functions that are not
// built-ins) may set_config, SET ROLE through EXECUTE, create temp tables, lock or LISTEN. Such a
// request is marked resetsBackend so the pool resets the backend before another session uses it;
// plain SQL and built-ins whose effects Meridian reads from the call are not.

import { beforeAll, describe, expect, it } from 'vitest';
import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';

let live: Classifier;
let cold: Classifier;

beforeAll(async () => {
  await Classifier.init();
  const catalog = new VolatilityCatalog();
  catalog.load([
    { nspname: 'public', proname: 'bump', provolatile: 'v' },
    { nspname: 'public', proname: 'pure_fn', provolatile: 'i' },
    { nspname: 'app', proname: 'audit', provolatile: 'v' },
    { nspname: 'pg_catalog', proname: 'upper', provolatile: 'i' },
    { nspname: 'pg_catalog', proname: 'pg_stat_clear_snapshot', provolatile: 'v' },
  ]);
  live = new Classifier({ catalog });
  cold = new Classifier({ catalog: new VolatilityCatalog() });
});

describe('Classification.resetsBackend', () => {
  it.each([
    [`DO $$ BEGIN PERFORM set_config('search_path', 'x', false); END $$`],
    ['do language plpgsql $$begin create temp table t(a int); end$$'],
    ['CALL app.do_things(1)'],
    ['call p()'],
    ['select bump()'],
    ['select app.audit($1)'],
    ['select 1; select bump()'],
    ['insert into t values (bump())'],
    ['with x as (select bump()) select * from x'],
    ['select public.bump() from t where a = 1'],
  ])('%s → reset', (sql) => {
    expect(live.classify(sql).resetsBackend).toBe(true);
  });

  it.each([
    ['select 1'],
    ['select upper(name) from t'],
    ['select pure_fn(1)'],
    ['select now(), random()'],
    ["select nextval('s')"],
    ['select pg_advisory_lock(1)'], // pins the session instead (its effect is read from the call)
    ["select set_config('a.b', 'c', false)"], // pins as opaque state instead
    ['select pg_stat_clear_snapshot()'], // a built-in (pg_catalog), volatile: no session state
    ['insert into t values (1)'],
    ['set search_path = a'],
    ['begin'],
  ])('%s → no reset', (sql) => {
    expect(live.classify(sql).resetsBackend).toBe(false);
  });

  it('without a catalog, an unknown function may be anything: reset', () => {
    expect(cold.classify('select bump()').resetsBackend).toBe(true);
    expect(cold.classify('select now()').resetsBackend).toBe(false);
  });

  it('the parser path agrees with the fast path', () => {
    expect(live.classifyWithParser('select bump($1)').resetsBackend).toBe(true);
    expect(live.classifyWithParser('select $1::int').resetsBackend).toBe(false);
  });
});
