// TxEffects alone: savepoint bookkeeping over pending effects, as PostgreSQL defines it (nested
// savepoints, RELEASE keeps the effects, a name declared again, ROLLBACK TO keeps the savepoint).

import { describe, expect, it } from 'vitest';
import type { SessionEffect } from '../../../src/classify/types.js';
import { timingOf, TxEffects } from '../../../src/frontend/tx-effects.js';

const set = (name: string): SessionEffect => ({ type: 'set', name, sql: `SET ${name} = 1` });
const sp = (name: string): SessionEffect => ({ type: 'savepoint', name });
const release = (name: string): SessionEffect => ({ type: 'release', name });
const rollbackTo = (name: string): SessionEffect => ({ type: 'rollback-to', name });

function run(...effects: SessionEffect[]): TxEffects {
  const tx = new TxEffects();
  for (const e of effects) tx.record(e);
  return tx;
}

const names = (tx: TxEffects): string[] => tx.pendingEffects().map((e) => (e.type === 'set' ? e.name : e.type));

describe('TxEffects', () => {
  it('ROLLBACK TO drops the effects after the savepoint and keeps it (a second ROLLBACK TO works)', () => {
    const tx = run(set('a'), sp('s'), set('b'), rollbackTo('s'));
    expect(names(tx)).toEqual(['a']);
    expect(tx.savepointNames()).toEqual(['s']);
    tx.record(set('c'));
    tx.record(rollbackTo('s'));
    expect(names(tx)).toEqual(['a']);
    expect(tx.commit().map((e) => e.type)).toEqual(['set']);
    expect(tx.isEmpty).toBe(true);
  });

  it('nested: ROLLBACK TO the outer savepoint destroys the inner ones', () => {
    const tx = run(sp('s1'), set('a'), sp('s2'), set('b'), sp('s3'), set('c'), rollbackTo('s2'));
    expect(names(tx)).toEqual(['a']);
    expect(tx.savepointNames()).toEqual(['s1', 's2']);
    tx.record(rollbackTo('s1'));
    expect(names(tx)).toEqual([]);
    expect(tx.savepointNames()).toEqual(['s1']);
  });

  it('RELEASE keeps the effects, which then belong to the enclosing savepoint', () => {
    const tx = run(sp('s1'), set('a'), sp('s2'), set('b'), release('s2'));
    expect(names(tx)).toEqual(['a', 'b']);
    expect(tx.savepointNames()).toEqual(['s1']);
    tx.record(rollbackTo('s1'));
    expect(names(tx)).toEqual([]);
  });

  it('RELEASE of an outer savepoint releases the inner ones too', () => {
    const tx = run(sp('s1'), sp('s2'), set('a'), release('s1'));
    expect(tx.savepointNames()).toEqual([]);
    expect(names(tx)).toEqual(['a']);
  });

  it('a name declared again: ROLLBACK TO and RELEASE act on the newest one', () => {
    const tx = run(sp('s'), set('a'), sp('s'), set('b'), rollbackTo('s'));
    expect(names(tx)).toEqual(['a']);
    expect(tx.savepointNames()).toEqual(['s', 's']);
    tx.record(release('s'));
    expect(tx.savepointNames()).toEqual(['s']);
    tx.record(rollbackTo('s'));
    expect(names(tx)).toEqual([]);
  });

  it('ROLLBACK TO a savepoint it never saw drops everything and says so', () => {
    const tx = run(set('a'), sp('s'), set('b'));
    expect(tx.record(rollbackTo('elsewhere'))).toBe(false);
    expect(tx.isEmpty).toBe(true);
  });

  it('ROLLBACK forgets effects and savepoints', () => {
    const tx = run(sp('s'), set('a'));
    tx.rollback();
    expect(tx.isEmpty).toBe(true);
    expect(tx.commit()).toEqual([]);
  });

  it('only effects a ROLLBACK undoes wait for COMMIT', () => {
    const now: SessionEffect[] = [
      { type: 'prepare', name: 'p', sql: 'PREPARE p AS SELECT 1' },
      { type: 'deallocate', name: null },
      { type: 'pin', pin: 'advisory-lock', key: '1' },
      { type: 'unpin', pin: 'advisory-lock', key: null },
      { type: 'catalog-changed' },
    ];
    const tx = run(...now);
    expect(tx.isEmpty).toBe(true);
    expect(now.map(timingOf)).toEqual(['now', 'now', 'now', 'now', 'now']);
    expect(timingOf({ type: 'pin', pin: 'temp-table', key: 't' })).toBe('at-commit');
    expect(timingOf({ type: 'unpin', pin: 'cursor', key: 'c' })).toBe('now-and-at-commit');
  });
});
