// The masked-literal cache (issue 17: pgbench-style SQL carries fresh literals in every statement,
// so the exact cache never hit and every statement was lexed and classified again). The key masks
// only plain numbers and plain strings and refuses what it cannot follow exactly; a cached answer
// is always the answer the classifier gives the same text uncached, for every case table text and
// for variants of it with other literal values.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { VolatilityCatalog } from '../../../src/classify/catalog.js';
import { Classifier } from '../../../src/classify/classifier.js';
import { Lexer, TOK_NUMBER, TOK_STRING } from '../../../src/classify/lexer.js';
import { LiteralMask } from '../../../src/classify/literal-mask.js';
import { CATALOG_ROWS, testClassifier } from './case-helpers.js';
import { TABLES } from './cases-all.js';

beforeAll(async () => {
  await Classifier.init();
});

const N = '\u0000';

/** The text with its literals replaced by NUL (null when the scan refuses it or finds none): what the hash stands for. */
function maskLiterals(sql: string): string | null {
  const m = new LiteralMask();
  if (!m.scan(sql)) return null;
  let out = '';
  let at = 0;
  for (let k = 0; k < m.count; k++) {
    out += sql.slice(at, m.spans[2 * k]) + N;
    at = m.spans[2 * k + 1]!;
  }
  return out + sql.slice(at);
}

/** Whether the scanner takes `b` for `a` (a scanned and kept, b scanned last). */
function sameKey(a: string, b: string): boolean {
  const m = new LiteralMask();
  if (!m.scan(a)) return false;
  const hash = m.hash;
  const spans = m.keepSpans();
  return m.scan(b) && m.hash === hash && m.matches(b, a, spans);
}

describe('maskLiterals', () => {
  it.each([
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 123456;', `SELECT abalance FROM pgbench_accounts WHERE aid = ${N};`],
    ['UPDATE t SET a = a + -42 WHERE id = 7', `UPDATE t SET a = a + -${N} WHERE id = ${N}`],
    ["SELECT * FROM t WHERE name = 'o''brien' AND n = 3", `SELECT * FROM t WHERE name = ${N} AND n = ${N}`],
    ['SELECT * FROM t1 JOIN "t 2" ON t1.x3 = "t 2".y WHERE z = 5', `SELECT * FROM t1 JOIN "t 2" ON t1.x3 = "t 2".y WHERE z = ${N}`],
    ["SELECT 1 /* 2 'x' */ -- 3\n", `SELECT ${N} /* 2 'x' */ -- 3\n`],
    ['SELECT a::int4, b[1:2] FROM t', `SELECT a::int4, b[${N}:${N}] FROM t`],
  ])('masks plain numbers and strings, keeps the rest verbatim: %s', (sql, key) => {
    expect(maskLiterals(sql)).toBe(key);
  });

  it.each([
    ['no literal', 'SELECT a FROM t WHERE id = $1'],
    ['no literal, digits in names', 'SELECT t1.c2 FROM t1'],
    ['a backslash', "SELECT 'a\\' , 1"],
    ['a parameter', 'SELECT 1 WHERE id = $1'],
    ['a dollar quote', 'SELECT $q$x$q$, 1'],
    ['an E string', "SELECT E'x', 1"],
    ['a U& string', "SELECT U&'x', 1"],
    ['a B string', "SELECT B'101', 1"],
    ['a decimal', 'SELECT 1.5'],
    ['a leading-dot decimal', 'SELECT .5, 1'],
    ['an exponent', 'SELECT 1e3'],
    ['a hex number', 'SELECT 0x1F'],
    ['an underscore number', 'SELECT 1_000'],
    ['trailing junk', 'SELECT 12abc'],
    ['an unterminated string', "SELECT 1, 'x"],
    ['an unterminated identifier', 'SELECT 1, "x'],
    ['an unterminated comment', 'SELECT 1 /* x'],
    ['a NUL', `SELECT 1, ${N}`],
  ])('refuses (null): %s', (_, sql) => {
    expect(maskLiterals(sql)).toBeNull();
  });

  it('takes two texts for one only when they differ inside literals', () => {
    expect(sameKey('SELECT * FROM t WHERE a = 1', "SELECT * FROM t WHERE a = 'x'")).toBe(true);
    expect(sameKey('SELECT * FROM t WHERE a = 1 AND b = 22', 'SELECT * FROM t WHERE a = 333 AND b = 4')).toBe(true);
    expect(sameKey('SELECT * FROM t1 WHERE a = 1', 'SELECT * FROM t2 WHERE a = 1')).toBe(false);
    expect(sameKey('SELECT * FROM t WHERE a = 1', 'select * from t where a = 1')).toBe(false);
    expect(sameKey('SELECT * FROM "t1" WHERE a = 1', 'SELECT * FROM "t2" WHERE a = 1')).toBe(false);
    expect(sameKey('SELECT 1 -- a 1\n', 'SELECT 1 -- a 2\n')).toBe(false);
    expect(sameKey('SELECT 1 /* meridian: node=a1 */', 'SELECT 1 /* meridian: node=a2 */')).toBe(false);
    expect(sameKey('SELECT 1, 2', 'SELECT 1,2')).toBe(false);
    expect(sameKey('SELECT 1, 2', 'SELECT 1, 2, 3')).toBe(false);
  });

  it('compares the texts, not only their hashes: a colliding candidate is refused', () => {
    const m = new LiteralMask();
    m.scan('SELECT a FROM t WHERE id = 1');
    const spans = m.keepSpans();
    m.scan('SELECT b FROM t WHERE id = 2');
    expect(m.matches('SELECT b FROM t WHERE id = 2', 'SELECT a FROM t WHERE id = 1', spans)).toBe(false);
    expect(m.matches('SELECT b FROM t WHERE id = 2', 'SELECT b FROM t WHERE id = 1', spans)).toBe(true);
  });
});

