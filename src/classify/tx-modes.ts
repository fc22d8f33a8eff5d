// Transaction characteristics: what BEGIN / START TRANSACTION modes, SET TRANSACTION and
// SET transaction_* give a transaction, and whether a hot standby runs it exactly as a master would.
// Shared by the fast path and the parse-tree path; the request-level rule is settledAccess(), used
// by build-classification.ts. Decides nothing about nodes; must not look at session state.
//
// A read-only transaction routes as a read, so it may run on a standby. That must change nothing
// the client sees but the node: a write in it fails with 25006 on either. What a standby refuses
// and a master accepts routes as a write instead: READ WRITE mode ("cannot set transaction
// read-write mode during recovery"), SERIALIZABLE ("cannot use serializable mode in a hot
// standby") and SET TRANSACTION SNAPSHOT (a snapshot is imported on the node that exported it,
// a master for anything routed as a write).
//
// Session defaults are not honoured: after SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY
// or SET default_transaction_read_only = on, a plain BEGIN still routes as a write. On a master
// PostgreSQL applies the default itself (writes fail with 25006 there), and `BEGIN` then
// `SET TRANSACTION READ WRITE` in a later request keeps working, which on a standby would fail.
// BEGIN READ ONLY, or SET TRANSACTION READ ONLY in the same request as the BEGIN, routes as a read.
// The one session default that does matter, a SERIALIZABLE default isolation (hot standbys refuse
// every transaction then), is the session's business: SessionState.defaultsToSerializable.

import { asObject, asString, booleanValue, constantText } from './ast-node.js';
import { statementInfo, type StatementInfo, type TxAccess } from './statement-info.js';
import type { SessionEffect } from './types.js';

/** Settings that are the current transaction's characteristics (SET [LOCAL] name = …). */
export const TX_SETTINGS: ReadonlySet<string> = new Set(['transaction_read_only', 'transaction_isolation', 'transaction_deferrable']);

/** BEGIN / START TRANSACTION with these modes: a write unless READ ONLY and not SERIALIZABLE. */
export function beginInfo(access: TxAccess, isSerializable: boolean): StatementInfo {
  const isReadOnly = access === 'read-only';
  const base = isReadOnly ? 'begin read only' : 'begin';
  const info = statementInfo('tx-begin', !isReadOnly || isSerializable, isSerializable ? `${base} serializable (a hot standby refuses it)` : base);
  info.txAccess = access;
  info.isSerializable = isSerializable;
  info.effects.push(TX_BEGIN);
  return info;
}

const TX_BEGIN: SessionEffect = Object.freeze({ type: 'tx-begin' });

/** COMMIT / ROLLBACK / PREPARE TRANSACTION: the statement with its order effect (see Classification.ordered). */
export function txEndInfo(end: 'commit' | 'rollback' | 'prepare', chain: boolean): StatementInfo {
  const info = statementInfo('tx-end', false, end === 'prepare' ? 'prepare transaction' : end);
  info.effects.push(Object.freeze({ type: 'tx-end', end, chain }));
  return info;
}

/** SET TRANSACTION modes, or SET [LOCAL | SESSION] transaction_*: a write when a standby refuses it. */
export function txModesInfo(access: TxAccess, isSerializable: boolean): StatementInfo {
  const refused = access === 'read-write' ? 'read write' : isSerializable ? 'serializable' : null;
  const reason =
    refused !== null ? `set transaction ${refused} (a hot standby refuses it)` : access === 'read-only' ? 'set transaction read only' : 'set transaction';
  const info = statementInfo('tx-control', refused !== null, reason);
  info.txAccess = access;
  info.isSerializable = isSerializable;
  info.isLiteralSensitive = true; // SET transaction_read_only = 'on' | 'off': the literal decides
  return info;
}

/** SET TRANSACTION SNAPSHOT '…': imported where it was exported, so on a master. */
export function snapshotImportInfo(): StatementInfo {
  const info = statementInfo('tx-control', true, 'set transaction snapshot (imported where exported: a master)');
  info.txAccess = 'unchanged';
  return info;
}

/** Transaction modes of the parse tree (a DefElem list: BEGIN options, SET TRANSACTION args). */
export function txModesOf(modes: readonly unknown[]): { access: TxAccess; isSerializable: boolean } {
  let access: TxAccess = 'unchanged';
  let isSerializable = false;
  for (const mode of modes) {
    const def = asObject(asObject(mode)?.['DefElem']);
    const name = asString(def?.['defname']);
    const value = constantText(def?.['arg']);
    // An unrecognisable value counts as read-write: the side a master serves.
    if (name === 'transaction_read_only') access = booleanValue(value) === true ? 'read-only' : 'read-write';
    else if (name === 'transaction_isolation') isSerializable = value?.toLowerCase() === 'serializable';
  }
  return { access, isSerializable };
}

/** SET / RESET of one of TX_SETTINGS. value: undefined for RESET, DEFAULT, FROM CURRENT. */
export function txSettingInfo(name: string, value: string | undefined): StatementInfo {
  // RESET transaction_read_only may mean read-write, which a standby refuses: the safe side.
  if (name === 'transaction_read_only') return txModesInfo(booleanValue(value) === true ? 'read-only' : 'read-write', false);
  return txModesInfo('unchanged', name === 'transaction_isolation' && value?.toLowerCase() === 'serializable');
}

/**
 * The access mode infos[i] (a BEGIN or a SET TRANSACTION) leaves its transaction in, after the
 * SET TRANSACTION statements right behind it in the same request: the last one naming a mode
 * wins, as in PostgreSQL, where they all come before the transaction's first query. Any other
 * statement (a query, SAVEPOINT, …) ends the run.
 */
export function settledAccess(infos: readonly StatementInfo[], i: number): TxAccess {
  let access = infos[i]?.txAccess ?? 'unchanged';
  for (let j = i + 1; j < infos.length; j++) {
    const next = infos[j] as StatementInfo;
    if (next.cls !== 'tx-control' || next.txAccess === null) break;
    if (next.txAccess !== 'unchanged') access = next.txAccess;
  }
  return access;
}

/**
 * A plain BEGIN (a write only for want of READ ONLY) whose transaction the SET TRANSACTION
 * statements right behind it make read-only: `begin; set transaction read only; select …` as one
 * Query reads like BEGIN READ ONLY. The SET TRANSACTION statements judge themselves (a
 * SERIALIZABLE or READ WRITE one is a write of its own).
 */
export function isMadeReadOnly(infos: readonly StatementInfo[], i: number): boolean {
  const begin = infos[i];
  return begin !== undefined && begin.cls === 'tx-begin' && begin.txAccess === 'unchanged' && !begin.isSerializable && settledAccess(infos, i) === 'read-only';
}
