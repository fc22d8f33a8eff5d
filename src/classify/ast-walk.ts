// Walks the parse tree of a statement that executes expressions (queries, DML, CALL, EXECUTE
// parameters …) and marks what makes it a write: DML nested anywhere (writable CTEs), row locks,
// SELECT INTO, and calls of functions that are not IMMUTABLE/STABLE. Session-level advisory locks
// and set_config(…, false) also leave effects. Does not decide the statement's base class.

import { ADVISORY_LOCK_FUNCTIONS, ADVISORY_UNLOCK_ALL, ADVISORY_UNLOCK_FUNCTIONS, SET_CONFIG } from './builtin-functions.js';
import { asArray, asObject, asString, booleanValue, constantText, dottedName, type AstObject } from './ast-node.js';
import type { FunctionPolicy } from './function-policy.js';
import type { SourceText } from './source-text.js';
import { addFunction, markWrite, type StatementInfo } from './statement-info.js';
import type { SessionEffect } from './types.js';

/** Calls the grammar itself inserts (x SIMILAR TO y → similar_to_escape(y)): immutable, never written by users. */
const GRAMMAR_CALLS: ReadonlySet<string> = new Set(['pg_catalog.similar_to_escape', 'pg_catalog.similar_escape']);

/** Deeper trees are refused (the caller classifies them as writes) rather than risk the stack. */
const MAX_DEPTH = 2000;

export interface WalkContext {
  readonly info: StatementInfo;
  readonly policy: FunctionPolicy;
  readonly source: SourceText;
}

export function walkExecuted(node: unknown, ctx: WalkContext): void {
  walk(node, ctx, 0);
}

function walk(x: unknown, ctx: WalkContext, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError('parse tree too deep');
  if (Array.isArray(x)) {
    for (const item of x) if (typeof item === 'object' && item !== null) walk(item, ctx, depth + 1);
    return;
  }
  const o = asObject(x);
  if (o === undefined) return;
  for (const key in o) {
    const value = o[key];
    if (typeof value !== 'object' || value === null) continue;
    switch (key) {
      case 'FuncCall':
        visitCall(asObject(value) ?? {}, ctx);
        break;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        markWrite(ctx.info, 'writable CTE');
        break;
      case 'SelectStmt':
        visitSelect(asObject(value) ?? {}, ctx);
        break;
      default:
        break;
    }
    walk(value, ctx, depth + 1);
  }
}

function visitSelect(select: AstObject, ctx: WalkContext): void {
  if (select['lockingClause'] !== undefined) markWrite(ctx.info, 'select for update/share');
  const into = asObject(select['intoClause']);
  if (into === undefined) return;
  markWrite(ctx.info, 'select into');
  const rel = asObject(into['rel']);
  if (rel !== undefined && isTempRelation(rel)) pushEffect(ctx.info, { type: 'pin', pin: 'temp-table', key: asString(rel['relname']) ?? '' });
}

/** A RangeVar of a temporary relation: TEMP/TEMPORARY, or created in pg_temp. */
export function isTempRelation(rel: AstObject): boolean {
  return rel['relpersistence'] === 't' || rel['schemaname'] === 'pg_temp';
}

export function pushEffect(info: StatementInfo, effect: SessionEffect): void {
  info.effects.push(Object.freeze(effect));
}

/** A function call: records its name, its effect on session state, and whether it writes. */
export function visitCall(call: AstObject, ctx: WalkContext): void {
  // extract(…), trim(…), x AT TIME ZONE y …: SQL syntax for built-ins, all immutable or stable.
  if (call['funcformat'] === 'COERCE_SQL_SYNTAX') return;
  const parts = asArray(call['funcname']);
  const name = dottedName(parts);
  if (name === '' || GRAMMAR_CALLS.has(name)) return;
  const info = ctx.info;
  const isBuiltinScope = parts.length === 1 || name.startsWith('pg_catalog.');
  const bare = isBuiltinScope ? name.slice(name.lastIndexOf('.') + 1) : '';
  if (ADVISORY_LOCK_FUNCTIONS.has(bare)) {
    info.isLiteralSensitive = true;
    pushEffect(info, { type: 'pin', pin: 'advisory-lock', key: lockKey(call, ctx) });
  } else if (ADVISORY_UNLOCK_FUNCTIONS.has(bare)) {
    info.isLiteralSensitive = true;
    pushEffect(info, { type: 'unpin', pin: 'advisory-lock', key: lockKey(call, ctx) });
  } else if (bare === ADVISORY_UNLOCK_ALL) {
    pushEffect(info, { type: 'unpin', pin: 'advisory-lock', key: null });
  } else if (bare === SET_CONFIG) {
    info.isLiteralSensitive = true;
    // set_config(name, value, is_local): only is_local = false outlives the transaction.
    const isLocal = booleanValue(constantText(asArray(call['args'])[2]));
    if (isLocal !== true) pushEffect(info, { type: 'state-unknown' });
  }
  addFunction(info, name);
  const verdict = ctx.policy.resolve(name);
  if (verdict !== 'read') markWrite(info, ctx.policy.reasonFor(name, verdict));
  if (ctx.policy.isOpaque(name, verdict)) info.hasOpaqueCall = true;
}

function lockKey(call: AstObject, ctx: WalkContext): string {
  const location = call['location'];
  return typeof location === 'number' && location >= 0 ? ctx.source.callArguments(location) : '';
}
