// A small SQL tokenizer for the classifier's fast path. It knows exactly what PostgreSQL's scanner
// needs to know to find token boundaries (standard_conforming_strings = on, as libpg-query parses):
// '…' with '' doubling, E'…' with backslash escapes, B'' X'' N'' U&'…', "…" and U&"…" identifiers,
// $tag$…$tag$ bodies, $1 parameters, nested /* */ and -- comments. It does not judge grammar: the
// fast path reads the tokens and hands anything it is unsure of to the real parser.
// Tokens live in reused typed arrays; one Lexer is not re-entrant (classify is synchronous).

export const TOK_WORD = 1; // unquoted identifier or keyword
export const TOK_QIDENT = 2; // "quoted identifier"
export const TOK_STRING = 3; // any string literal, including dollar-quoted
export const TOK_NUMBER = 4;
export const TOK_PARAM = 5; // $1
export const TOK_LPAREN = 6;
export const TOK_RPAREN = 7;
export const TOK_COMMA = 8;
export const TOK_SEMI = 9;
export const TOK_DOT = 10;
export const TOK_OP = 11; // operators and any other punctuation ([ ] :: = …)

import { isDigit, isIdentChar, isIdentStart, isOpChar, isSpace } from './sql-chars.js';

const INITIAL_TOKENS = 256;
const MERIDIAN = /meridian/i;

export class Lexer {
  kinds = new Uint8Array(INITIAL_TOKENS);
  starts = new Int32Array(INITIAL_TOKENS);
  ends = new Int32Array(INITIAL_TOKENS);
  count = 0;
  /** Comment spans and the index of the token that follows each (count when trailing). */
  commentStarts: number[] = [];
  commentEnds: number[] = [];
  commentNext: number[] = [];
  /** Some comment mentions "meridian" (only then are hints looked for). */
  hasHintComment = false;
  /** A string or number literal occurs (the text is "ad hoc": do not key the exact cache on it). */
  hasLiterals = false;
  /** False when a quote, dollar quote or block comment is unterminated. */
  isComplete = true;
  /**
   * A standard string ends in an odd run of backslashes ('a\'): with standard_conforming_strings
   * off, the server would read the quote as escaped and the rest of the text differently.
   */
  hasBackslashQuote = false;
  sql = '';

  /** Tokenizes sql into this lexer's arrays. */
  lex(sql: string): void {
    this.sql = sql;
    this.count = 0;
    if (this.commentStarts.length > 0) {
      // Setting length is a runtime call: only when the previous text had comments.
      this.commentStarts.length = 0;
      this.commentEnds.length = 0;
      this.commentNext.length = 0;
    }
    this.hasHintComment = false;
    this.hasLiterals = false;
    this.isComplete = true;
    this.hasBackslashQuote = false;
    const n = sql.length;
    let i = 0;
    while (i < n) {
      const c = sql.charCodeAt(i);
      if (isSpace(c)) {
        i++;
        continue;
      }
      if (c === 45 && sql.charCodeAt(i + 1) === 45) {
        i = this.lineComment(i);
        continue;
      }
      if (c === 47 && sql.charCodeAt(i + 1) === 42) {
        i = this.blockComment(i);
        continue;
      }
      i = this.token(c, i);
    }
  }

