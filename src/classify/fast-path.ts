// The fast path: settles common statement shapes from the lexer's tokens without the full parser.
// It answers only when sure; anything unusual returns null and the caller parses for real. Settled
// here: SELECT/VALUES/TABLE/WITH without DML, INTO or unknown functions; INSERT/UPDATE/DELETE/MERGE;
// transaction control; simple SET/RESET; SHOW. Must not guess: a wrong "read" sends a write to a replica.

import { hasCallEffect } from './builtin-functions.js';
import { classifyFastSession } from './fast-session.js';
import { bareName, type FunctionPolicy } from './function-policy.js';
import { type Lexer, TOK_DOT, TOK_LPAREN, TOK_OP, TOK_QIDENT, TOK_RPAREN, TOK_SEMI, TOK_WORD } from './lexer.js';
import { addFunction, dmlInfo, markWrite, statementInfo, type StatementInfo } from './statement-info.js';

/**
 * Reserved and col_name keywords (which PostgreSQL never parses as a plain function name) that
 * can stand before "(" in a query or DML statement, plus a few type words seen in casts.
 */
const NOT_A_CALL: ReadonlySet<string> = new Set([
  'all',
  'and',
  'any',
  'array',
  'as',
  'between',
  'by',
  'case',
  'cast',
  'coalesce',
  'current_time',
  'current_timestamp',
  'distinct',
  'do',
  'else',
  'except',
  'exists',
  'extract',
  'for',
  'from',
  'greatest',
  'group',
  'grouping',
  'having',
  'in',
  'intersect',
  'into',
  'is',
  'join',
  'lateral',
  'least',
  'like',
  'ilike',
  'limit',
  'localtime',
  'localtimestamp',
  'normalize',
  'not',
  'nullif',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'position',
  'returning',
  'row',
  'select',
  'some',
  'table',
  'then',
  'to',
  'treat',
  'trim',
  'union',
  'using',
  'values',
  'when',
  'where',
  'window',
  'with',
  'xmlattributes',
  'xmlconcat',
  'xmlelement',
  'xmlexists',
  'xmlforest',
  'xmlnamespaces',
  'xmlparse',
  'xmlpi',
  'xmlroot',
  'xmlserialize',
  'xmltable',
  'time',
  'timestamp',
  'interval',
  'numeric',
  'decimal',
  'dec',
  'char',
  'character',
  'varchar',
  'nchar',
  'bit',
  'float',
  'precision',
  'varying',
]);

/** Words whose "(" may or may not be a FuncCall in the parse tree: let the parser decide. */
const ASK_PARSER: ReadonlySet<string> = new Set([
  'substring',
  'overlay',
  'json',
  'json_array',
  'json_arrayagg',
  'json_object',
  'json_objectagg',
  'json_scalar',
  'json_serialize',
  'json_exists',
  'json_query',
  'json_value',
  'json_table',
  'merge_action',
]);

/** In DML, these stand before a column list, not a call: INSERT (a) / SET (a, b) / ON CONFLICT (a). */
const DML_NOT_A_CALL: ReadonlySet<string> = new Set(['insert', 'update', 'set', 'conflict', 'delete']);

const QUERY = 0;
const DML = 1;

export function classifyFast(lexer: Lexer, policy: FunctionPolicy): StatementInfo[] | null {
  if (!lexer.isComplete) return null;
  const infos: StatementInfo[] = [];
  const kinds = lexer.kinds;
  const count = lexer.count;
  let start = 0;
  let depth = 0;
  for (let k = 0; k <= count; k++) {
    const kind = k < count ? kinds[k] : TOK_SEMI;
    if (kind === TOK_LPAREN) depth++;
    else if (kind === TOK_RPAREN) {
      if (--depth < 0) return null;
    } else if (kind === TOK_SEMI) {
      if (depth !== 0) return null; // unbalanced, or ";" inside parentheses (CREATE RULE …): parse
      if (k > start) {
        const info = classifyStatement(lexer, start, k, policy);
        if (info === null) return null;
        infos.push(info);
      }
      start = k + 1;
    }
  }
  return infos;
}

