// The fast path's tokenizer: token boundaries on every quoting form, completeness, literal
// detection (which decides cache admission) and the shape key (literal-independent cache key).

import { describe, expect, it } from 'vitest';
import {
  Lexer,
  TOK_COMMA,
  TOK_DOT,
  TOK_LPAREN,
  TOK_NUMBER,
  TOK_OP,
  TOK_PARAM,
  TOK_QIDENT,
  TOK_RPAREN,
  TOK_SEMI,
  TOK_STRING,
  TOK_WORD,
} from '../../../src/classify/lexer.js';

function tokens(sql: string): [number, string][] {
  const lexer = new Lexer();
  lexer.lex(sql);
  const out: [number, string][] = [];
  for (let k = 0; k < lexer.count; k++) out.push([lexer.kinds[k] ?? 0, sql.slice(lexer.starts[k], lexer.ends[k])]);
  return out;
}

function lexed(sql: string): Lexer {
  const lexer = new Lexer();
  lexer.lex(sql);
  return lexer;
}

describe('Lexer', () => {
  it('splits words, punctuation, params and operators', () => {
    expect(tokens('SELECT a.b, $1::int FROM t WHERE x>=-1;')).toEqual([
      [TOK_WORD, 'SELECT'],
      [TOK_WORD, 'a'],
      [TOK_DOT, '.'],
      [TOK_WORD, 'b'],
      [TOK_COMMA, ','],
      [TOK_PARAM, '$1'],
      [TOK_OP, '::'],
      [TOK_WORD, 'int'],
      [TOK_WORD, 'FROM'],
      [TOK_WORD, 't'],
      [TOK_WORD, 'WHERE'],
      [TOK_WORD, 'x'],
      [TOK_OP, '>=-'],
      [TOK_NUMBER, '1'],
      [TOK_SEMI, ';'],
    ]);
  });

  it('reads every string form as one token', () => {
    const forms = ["'it''s'", "E'it\\'s'", "e'\\\\'", "B'0101'", "X'1F'", "N'nat'", "U&'d\\0061t'", '$$ a; b $$', '$fn$ $$ x $$ $fn$'];
    for (const form of forms)
      expect(tokens(`SELECT ${form} ;`), form).toEqual([
        [TOK_WORD, 'SELECT'],
        [TOK_STRING, form],
        [TOK_SEMI, ';'],
      ]);
  });

  it('keeps backslashes literal in standard strings (standard_conforming_strings = on)', () => {
    expect(tokens("'a\\'; DELETE")).toEqual([
      [TOK_STRING, "'a\\'"],
      [TOK_SEMI, ';'],
      [TOK_WORD, 'DELETE'],
    ]);
  });

  it('flags a standard string that ends in an odd run of backslashes (meaning depends on standard_conforming_strings)', () => {
    expect(lexed("SELECT 'a\\'").hasBackslashQuote).toBe(true);
    expect(lexed("SELECT 'a\\\\\\'").hasBackslashQuote).toBe(true);
    expect(lexed("SELECT 'a\\\\'").hasBackslashQuote).toBe(false);
    expect(lexed("SELECT E'a\\''").hasBackslashQuote).toBe(false);
    expect(lexed("SELECT '\\d+' ").hasBackslashQuote).toBe(false);
  });

  it('reads quoted identifiers, with "" and U&', () => {
    expect(tokens('"a""b" U&"x" "表"')).toEqual([
      [TOK_QIDENT, '"a""b"'],
      [TOK_QIDENT, 'U&"x"'],
      [TOK_QIDENT, '"表"'],
    ]);
    const lexer = lexed('"My""Fn"');
    expect(lexer.text(0)).toBe('My"Fn');
  });

  it('treats $ inside identifiers and dollar tags correctly', () => {
    expect(tokens('a$b $1 $tag$x$tag$ $_$y$_$')).toEqual([
      [TOK_WORD, 'a$b'],
      [TOK_PARAM, '$1'],
      [TOK_STRING, '$tag$x$tag$'],
      [TOK_STRING, '$_$y$_$'],
    ]);
  });

  it('skips nested block comments and line comments, recording where they are', () => {
    const lexer = lexed('/* a /* b */ c */ SELECT -- x\n 1 /* t */');
    expect(lexer.count).toBe(2);
    expect(lexer.commentNext).toEqual([0, 1, 2]);
    expect(lexer.isComplete).toBe(true);
  });

  it('stops an operator where a comment starts', () => {
    expect(tokens('1 +-- c\n2')).toEqual([
      [TOK_NUMBER, '1'],
      [TOK_OP, '+'],
      [TOK_NUMBER, '2'],
    ]);
    expect(tokens('1 */* c */2')).toEqual([
      [TOK_NUMBER, '1'],
      [TOK_OP, '*'],
      [TOK_NUMBER, '2'],
    ]);
  });

  it('flags unterminated quotes, dollar quotes and comments', () => {
    for (const sql of ["SELECT 'x", 'SELECT "x', 'SELECT $$x', 'SELECT $a$ x $b$', '/* x', '/* /* x */', "E'\\'"]) {
      expect(lexed(sql).isComplete, sql).toBe(false);
    }
    expect(lexed("SELECT 'x' -- '").isComplete).toBe(true);
  });

  it('notices literals (parameters are not literals)', () => {
    expect(lexed('SELECT * FROM t WHERE id = $1').hasLiterals).toBe(false);
    expect(lexed('SELECT * FROM t WHERE id = 1').hasLiterals).toBe(true);
    expect(lexed("SELECT 'a'").hasLiterals).toBe(true);
    expect(lexed('SELECT .5').hasLiterals).toBe(true);
    expect(lexed('SELECT "ident"').hasLiterals).toBe(false);
  });

  it('gives equal shape keys to texts that differ only in literals, spacing, comments and keyword case', () => {
    const a = lexed("SELECT * FROM t WHERE a = 1 AND b = 'x'").shapeKey();
    const b = lexed("select *  from t /* c */ where a = 2345 and b = E'y\\'z'").shapeKey();
    expect(a).toBe(b);
    expect(lexed('SELECT * FROM u WHERE a = 1').shapeKey()).not.toBe(a);
    expect(lexed('SELECT * FROM "T" WHERE a = 1').shapeKey()).not.toBe(lexed('SELECT * FROM "t" WHERE a = 1').shapeKey());
  });

  it('compares words without allocating, case-insensitively', () => {
    const lexer = lexed('SeLeCt "select"');
    expect(lexer.is(0, 'select')).toBe(true);
    expect(lexer.is(1, 'select')).toBe(false); // quoted
    expect(lexer.kind(5)).toBe(0);
  });

  it('grows past its initial token capacity', () => {
    const sql = Array.from({ length: 2000 }, (_, i) => `(${i})`).join(',');
    const lexer = lexed(sql);
    expect(lexer.count).toBe(2000 * 3 + 1999);
    expect(lexer.kinds[lexer.count - 1]).toBe(TOK_RPAREN);
    expect(lexer.kinds[0]).toBe(TOK_LPAREN);
  });
});