/** The lexer's tokens, literal values blanked: what two texts of one key must share. */
function tokensOf(sql: string): string[] {
  const lexer = new Lexer();
  lexer.lex(sql);
  const out: string[] = [];
  for (let k = 0; k < lexer.count; k++) {
    const kind = lexer.kinds[k]!;
    out.push(kind === TOK_STRING || kind === TOK_NUMBER ? `${kind}:?` : `${kind}:${sql.slice(lexer.starts[k], lexer.ends[k])}`);
  }
  for (let k = 0; k < lexer.commentStarts.length; k++) out.push(`comment:${sql.slice(lexer.commentStarts[k], lexer.commentEnds[k])}`);
  return out;
}

const FRAGMENTS = [
  'SELECT',
  ' ',
  '\n',
  'a',
  't1',
  '1',
  '42',
  "'x'",
  "''",
  "'a''b'",
  '"t1"',
  '"t 2"',
  '--c\n',
  '/* c */',
  '.',
  ',',
  '(',
  ')',
  'e',
  'E',
  '$1',
  '\\',
  ':',
  ';',
  '&',
  'U',
  '-',
  '/',
  '*',
  "'",
  '"',
  'é',
];
const CHARS = ['1', '2', 'a', "'", '"', ' ', '.', '-', '/', '*', 'e', '$', '\\', '_', 'x'];

describe('maskLiterals against the lexer', () => {
  it('two texts of one key always lex to the same tokens but for literal values (texts and their mutations)', () => {
    let equal = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 14 }),
        fc.nat(200),
        fc.constantFrom(...CHARS),
        fc.constantFrom('insert', 'replace', 'delete'),
        (parts, at, ch, how) => {
          const a = parts.join('');
          const p = a.length === 0 ? 0 : at % a.length;
          const b =
            how === 'insert' ? a.slice(0, p) + ch + a.slice(p) : how === 'replace' ? a.slice(0, p) + ch + a.slice(p + 1) : a.slice(0, p) + a.slice(p + 1);
          if (!sameKey(a, b)) return;
          equal++;
          expect(tokensOf(b)).toEqual(tokensOf(a));
        },
      ),
      { numRuns: 20_000, seed: 17 },
    );
    console.log(`maskLiterals fuzz: 20000 text/mutation pairs, ${equal} shared a key and lexed alike`);
    expect(equal).toBeGreaterThan(100);
  });
});