function classifyStatement(lexer: Lexer, a: number, b: number, policy: FunctionPolicy): StatementInfo | null {
  let f = a;
  while (f < b && lexer.kinds[f] === TOK_LPAREN) f++;
  if (f === b || lexer.kinds[f] !== TOK_WORD) return null;
  const keyword = lexer.text(f);
  switch (keyword) {
    case 'select':
    case 'with':
    case 'values':
    case 'table':
      return scanCalls(lexer, f, b, policy, QUERY, statementInfo('read', false, keyword === 'with' ? 'select' : keyword));
    case 'insert':
    case 'update':
    case 'delete':
    case 'merge':
      return f === a ? scanCalls(lexer, f + 1, b, policy, DML, dmlInfo(keyword)) : null;
    default:
      return f === a ? classifyFastSession(lexer, keyword, a, b) : null;
  }
}

/**
 * Walks a query or DML statement: finds function calls (word or qualified name before "(") and,
 * in a query, row locks (FOR UPDATE …), INTO, and DML keywords (writable CTEs → parser).
 */
function scanCalls(lexer: Lexer, a: number, b: number, policy: FunctionPolicy, mode: number, info: StatementInfo): StatementInfo | null {
  const kinds = lexer.kinds;
  for (let k = a; k < b; k++) {
    const kind = kinds[k];
    if (kind !== TOK_WORD && kind !== TOK_QIDENT) continue;
    if (mode === QUERY && kind === TOK_WORD) {
      const verdict = queryKeyword(lexer, k, info);
      if (verdict === false) return null;
    }
    // A qualified name: a.b.c — the parts after a dot are names, never keywords.
    let e = k;
    while (kinds[e + 1] === TOK_DOT && e + 2 < b && (kinds[e + 2] === TOK_WORD || kinds[e + 2] === TOK_QIDENT)) e += 2;
    if (e + 1 < b && kinds[e + 1] === TOK_LPAREN && !checkCall(lexer, a, k, e, policy, mode, info)) return null;
    k = e;
  }
  return info;
}

/** Keywords that change a query's class. false: the statement needs the parser. */
function queryKeyword(lexer: Lexer, k: number, info: StatementInfo): boolean {
  const len = (lexer.ends[k] ?? 0) - (lexer.starts[k] ?? 0);
  if (len < 3 || len > 6) return true;
  if (lexer.is(k, 'for')) {
    if (lexer.is(k + 1, 'update') || lexer.is(k + 1, 'share') || lexer.is(k + 1, 'no') || lexer.is(k + 1, 'key')) {
      markWrite(info, 'select for update/share');
    }
    return true;
  }
  if (lexer.is(k, 'update')) return lexer.is(k - 1, 'for') || lexer.is(k - 1, 'key');
  return !(lexer.is(k, 'into') || lexer.is(k, 'insert') || lexer.is(k, 'delete') || lexer.is(k, 'merge'));
}

/** Judges a "name(" at tokens k..e. false: the statement needs the parser. */
function checkCall(lexer: Lexer, a: number, k: number, e: number, policy: FunctionPolicy, mode: number, info: StatementInfo): boolean {
  const prev = k - 1 >= a ? k - 1 : -1;
  if (prev >= 0) {
    // x::numeric(10,2), CAST(x AS varchar(5)), AS alias(a, b): type modifiers and column lists
    if (lexer.kinds[prev] === TOK_OP && lexer.sql.startsWith('::', lexer.starts[prev] ?? 0)) return true;
    if (lexer.is(prev, 'as')) return true;
    if (mode === DML && lexer.is(prev, 'into')) return true;
    if (lexer.is(prev, 'with') || lexer.is(prev, 'recursive')) return true; // WITH cte(a, b) AS …
  }
  if (k === e && lexer.kinds[k] === TOK_WORD) {
    const word = lexer.text(k);
    if (NOT_A_CALL.has(word)) return true;
    if (ASK_PARSER.has(word)) return false;
    if ((word === 'filter' || word === 'over') && prev >= 0 && lexer.kinds[prev] === TOK_RPAREN) return true;
    if (mode === DML && DML_NOT_A_CALL.has(word)) return true;
  }
  const name = qualifiedName(lexer, k, e);
  if (hasCallEffect(bareName(name))) return false; // advisory locks, set_config: effects need the tree
  const verdict = policy.resolve(name);
  if (verdict === 'unknown') return false; // maybe not a call at all: the parser will tell
  addFunction(info, name);
  if (verdict === 'write') markWrite(info, policy.reasonFor(name, verdict));
  if (policy.isOpaque(name, verdict)) info.hasOpaqueCall = true;
  return true;
}

function qualifiedName(lexer: Lexer, k: number, e: number): string {
  if (k === e) return lexer.text(k);
  let name = lexer.text(k);
  for (let i = k + 2; i <= e; i += 2) name += '.' + lexer.text(i);
  return name;
}
