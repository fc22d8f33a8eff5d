// The parse-tree path: PostgreSQL's grammar via libpg-query, then one StatementInfo per
// statement. A syntax error, a tree too deep to walk, or a parser not yet loaded is a write.

import { asArray, asNumber, asObject } from './ast-node.js';
import { classifyParsed, type StatementContext } from './ast-statement.js';
import type { FunctionPolicy } from './function-policy.js';
import { isParserReady, parseSql } from './parser.js';
import { SourceText } from './source-text.js';
import { statementInfo, type StatementInfo } from './statement-info.js';

export function classifyFull(sql: string, policy: FunctionPolicy): StatementInfo[] {
  if (sql.length === 0) return []; // the empty query (libpg-query refuses '')
  if (!isParserReady()) return [failed('parser not loaded → write')];
  const source = new SourceText(sql);
  try {
    const stmts = asArray(asObject(parseSql(sql))?.['stmts']);
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

function failed(reason: string): StatementInfo {
  const info = statementInfo('write', true, reason);
  info.isLiteralSensitive = true; // never shape-cached: a fixed literal might parse
  return info;
}
