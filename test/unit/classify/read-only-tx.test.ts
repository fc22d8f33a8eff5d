// The read-only-transaction rule beyond the case table: only SET TRANSACTION statements right
// behind a plain BEGIN can make its transaction read-only. Anything before them may already have
// run in read-write mode, or be undone (ROLLBACK TO a savepoint restores read-write), so the
// request stays a write; and the rule gives the same answer through the fast path and the parser.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Classifier } from '../../../src/classify/classifier.js';
import { testClassifier } from './case-helpers.js';

let classifier: Classifier;

beforeAll(async () => {
  classifier = await testClassifier();
});

const paths = (sql: string) => [classifier.classify(sql), classifier.classifyUncached(sql), classifier.classifyWithParser(sql)];

describe('BEGIN made read-only by SET TRANSACTION in the same request', () => {
  const between = [
    'SELECT 1',
    'SAVEPOINT a',
    'SET search_path = a',
    'SET LOCAL work_mem = 1024',
    'SET CONSTRAINTS ALL DEFERRED',
    'DECLARE c CURSOR FOR SELECT 1',
    'PREPARE p AS SELECT 1',
    'SHOW search_path',
    'COMMIT',
    'ROLLBACK',
  ];

  it.each(between)('a statement between BEGIN and SET TRANSACTION READ ONLY keeps it a write: %s', (stmt) => {
    for (const c of paths(`BEGIN; ${stmt}; SET TRANSACTION READ ONLY; SELECT 2`)) expect(c.isWrite, stmt).toBe(true);
  });

  it('a savepoint rolled back after SET TRANSACTION READ ONLY keeps it a write', () => {
    for (const c of paths('BEGIN; SAVEPOINT a; SET TRANSACTION READ ONLY; ROLLBACK TO a; SELECT 1')) expect(c.isWrite).toBe(true);
  });

  it('every mode statement directly behind BEGIN counts, the last access mode wins', () => {
    const ro = 'BEGIN; SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET TRANSACTION DEFERRABLE; SET TRANSACTION READ ONLY; SELECT 1';
    for (const c of paths(ro)) expect([c.isWrite, c.readOnly]).toEqual([false, true]);
    const rw = 'BEGIN; SET TRANSACTION READ ONLY; SET LOCAL transaction_read_only = off; SELECT 1';
    for (const c of paths(rw)) expect([c.isWrite, c.readOnly]).toEqual([true, false]);
  });

  it("a literal decides (SET transaction_read_only = 'on' | 'off'): literal-bearing texts are never shared by shape", () => {
    const on = classifier.classify("BEGIN; SET transaction_read_only = 'on'; SELECT * FROM t WHERE id = 1");
    const off = classifier.classify("BEGIN; SET transaction_read_only = 'off'; SELECT * FROM t WHERE id = 1");
    expect([on.isWrite, off.isWrite]).toEqual([false, true]);
    const iso = classifier.classify("SET transaction_isolation = 'read committed'");
    const ser = classifier.classify("SET transaction_isolation = 'serializable'");
    expect([iso.isWrite, ser.isWrite]).toEqual([false, true]);
  });

  it('the request is a read, and its reason says why', () => {
    const c = classifier.classify('begin; set transaction read only; select 1');
    expect(c).toMatchObject({ class: 'tx-begin', isWrite: false, readOnly: true, statements: 3 });
    expect(c.reason).toBe('begin; set transaction read only');
  });
});
