// Maps libpg-query's byte offsets (UTF-8) back to the JavaScript string, and cuts statement and
// argument text out of a request. Only the parse-tree path needs it, so it is built lazily.

import { Lexer, TOK_LPAREN, TOK_NUMBER, TOK_QIDENT, TOK_RPAREN, TOK_SEMI, TOK_WORD } from './lexer.js';

export class SourceText {
  readonly sql: string;
  private bytes: Buffer | null = null;
  private readonly isAscii: boolean;

  constructor(sql: string) {
    this.sql = sql;
    // eslint-disable-next-line no-control-regex -- the class is every code unit above 0x7f, so it starts at NUL
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

  /**
   * One statement's text from stmt_location / stmt_len: first token to last token, without the
   * comments, spacing and semicolon around it (the same text the fast path cuts out).
   */
  statementText(byteLocation: number, byteLength: number): string {
    const raw = this.sliceBytes(byteLocation, byteLength > 0 ? byteLocation + byteLength : undefined);
    const lexer = new Lexer();
    lexer.lex(raw);
    let last = lexer.count - 1;
    while (last >= 0 && lexer.kinds[last] === TOK_SEMI) last--;
    return last < 0 ? '' : raw.slice(lexer.starts[0], lexer.ends[last]);
  }

  /**
   * The argument text of the call whose name starts at byteLocation: `f(1, 2)` → "1,2", with
   * spacing dropped except between words and unquoted words lower-cased, so equal calls give
   * equal keys (advisory-lock pin and unpin).
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
      text += kind === TOK_WORD ? lexer.text(k) : lexer.sql.slice(lexer.starts[k], lexer.ends[k]);
      prevIsWord = isWord;
    }
    return text;
  }
}
