// Which refused writes may be retried is a field the classifier sets (isPlainDml), not a match
// on the human-readable reason (issue 16, bug 4): rewording a reason must not change retries.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Classifier } from '../../../src/classify/classifier.js';
import type { Classification } from '../../../src/classify/types.js';
import { isRetryableWrite } from '../../../src/frontend/refused-retry.js';
import { testClassifier } from './case-helpers.js';

let classifier: Classifier;
beforeAll(async () => {
  classifier = await testClassifier();
});

describe('Classification.isPlainDml', () => {
  it.each([
    ['INSERT INTO accounts (id) VALUES (1)', true],
    ['insert into accounts (id) values (now_volatile())', true],
    ['UPDATE accounts SET balance = 0 WHERE id = 1', true],
    ['DELETE FROM accounts WHERE id = 1', true],
    ['MERGE INTO accounts a USING accounts b ON a.id = b.id WHEN MATCHED THEN DO NOTHING', true],
    ['COPY accounts FROM STDIN', true],
    ['/* route=master */ UPDATE accounts SET balance = 1', true],
    ['SELECT 1', false],
    ['SELECT * FROM accounts FOR UPDATE', false],
    ['WITH d AS (DELETE FROM accounts RETURNING id) SELECT * FROM d', false],
    ['EXPLAIN ANALYZE INSERT INTO accounts (id) VALUES (1)', false],
    ['INSERT INTO accounts (id) VALUES (1); INSERT INTO accounts (id) VALUES (2)', false],
    ['CREATE TABLE t (a int)', false],
    ["SELECT nextval('s')", false],
    ['COPY accounts TO STDOUT', false],
  ])('%s → %s', (sql, expected) => {
    expect(classifier.classify(sql).isPlainDml).toBe(expected);
  });
});

describe('isRetryableWrite', () => {
  const base = classifierless({ statements: 1, effects: [], isPlainDml: true, reason: 'insert' });
  it('follows the field, whatever the reason says', () => {
    expect(isRetryableWrite(base)).toBe(true);
    expect(isRetryableWrite({ ...base, reason: 'insert of 3 rows into accounts' })).toBe(true);
    expect(isRetryableWrite({ ...base, isPlainDml: false })).toBe(false);
    expect(isRetryableWrite({ ...base, isPlainDml: false, reason: 'update' })).toBe(false);
    expect(isRetryableWrite(null)).toBe(false);
  });
});

function classifierless(c: Partial<Classification>): Classification {
  return {
    class: 'write',
    isWrite: true,
    readOnly: false,
    hint: null,
    functions: [],
    ordered: false,
    onlyMeridianSettings: false,
    resetsBackend: false,
    ...c,
  } as Classification;
}
