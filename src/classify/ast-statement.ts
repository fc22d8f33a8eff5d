// Classifies one statement of the parse tree: its base class from the statement type, then what
// its executed expressions add (ast-walk.ts). Anything not recognised is a write.

import { asArray, asObject, asString, booleanValue, constantText, dottedName, unwrap, type AstObject } from './ast-node.js';
import { classifySessionStatement, isHoldCursor } from './ast-session.js';
import { classifySet } from './ast-set.js';
import { isMeridianSetting, meridianShowInfo } from './meridian-setting.js';
import { isTempRelation, pushEffect, visitCall, walkExecuted } from './ast-walk.js';
import type { StatementContext } from './statement-context.js';
import { dmlInfo, statementInfo, type StatementInfo } from './statement-info.js';
import { beginInfo, txEndInfo, txModesOf } from './tx-modes.js';

/** Object kinds whose DDL changes function volatility: the catalog must be refreshed. */
const CATALOG_OBJECTS: ReadonlySet<string> = new Set([
  'OBJECT_FUNCTION',
  'OBJECT_PROCEDURE',
  'OBJECT_ROUTINE',
  'OBJECT_AGGREGATE',
  'OBJECT_EXTENSION',
  'OBJECT_SCHEMA',
]);
const CATALOG_STATEMENTS: ReadonlySet<string> = new Set([
  'CreateFunctionStmt',
  'AlterFunctionStmt',
  'CreateExtensionStmt',
  'AlterExtensionStmt',
  'AlterExtensionContentsStmt',
]);
/** Relations whose DROP may release a temp-table pin. */
const DROPPED_RELATIONS: ReadonlySet<string> = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_SEQUENCE', 'OBJECT_MATVIEW']);
const TX_KINDS: Readonly<Record<string, readonly ['tx-begin' | 'tx-end' | 'tx-control', boolean, string]>> = {
  TRANS_STMT_BEGIN: ['tx-begin', true, 'begin'],
  TRANS_STMT_START: ['tx-begin', true, 'begin'],
  TRANS_STMT_COMMIT: ['tx-end', false, 'commit'],
  TRANS_STMT_ROLLBACK: ['tx-end', false, 'rollback'],
  TRANS_STMT_PREPARE: ['tx-end', false, 'prepare transaction'],
  TRANS_STMT_COMMIT_PREPARED: ['tx-end', true, 'commit prepared'],
  TRANS_STMT_ROLLBACK_PREPARED: ['tx-end', true, 'rollback prepared'],
  TRANS_STMT_SAVEPOINT: ['tx-control', false, 'savepoint'],
  TRANS_STMT_RELEASE: ['tx-control', false, 'release savepoint'],
  TRANS_STMT_ROLLBACK_TO: ['tx-control', false, 'rollback to savepoint'],
};

const SAVEPOINT_EFFECTS: Readonly<Record<string, 'savepoint' | 'release' | 'rollback-to'>> = {
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release',
  TRANS_STMT_ROLLBACK_TO: 'rollback-to',
};

export function classifyParsed(node: unknown, ctx: StatementContext): StatementInfo {
  const typed = unwrap(node);
  if (typed === undefined) return statementInfo('write', true, 'unknown statement → write');
  const [type, body] = typed;
  const classifyBody = (inner: unknown): StatementInfo => classifyParsed(inner, ctx);
  switch (type) {
    case 'SelectStmt':
      return executed(node, statementInfo('read', false, body['valuesLists'] !== undefined ? 'values' : 'select'), ctx);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return executed(node, dmlInfo(type.slice(0, -4).toLowerCase()), ctx);
    case 'ExplainStmt':
      return explain(body, ctx);
    case 'CopyStmt':
      return copy(body, ctx);
    case 'VariableShowStmt': {
      const name = (asString(body['name']) ?? '').toLowerCase();
      return isMeridianSetting(name) ? meridianShowInfo(name) : statementInfo('read', false, 'show');
    }
    case 'FetchStmt':
      return statementInfo('read', false, body['ismove'] === true ? 'move' : 'fetch');
    case 'TransactionStmt':
      return transaction(body);
    case 'VariableSetStmt':
      return classifySet(body, ctx.text);
    case 'ConstraintsSetStmt':
      return statementInfo('tx-control', false, 'set constraints');
    case 'CallStmt': {
      const info = statementInfo('write', true, 'call');
      visitCall(asObject(body['funccall']) ?? {}, { info, policy: ctx.policy, source: ctx.source });
      info.reason = 'call';
      info.hasOpaqueCall = true; // a procedure may change session state (and COMMIT inside)
      return info;
    }
    case 'DoStmt': {
      const info = statementInfo('write', true, 'do');
      info.hasOpaqueCall = true; // an anonymous code block may change session state unseen
      return info;
    }
    case 'DeclareCursorStmt':
      return declareCursor(body, ctx);
    case 'CreateStmt':
    case 'ViewStmt':
    case 'CreateSeqStmt':
    case 'CreateTableAsStmt':
      return createRelation(type, body, ctx);
    case 'DropStmt':
      return drop(body);
    default:
      return classifySessionStatement(type, body, ctx, classifyBody) ?? ddl(type, body);
  }
}

function executed(node: unknown, info: StatementInfo, ctx: StatementContext): StatementInfo {
  walkExecuted(node, { info, policy: ctx.policy, source: ctx.source });
  return info;
}