  private token(c: number, i: number): number {
    const sql = this.sql;
    const next = sql.charCodeAt(i + 1);
    if (isIdentStart(c)) {
      // E'…', B'…', X'…', N'…', U&'…', U&"…" prefixes.
      if (next === 39) {
        if (c === 101 || c === 69) return this.literal(i, this.quoted(i + 1, 39, true));
        if (c === 98 || c === 66 || c === 120 || c === 88 || c === 110 || c === 78) return this.literal(i, this.quoted(i + 1, 39, false));
      }
      if ((c === 117 || c === 85) && next === 38) {
        const q = sql.charCodeAt(i + 2);
        if (q === 39) return this.literal(i, this.quoted(i + 2, 39, false));
        if (q === 34) return this.push(TOK_QIDENT, i, this.quoted(i + 2, 34, false));
      }
      let j = i + 1;
      while (j < sql.length && isIdentChar(sql.charCodeAt(j))) j++;
      return this.push(TOK_WORD, i, j);
    }
    switch (c) {
      case 39:
        return this.literal(i, this.quoted(i, 39, false));
      case 34:
        return this.push(TOK_QIDENT, i, this.quoted(i, 34, false));
      case 40:
        return this.push(TOK_LPAREN, i, i + 1);
      case 41:
        return this.push(TOK_RPAREN, i, i + 1);
      case 44:
        return this.push(TOK_COMMA, i, i + 1);
      case 59:
        return this.push(TOK_SEMI, i, i + 1);
      case 36:
        return this.dollar(i);
      case 46:
        if (isDigit(next)) return this.literal(i, this.number(i), TOK_NUMBER);
        return this.push(TOK_DOT, i, i + 1);
      case 58:
        return this.push(TOK_OP, i, next === 58 || next === 61 ? i + 2 : i + 1);
      default:
        break;
    }
    if (isDigit(c)) return this.literal(i, this.number(i), TOK_NUMBER);
    if (isOpChar(c)) {
      let j = i + 1;
      // An operator stops where a comment starts (PostgreSQL's scanner does the same).
      while (j < sql.length && isOpChar(sql.charCodeAt(j))) {
        const d = sql.charCodeAt(j);
        const e = sql.charCodeAt(j + 1);
        if ((d === 45 && e === 45) || (d === 47 && e === 42)) break;
        j++;
      }
      return this.push(TOK_OP, i, j);
    }
    return this.push(TOK_OP, i, i + 1); // [ ] { } \ and anything else: one character
  }

  private push(kind: number, start: number, end: number): number {
    if (this.count === this.kinds.length) this.grow();
    const k = this.count++;
    this.kinds[k] = kind;
    this.starts[k] = start;
    this.ends[k] = end;
    return end;
  }

  private literal(start: number, end: number, kind: number = TOK_STRING): number {
    this.hasLiterals = true;
    return this.push(kind, start, end);
  }

  private grow(): void {
    const size = this.kinds.length * 2;
    const kinds = new Uint8Array(size);
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    kinds.set(this.kinds);
    starts.set(this.starts);
    ends.set(this.ends);
    this.kinds = kinds;
    this.starts = starts;
    this.ends = ends;
  }

  /** End of a quoted run opening at `open` with quote character q; doubled quotes escape. */
  private quoted(open: number, q: number, hasBackslashEscapes: boolean): number {
    const sql = this.sql;
    let j = open + 1;
    while (j < sql.length) {
      const c = sql.charCodeAt(j);
      if (hasBackslashEscapes && c === 92) {
        j += 2;
        continue;
      }
      if (c === q) {
        if (sql.charCodeAt(j + 1) === q) {
          j += 2;
          continue;
        }
        if (q === 39 && !hasBackslashEscapes && sql.charCodeAt(j - 1) === 92) this.noteBackslashQuote(open, j);
        return j + 1;
      }
      j++;
    }
    this.isComplete = false;
    return sql.length;
  }

  private noteBackslashQuote(open: number, quote: number): void {
    let run = 0;
    for (let k = quote - 1; k > open && this.sql.charCodeAt(k) === 92; k--) run++;
    if (run % 2 === 1) this.hasBackslashQuote = true;
  }

  private number(i: number): number {
    const sql = this.sql;
    let j = i;
    // Digits, 0x/0o/0b prefixes and _ separators (PostgreSQL 16+); junk glued on is kept in the token.
    while (j < sql.length && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) {
      const c = sql.charCodeAt(j);
      if ((c === 101 || c === 69) && (sql.charCodeAt(j + 1) === 43 || sql.charCodeAt(j + 1) === 45)) j++;
      j++;
    }
    if (sql.charCodeAt(j) === 46 && sql.charCodeAt(j + 1) !== 46) {
      j++;
      while (j < sql.length && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) {
        const c = sql.charCodeAt(j);
        if ((c === 101 || c === 69) && (sql.charCodeAt(j + 1) === 43 || sql.charCodeAt(j + 1) === 45)) j++;
        j++;
      }
    }
    return j;
  }

