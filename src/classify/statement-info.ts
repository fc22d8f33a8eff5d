// The classification of one statement, before a request's statements are merged into a
// Classification (build-classification.ts). Mutable while a path fills it in; never cached alone.

import type { SessionEffect, StatementClass } from './types.js';

/** The access mode a statement gives its transaction (see tx-modes.ts); 'unchanged': none named. */
export type TxAccess = 'unchanged' | 'read-only' | 'read-write';

export interface StatementInfo {
  cls: StatementClass;
  isWrite: boolean;
  /** BEGIN / START TRANSACTION, SET TRANSACTION, SET transaction_*: the access mode; null for other statements. */
  txAccess: TxAccess | null;
  /** Such a statement asks for SERIALIZABLE isolation (which a hot standby refuses). */
  isSerializable: boolean;
  effects: SessionEffect[];
  functions: string[];
  reason: string;
  isMeridianSetting: boolean; // SET/RESET meridian.route: answered by Meridian, never sent
  /** The result depends on a literal's value (SET values, lock keys, set_config's flag, EXPLAIN options). */
  isLiteralSensitive: boolean;
  /** DO, CALL or a call of a volatile non-built-in function: may change session state unseen. */
  hasOpaqueCall: boolean;
  /** INSERT / UPDATE / DELETE / MERGE / COPY FROM itself (not EXPLAIN ANALYZE of one). */
  isPlainDml: boolean;
}

export function statementInfo(cls: StatementClass, isWrite: boolean, reason: string): StatementInfo {
  return {
    cls,
    isWrite,
    txAccess: null,
    isSerializable: false,
    effects: [],
    functions: [],
    reason,
    isMeridianSetting: false,
    isLiteralSensitive: false,
    hasOpaqueCall: false,
    isPlainDml: false,
  };
}

/** A statement info for plain DML (see StatementInfo.isPlainDml). */
export function dmlInfo(reason: string): StatementInfo {
  const info = statementInfo('write', true, reason);
  info.isPlainDml = true;
  return info;
}

/** Marks a read statement a write because of `reason`, keeping the first reason given. */
export function markWrite(info: StatementInfo, reason: string): void {
  if (info.cls === 'read') info.cls = 'write';
  if (!info.isWrite) {
    info.isWrite = true;
    info.reason = reason;
  }
}

/** Adds a function name once, in order of first appearance. */
export function addFunction(info: StatementInfo, name: string): void {
  if (!info.functions.includes(name)) info.functions.push(name);
}
