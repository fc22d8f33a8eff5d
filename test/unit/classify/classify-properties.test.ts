// Property tests: spelling variations (whitespace, comments, letter case) never change a
// statement's classification; no input throws or hangs; and the fast path is sound — whenever it
// answers "read" for something PostgreSQL's parser accepts, the parser says read too.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Classifier } from '../../../src/classify/classifier.js';
import { Lexer, TOK_WORD } from '../../../src/classify/lexer.js';
import type { Classification } from '../../../src/classify/types.js';
import { testClassifier, type Case } from './case-helpers.js';
import { TABLES } from './cases-all.js';

let classifier: Classifier;

beforeAll(async () => {
  classifier = await testClassifier();
});

/** What must not change under respelling (SET/PREPARE effects carry the text itself: compare names). */
function essence(c: Classification): unknown {
  return {
    class: c.class,
    isWrite: c.isWrite,
    readOnly: c.readOnly,
    hint: c.hint,
    statements: c.statements,
    onlyMeridianSettings: c.onlyMeridianSettings,
    functions: c.functions,
    effects: c.effects.map((e) => (e.type === 'set' || e.type === 'prepare' ? { type: e.type, name: e.name } : e)),
  };
}

/** Cases without comments (their positions matter for hints) and that lex completely. */
function respellable(): { sql: string; tokens: string[] }[] {
  const lexer = new Lexer();
  const out: { sql: string; tokens: string[] }[] = [];
  const all: Case[] = Object.values(TABLES).flat();
  for (const [sql] of all) {
    lexer.lex(sql);
    if (lexer.commentStarts.length > 0 || !lexer.isComplete || lexer.count === 0) continue;
    const tokens: string[] = [];
    for (let k = 0; k < lexer.count; k++) {
      const text = sql.slice(lexer.starts[k], lexer.ends[k]);
      tokens.push(lexer.kinds[k] === TOK_WORD ? `\u0000${text}` : text); // mark words for case flips
    }
    out.push({ sql, tokens });
  }
  return out;
}

// Comments start after a space: `-` followed by `-- note` would turn an operator into a comment.
const SEPARATORS = [' ', '  ', '\t', '\n', '\r\n', ' /* c */ ', ' /**/', ' -- note\n', ' /* a /* nested */ b */', '\n\n  '];

/** Flips ASCII letters where the mask says so (PostgreSQL folds only ASCII in identifiers). */
function flipCase(word: string, mask: number): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const ch = word[i] ?? '';
    const isLetter = /[A-Za-z]/.test(ch);
    out += isLetter && ((mask >> (i % 30)) & 1) === 1 ? (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) : ch;
  }
  return out;
}

describe('classification properties', () => {
  it('whitespace, comment and letter-case variations never change the classification', () => {
    const cases = respellable();
    expect(cases.length).toBeGreaterThan(300);
    const variant = fc
      .constantFrom(...cases)
      .chain((c) =>
        fc.tuple(
          fc.constant(c),
          fc.array(fc.constantFrom(...SEPARATORS), { minLength: c.tokens.length + 1, maxLength: c.tokens.length + 1 }),
          fc.array(fc.integer({ min: 0, max: 0x3fffffff }), { minLength: c.tokens.length, maxLength: c.tokens.length }),
        ),
      );
    fc.assert(
      fc.property(variant, ([c, seps, masks]) => {
        let sql = seps[0] ?? '';
        c.tokens.forEach((token, i) => {
          const text = token.startsWith('\u0000') ? flipCase(token.slice(1), masks[i] ?? 0) : token;
          sql += text + (seps[i + 1] ?? ' ');
        });
        const original = essence(classifier.classify(c.sql));
        expect(essence(classifier.classify(sql)), sql).toEqual(original);
        expect(essence(classifier.classifyWithParser(sql)), sql).toEqual(original);
      }),
      { numRuns: 1000 },
    );
  }, 180_000);

  const FRAGMENTS = [
    'SELECT',
    'select',
    'INSERT INTO t VALUES (1)',
    'UPDATE',
    'DELETE FROM t',
    'WITH x AS (',
    ')',
    '(',
    ',',
    ';',
    "'",
    "'x'",
    '"',
    '"q"',
    '$$',
    '$a$',
    '$1',
    "E'\\'",
    '--',
    '\n',
    '/*',
    '*/',
    'FOR',
    'UPDATE',
    'SHARE',
    'INTO',
    'FROM t',
    'WHERE',
    'a',
    '=',
    '1',
    'pg_advisory_lock(',
    'nextval(',
    'count(',
    'now()',
    'lower(x)',
    'app_stable_fn(',
    'unknown_fn(',
    'set_config(',
    'SET',
    'LOCAL',
    'search_path',
    'TO',
    'meridian.route',
    'BEGIN',
    'READ ONLY',
    'COMMIT',
    'PREPARE p AS',
    'EXECUTE p',
    'LISTEN',
    'CREATE TEMP TABLE',
    'DROP TABLE',
    'EXPLAIN ANALYZE',
    'RETURNING *',
    '::int',
    'AS',
    'x(a)',
    'ON CONFLICT (a) DO NOTHING',
    'VALUES',
    'TABLE',
    'ü',
    '表',
    '\\',
    '.',
    '*',
  ];
  const soup = fc
    .array(fc.constantFrom(...FRAGMENTS), { maxLength: 24 })
    .chain((parts) =>
      fc
        .array(fc.constantFrom(' ', '', '\n'), { minLength: parts.length, maxLength: parts.length })
        .map((seps) => parts.map((p, i) => p + (seps[i] ?? '')).join('')),
    );

  it('never throws and always answers a well-formed classification', () => {
    const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 200 }), soup);
    fc.assert(
      fc.property(anyText, (sql) => {
        for (const c of [classifier.classify(sql), classifier.classifyUncached(sql), classifier.classifyWithParser(sql)]) {
          expect(['read', 'write', 'tx-begin', 'tx-end', 'tx-control', 'session']).toContain(c.class);
          expect(typeof c.isWrite).toBe('boolean');
          expect(Object.isFrozen(c)).toBe(true);
          if (c.class === 'write') expect(c.isWrite).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  }, 180_000);

  it('the fast path never says read where the parser, accepting the SQL, says write', () => {
    fc.assert(
      fc.property(soup, (sql) => {
        const parsed = classifier.classifyWithParser(sql);
        if (parsed.reason.includes('parse error')) return; // the server rejects it wherever it runs
        const fast = classifier.classifyUncached(sql);
        if (parsed.isWrite) expect(fast.isWrite, sql).toBe(true);
        expect(fast.class, sql).toBe(parsed.class);
        expect(fast.effects, sql).toEqual(parsed.effects);
      }),
      { numRuns: 4000 },
    );
  }, 180_000);

  it('pathological inputs finish quickly: deep nesting, huge literals, many statements', () => {
    const inputs = [
      `SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`,
      `SELECT ${'('.repeat(5_000)}`,
      `SELECT '${'x'.repeat(1_000_000)}'`,
      `INSERT INTO t VALUES ${Array.from({ length: 20_000 }, (_, i) => `(${i}, 'v${i}')`).join(', ')}`,
      'SELECT 1;'.repeat(20_000),
      '/*'.repeat(50_000),
      `SELECT ${'ARRAY['.repeat(3_000)}1${']'.repeat(3_000)}`,
    ];
    for (const sql of inputs) {
      const started = performance.now();
      const c = classifier.classify(sql);
      expect(performance.now() - started, sql.slice(0, 40)).toBeLessThan(5_000);
      expect(typeof c.isWrite).toBe('boolean');
    }
  }, 180_000);
});
