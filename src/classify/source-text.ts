// Maps libpg-query's byte offsets (UTF-8) back to the JavaScript string, and cuts statement and
// argument text out of a request. Only the parse-tree path needs it, so it is built lazily.

import { Lexer, TOK_LPAREN, TOK_RPAREN, TOK_WORD, TOK_QIDENT, TOK_NUMBER } from './lexer.js';

export class SourceText {
  readonly sql: string;
  private bytes: Buffer | null = null;
  private readonly isAscii: boolean;

  constructor(sql: string) {
    this.sql = sql;
    this.isAscii = !/[^\x00-\x7f]/.test(sql);
  }

  /** Text between two byte offsets (end undefined: to the end). */
  sliceBytes(start: number, end?: number): string {
    if (this.isAscii) return this.sql.slice(start, end);
    this.bytes ??= Buffer.from(this.sql, 'utf8');
    return this.bytes.toString('utf8', start, end ?? this.bytes.length);
  }

  /** The string index of a byte offset. */
  charIndex(byteOffset: number): number {
    if (this.isAscii) return byteOffset;
    return this.sliceBytes(0, byteOffset).length;
  }

  /** One statement's text from stmt_location / stmt_len, without leading comments or spacing. */
  statementText(byteLocation: number, byteLength: number): string {
    const raw = this.sliceBytes(byteLocation, byteLength > 0 ? byteLocation + byteLength : undefined);
    return raw.slice(skipSpaceAndComments(raw)).trimEnd();
  }

  /**
   * The argument text of the call whose name starts at byteLocation: `f(1, 2)` → "1,2", with
   * spacing dropped except between words, so equal calls give equal keys (advisory-lock pins).
   */
  callArguments(byteLocation: number): string {
    const lexer = new Lexer();
    lexer.lex(this.sql.slice(this.charIndex(byteLocation)));
    let k = 0;
    while (k < lexer.count && lexer.kinds[k] !== TOK_LPAREN) k++;
    let depth = 0;
    let text = '';
    let prevIsWord = false;
    for (k++; k < lexer.count; k++) {
      const kind = lexer.kinds[k];
      if (kind === TOK_LPAREN) depth++;
      if (kind === TOK_RPAREN && depth-- === 0) break;
      const isWord = kind === TOK_WORD || kind === TOK_QIDENT || kind === TOK_NUMBER;
      if (isWord && prevIsWord) text += ' ';
      text += lexer.sql.slice(lexer.starts[k], lexer.ends[k]);
      prevIsWord = isWord;
    }
    return text;
  }
}

/** Index of the first character that is neither white space nor inside a comment. */
export function skipSpaceAndComments(s: string): number {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) { i++; continue; }
    if (c === 45 && s.charCodeAt(i + 1) === 45) {
      while (i < s.length && s.charCodeAt(i) !== 10 && s.charCodeAt(i) !== 13) i++;
      continue;
    }
    if (c === 47 && s.charCodeAt(i + 1) === 42) {
      let depth = 1;
      i += 2;
      while (i < s.length && depth > 0) {
        if (s.charCodeAt(i) === 47 && s.charCodeAt(i + 1) === 42) { depth++; i += 2; continue; }
        if (s.charCodeAt(i) === 42 && s.charCodeAt(i + 1) === 47) { depth--; i += 2; continue; }
        i++;
      }
      continue;
    }
    break;
  }
  return i;
}