/** EXPLAIN runs its statement only with ANALYZE. */
function explain(body: AstObject, ctx: StatementContext): StatementInfo {
  let isAnalyze = false;
  for (const option of asArray(body['options'])) {
    const def = asObject(asObject(option)?.['DefElem']);
    if (def?.['defname'] !== 'analyze') continue;
    // A bare ANALYZE is on; an unrecognisable value counts as on (the safe side).
    isAnalyze = def['arg'] === undefined || booleanValue(constantText(def['arg'])) !== false;
  }
  if (!isAnalyze) {
    const info = statementInfo('read', false, 'explain');
    info.isLiteralSensitive = true;
    return info;
  }
  const inner = classifyParsed(body['query'], ctx);
  inner.isLiteralSensitive = true;
  inner.reason = `explain analyze ${inner.reason}`;
  inner.isPlainDml = false;
  if (inner.cls !== 'read') {
    inner.cls = 'write';
    inner.isWrite = true;
  }
  return inner;
}

function copy(body: AstObject, ctx: StatementContext): StatementInfo {
  if (body['is_from'] === true) return dmlInfo('copy from');
  if (body['query'] === undefined) return statementInfo('read', false, 'copy to');
  const info = statementInfo('read', false, 'copy to');
  return executed(body['query'], info, ctx);
}

function transaction(body: AstObject): StatementInfo {
  const entry = TX_KINDS[asString(body['kind']) ?? ''];
  if (entry === undefined) return statementInfo('write', true, 'unknown transaction statement → write');
  const [cls, isWrite, reason] = entry;
  const kind = asString(body['kind']);
  if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE') {
    return txEndInfo(kind === 'TRANS_STMT_COMMIT' ? 'commit' : kind === 'TRANS_STMT_ROLLBACK' ? 'rollback' : 'prepare', body['chain'] === true);
  }
  if (cls !== 'tx-begin') {
    const info = statementInfo(cls, isWrite, reason);
    const effect = SAVEPOINT_EFFECTS[asString(body['kind']) ?? ''];
    const name = asString(body['savepoint_name']);
    // The session tracks savepoints: ROLLBACK TO undoes the SETs made after one (session-state.ts).
    if (effect !== undefined && name !== undefined) pushEffect(info, { type: effect, name });
    return info;
  }
  const { access, isSerializable } = txModesOf(asArray(body['options']));
  return beginInfo(access, isSerializable);
}

function declareCursor(body: AstObject, ctx: StatementContext): StatementInfo {
  const info = classifyParsed(body['query'], ctx);
  if (!isHoldCursor(body)) {
    info.reason = `declare cursor (${info.reason})`;
    return info;
  }
  // WITH HOLD outlives the transaction: the session stays on this backend until CLOSE.
  if (info.cls === 'read') info.cls = 'session';
  info.isWrite = true;
  info.reason = 'declare cursor with hold';
  pushEffect(info, { type: 'pin', pin: 'cursor', key: asString(body['portalname']) ?? '' });
  return info;
}

function createRelation(type: string, body: AstObject, ctx: StatementContext): StatementInfo {
  const rel = asObject(
    type === 'CreateTableAsStmt' ? asObject(body['into'])?.['rel'] : body[type === 'ViewStmt' ? 'view' : type === 'CreateSeqStmt' ? 'sequence' : 'relation'],
  );
  const isTemp = rel !== undefined && isTempRelation(rel);
  const info = statementInfo('write', true, isTemp ? 'create temp relation' : reasonOf(type));
  // CREATE TABLE … AS runs its query now (a view's query runs later, at each use).
  if (type === 'CreateTableAsStmt') walkExecuted(body['query'], { info, policy: ctx.policy, source: ctx.source });
  if (isTemp) pushEffect(info, { type: 'pin', pin: 'temp-table', key: asString(rel['relname']) ?? '' });
  return info;
}

function drop(body: AstObject): StatementInfo {
  const removeType = asString(body['removeType']) ?? '';
  const info = statementInfo('write', true, `drop ${removeType.replace('OBJECT_', '').toLowerCase()}`);
  if (CATALOG_OBJECTS.has(removeType)) pushEffect(info, { type: 'catalog-changed' });
  if (DROPPED_RELATIONS.has(removeType)) {
    for (const object of asArray(body['objects'])) {
      const name = dottedName(asObject(asObject(object)?.['List'])?.['items']);
      const key = name.slice(name.lastIndexOf('.') + 1);
      if (key !== '') pushEffect(info, { type: 'unpin', pin: 'temp-table', key });
    }
  }
  return info;
}

/** Everything else (DDL, maintenance, LOCK, DO, NOTIFY, …) runs on a master. */
function ddl(type: string, body: AstObject): StatementInfo {
  const info = statementInfo('write', true, reasonOf(type));
  const objectType = asString(body['renameType']) ?? asString(body['objectType']) ?? asString(body['kind']) ?? asString(body['objtype']) ?? '';
  if (
    CATALOG_STATEMENTS.has(type) ||
    ((type === 'RenameStmt' || type === 'AlterObjectSchemaStmt' || type === 'DefineStmt' || type === 'AlterOwnerStmt') && CATALOG_OBJECTS.has(objectType))
  ) {
    pushEffect(info, { type: 'catalog-changed' });
  }
  return info;
}

/** AlterTableStmt → "alter table". */
function reasonOf(type: string): string {
  return type
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}