describe('the masked-literal cache in the classifier', () => {
  it('answers pgbench statements with fresh literals without classifying them again', () => {
    const c = new Classifier({ catalog: new VolatilityCatalog() });
    for (let aid = 1; aid <= 50; aid++) {
      c.classify(`UPDATE pgbench_accounts SET abalance = abalance + ${aid + 100} WHERE aid = ${aid};`);
      c.classify(`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`);
      c.classify(`INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 2, ${aid}, 5, CURRENT_TIMESTAMP);`);
    }
    expect(c.stats.fastPath).toBe(3);
    expect(c.stats.maskHits).toBe(147);
    expect(c.classify('SELECT abalance FROM pgbench_accounts WHERE aid = 9;').isWrite).toBe(false);
    expect(c.classify('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 9;').isWrite).toBe(true);
  });

  it('tells apart texts that share a hash slot (words hashed by length and ends): each gets its own answer', async () => {
    const c = await testClassifier();
    expect(c.classify('SELECT now() FROM t WHERE id = 1').isWrite).toBe(false);
    expect(c.classify('SELECT nxw() FROM t WHERE id = 2').isWrite).toBe(true); // an unknown function
    expect(c.classify('SELECT now() FROM t WHERE id = 3').isWrite).toBe(false);
  });

  it('never caches what a literal can change: SET values, transaction modes, lock keys', () => {
    const c = new Classifier({ catalog: new VolatilityCatalog() });
    expect(c.classify("SET application_name = 'a'").effects).toEqual([{ type: 'set', name: 'application_name', sql: "SET application_name = 'a'" }]);
    expect(c.classify("SET application_name = 'b'").effects).toEqual([{ type: 'set', name: 'application_name', sql: "SET application_name = 'b'" }]);
    expect(c.classify("SET default_transaction_read_only = 'on'")).toEqual(c.classifyUncached("SET default_transaction_read_only = 'on'"));
    expect(c.classify("SET default_transaction_read_only = 'off'")).toEqual(c.classifyUncached("SET default_transaction_read_only = 'off'"));
    expect(c.classify('SELECT pg_advisory_lock(1)').effects).toEqual([{ type: 'pin', pin: 'advisory-lock', key: '1' }]);
    expect(c.classify('SELECT pg_advisory_lock(2)').effects).toEqual([{ type: 'pin', pin: 'advisory-lock', key: '2' }]);
    expect(c.stats.maskHits).toBe(0);
  });

  it('gives every case table text, and variants with other literal values, the uncached answer', async () => {
    const cached = await testClassifier();
    const reference = new Classifier({ catalog: loaded() });
    const texts = Object.values(TABLES)
      .flat()
      .map(([sql]) => sql);
    let checked = 0;
    for (const sql of texts) {
      // Numbers bumped, strings respelled: same key, other values.
      const variants = [sql, sql.replace(/\b\d+\b/g, (d) => String(Number(d) + 1)), sql.replace(/'([a-z]*)'/g, "'$1z'"), sql];
      for (const v of variants) {
        expect(cached.classify(v), v).toEqual(reference.classifyUncached(v));
        checked++;
      }
    }
    console.log(`masked-literal cache: ${checked} texts checked, ${cached.stats.maskHits} answered from it`);
    expect(cached.stats.maskHits).toBeGreaterThan(50);
  });
});

function loaded(): VolatilityCatalog {
  const catalog = new VolatilityCatalog();
  catalog.load(CATALOG_ROWS);
  return catalog;
}
