// The parse-tree path: PostgreSQL's grammar via libpg-query, then one StatementInfo per
// statement. A syntax error, a tree too deep to walk, or a parser not yet loaded is a write.

import { asArray, asNumber, asObject } from './ast-node.js';
import { classifyParsed } from './ast-statement.js';
import type { FunctionPolicy } from './function-policy.js';
import { isParserReady, parseSql } from './parser.js';
import type { Lexer } from './lexer.js';
import { SourceText } from './source-text.js';
import type { StatementContext } from './statement-context.js';
import { statementInfo, type StatementInfo } from './statement-info.js';

/** lexer: the same sql already lexed (comments get blanked, unterminated input skips the parser). */
export function classifyFull(sql: string, policy: FunctionPolicy, lexer?: Lexer): StatementInfo[] {
  if (sql.length === 0) return []; // the empty query (libpg-query refuses '')
  if (!isParserReady()) return [failed('parser not loaded → write')];
  // PostgreSQL rejects an unterminated quote or comment too; libpg-query can take seconds to say so.
  if (lexer !== undefined && !lexer.isComplete) return [failed('unterminated quote or comment → write')];
  const parseInput = lexer === undefined ? sql : blankComments(lexer);
  const source = new SourceText(sql);
  try {
    const stmts = asArray(asObject(parseSql(parseInput))?.['stmts']);
    return stmts.map((raw) => {
      const entry = asObject(raw) ?? {};
      const location = asNumber(entry['stmt_location']) ?? 0;
      const length = asNumber(entry['stmt_len']) ?? 0;
      const ctx: StatementContext = { policy, source, text: () => source.statementText(location, length) };
      return classifyParsed(entry['stmt'], ctx);
    });
  } catch (err) {
    if (err instanceof RangeError) return [failed('statement too deep to classify → write')];
    return [failed('parse error → write')];
  }
}

/**
 * The SQL with every comment overwritten by spaces (as many bytes as it had in UTF-8, so the
 * parser's offsets still fit the original). libpg-query treats comments as tokens, not white
 * space, which breaks PostgreSQL's one-token lookahead (`NULLS /* c *\/ LAST`, `NOT -- c⏎IN`,
 * string continuation across a comment); pganalyze/libpg_query#365. Only for complete lexes: an
 * unterminated comment must stay a syntax error.
 */
export function blankComments(lexer: Lexer): string {
  const sql = lexer.sql;
  const n = lexer.commentStarts.length;
  if (n === 0 || !lexer.isComplete) return sql;
  let out = '';
  let at = 0;
  for (let i = 0; i < n; i++) {
    const start = lexer.commentStarts[i] ?? 0;
    const end = lexer.commentEnds[i] ?? 0;
    out += sql.slice(at, start);
    let bytes = 0;
    for (let j = start; j < end; j++) {
      const c = sql.charCodeAt(j);
      bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
    }
    out += ' '.repeat(bytes);
    at = end;
  }
  return out + sql.slice(at);
}

function failed(reason: string): StatementInfo {
  const info = statementInfo('write', true, reason);
  info.isLiteralSensitive = true; // never shape-cached: a fixed literal might parse
  return info;
}