  /** $1 parameter, $tag$…$tag$ body, or a stray $. */
  private dollar(i: number): number {
    const sql = this.sql;
    let j = i + 1;
    if (isDigit(sql.charCodeAt(j))) {
      while (isDigit(sql.charCodeAt(j))) j++;
      return this.push(TOK_PARAM, i, j);
    }
    if (sql.charCodeAt(j) !== 36) {
      if (!isIdentStart(sql.charCodeAt(j))) return this.push(TOK_OP, i, j);
      while (j < sql.length && isIdentChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
      if (sql.charCodeAt(j) !== 36) return this.push(TOK_OP, i, j);
    }
    const tag = sql.slice(i, j + 1);
    const close = sql.indexOf(tag, j + 1);
    if (close < 0) {
      this.isComplete = false;
      return this.literal(i, sql.length);
    }
    return this.literal(i, close + tag.length);
  }

  private lineComment(i: number): number {
    const sql = this.sql;
    let j = i + 2;
    while (j < sql.length) {
      const c = sql.charCodeAt(j);
      if (c === 10 || c === 13) break;
      j++;
    }
    this.comment(i, j);
    return j;
  }

  private blockComment(i: number): number {
    const sql = this.sql;
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      const c = sql.charCodeAt(j);
      if (c === 47 && sql.charCodeAt(j + 1) === 42) {
        depth++;
        j += 2;
        continue;
      }
      if (c === 42 && sql.charCodeAt(j + 1) === 47) {
        depth--;
        j += 2;
        continue;
      }
      j++;
    }
    if (depth > 0) this.isComplete = false;
    this.comment(i, j);
    return j;
  }

  private comment(start: number, end: number): void {
    this.commentStarts.push(start);
    this.commentEnds.push(end);
    this.commentNext.push(this.count);
    if (!this.hasHintComment && MERIDIAN.test(this.sql.slice(start, end))) this.hasHintComment = true;
  }

  /** Lower-cased text of a word token (quoted identifiers keep their case, without quotes). */
  text(k: number): string {
    const s = this.starts[k] ?? 0;
    const e = this.ends[k] ?? 0;
    if (this.kinds[k] === TOK_QIDENT) return unquoteIdent(this.sql, s, e);
    return this.sql.slice(s, e).toLowerCase();
  }

  /** Whether word token k is exactly `word` (lower-case ASCII), without allocating. */
  is(k: number, word: string): boolean {
    if (this.kinds[k] !== TOK_WORD) return false;
    const s = this.starts[k] ?? 0;
    if ((this.ends[k] ?? 0) - s !== word.length) return false;
    for (let i = 0; i < word.length; i++) {
      if ((this.sql.charCodeAt(s + i) | 32) !== word.charCodeAt(i)) return false;
    }
    return true;
  }

  kind(k: number): number {
    return k >= 0 && k < this.count ? (this.kinds[k] ?? 0) : 0;
  }

  /**
   * The statement shape: tokens with literals replaced by '?', words lower-cased, comments and
   * spacing dropped. Two texts with the same shape parse to the same tree up to literal values.
   */
  shapeKey(): string {
    const parts: string[] = [];
    for (let k = 0; k < this.count; k++) {
      const kind = this.kinds[k];
      if (kind === TOK_STRING || kind === TOK_NUMBER) parts.push('?');
      else if (kind === TOK_WORD) parts.push(this.sql.slice(this.starts[k], this.ends[k]).toLowerCase());
      else parts.push(this.sql.slice(this.starts[k], this.ends[k]));
    }
    return parts.join(' ');
  }
}

/** "A""b" → A"b ; U&"…" keeps its escapes (rare; only used for names). */
function unquoteIdent(sql: string, s: number, e: number): string {
  const open = sql.charCodeAt(s) === 34 ? s : s + 2;
  return sql.slice(open + 1, Math.max(open + 1, e - 1)).replace(/""/g, '"');
}
