// Transaction order in classifications (Classification.ordered): BEGIN / COMMIT / ROLLBACK /
// PREPARE TRANSACTION markers, and statement boundaries where several statements have effects.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Classifier } from '../../../src/classify/classifier.js';
import type { Classification } from '../../../src/classify/types.js';
import { testClassifier } from './case-helpers.js';

let classifier: Classifier;
beforeAll(async () => {
  classifier = await testClassifier();
});

/** Effects as short words, for both paths (fast path where it applies, and the parser only). */
function shape(sql: string): { ordered: boolean; effects: string[] }[] {
  const word = (c: Classification) => ({
    ordered: c.ordered,
    effects: c.effects.map((e) =>
      e.type === 'tx-end' ? `${e.end}${e.chain ? '+chain' : ''}` : e.type === 'statement-end' ? '|' : e.type === 'set' ? `set ${e.name}` : e.type,
    ),
  });
  return [word(classifier.classify(sql)), word(classifier.classifyWithParser(sql))];
}

describe('ordered effects', () => {
  it('a lone BEGIN / COMMIT / ROLLBACK / PREPARE TRANSACTION carries its marker', () => {
    const cases: [string, string][] = [
      ['begin', 'tx-begin'],
      ['start transaction read only', 'tx-begin'],
      ['commit', 'commit'],
      ['end', 'commit'],
      ['commit and no chain', 'commit'],
      ['rollback', 'rollback'],
      ['abort', 'rollback'],
      ["prepare transaction 'x'", 'prepare'],
    ];
    for (const [sql, marker] of cases) for (const s of shape(sql)) expect(s, sql).toEqual({ ordered: true, effects: [marker] });
  });

  it('a lone statement that neither begins nor ends a block carries none', () => {
    for (const sql of ['savepoint a', 'select 1', "set work_mem = '1MB'"]) {
      for (const s of shape(sql)) expect(s.ordered, sql).toBe(false);
    }
  });

  it('AND CHAIN alone is ordered', () => {
    for (const s of shape('commit and chain')) expect(s).toEqual({ ordered: true, effects: ['commit+chain'] });
    for (const s of shape('rollback work and chain')) expect(s).toEqual({ ordered: true, effects: ['rollback+chain'] });
    for (const s of shape('abort and chain')) expect(s).toEqual({ ordered: true, effects: ['rollback+chain'] });
  });

  it('several statements: markers in order with a boundary after each statement', () => {
    for (const s of shape("set timezone = 'UTC'; begin; set work_mem = '5MB'; rollback")) {
      expect(s).toEqual({ ordered: true, effects: ['set timezone', '|', 'tx-begin', '|', 'set work_mem', '|', 'rollback', '|'] });
    }
    for (const s of shape('savepoint a; select 1/0; savepoint a')) {
      expect(s).toEqual({ ordered: true, effects: ['savepoint', '|', '|', 'savepoint', '|'] });
    }
  });

  it('several statements with no effect at all stay unordered and empty', () => {
    for (const s of shape('select 1; select 2')) expect(s).toEqual({ ordered: false, effects: [] });
    for (const s of shape('insert into t values (1); insert into t values (2)')) expect(s).toEqual({ ordered: false, effects: [] });
  });
});
