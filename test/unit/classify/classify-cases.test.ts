// Runs every case table three ways: through the cached classifier (fast path where it applies),
// through the parser only (no fast path), and again from the cache. All three must meet the
// expectations, so the fast path can never disagree with PostgreSQL's grammar on a listed case.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Classifier } from '../../../src/classify/classifier.js';
import type { Classification, StatementClass } from '../../../src/classify/types.js';
import { testClassifier, type Expect } from './case-helpers.js';
import { TABLES } from './cases-all.js';

let classifier: Classifier;

beforeAll(async () => {
  classifier = await testClassifier();
});

function project(c: Classification, e: Expect): Record<string, unknown> {
  return {
    class: c.class,
    isWrite: c.isWrite,
    readOnly: c.readOnly,
    hint: c.hint,
    // Order markers (tx-begin / tx-end / statement-end) are checked in ordered-effects.test.ts.
    effects: c.effects.filter((x) => x.type !== 'tx-begin' && x.type !== 'tx-end' && x.type !== 'statement-end'),
    statements: c.statements,
    onlyMeridianSettings: c.onlyMeridianSettings,
    ...(e.fns !== undefined ? { functions: c.functions } : {}),
  };
}

function expected(cls: StatementClass, e: Expect): Record<string, unknown> {
  return {
    class: cls,
    isWrite: e.w ?? (cls === 'write' ? true : cls === 'read' ? false : expect.any(Boolean)),
    readOnly: e.ro ?? false,
    hint: e.hint ?? null,
    effects: e.effects ?? [],
    statements: e.n ?? 1,
    onlyMeridianSettings: e.only ?? false,
    ...(e.fns !== undefined ? { functions: e.fns } : {}),
  };
}

function check(sql: string, cls: StatementClass, e: Expect): void {
  const want = expected(cls, e);
  for (const [path, c] of [
    ['classify', classifier.classify(sql)],
    ['parser only', classifier.classifyWithParser(sql)],
    ['cached', classifier.classify(sql)],
  ] as const) {
    expect({ path, ...project(c, e) }, sql).toEqual({ path, ...want });
    if (e.reason !== undefined) expect(c.reason, `${path}: ${sql}`).toContain(e.reason);
  }
}

describe('classification case table', () => {
  it('has at least 400 cases', () => {
    const total = Object.values(TABLES).reduce((n, t) => n + t.length, 0);
    expect(total).toBeGreaterThanOrEqual(400);
  });

  for (const [name, cases] of Object.entries(TABLES)) {
    describe(name, () => {
      it.each(cases.map((c) => [c[0], c[1], c[2] ?? {}] as const))('%s → %s', (sql, cls, e) => check(sql, cls, e));
    });
  }
});
