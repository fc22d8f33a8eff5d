// SET / RESET in the parse tree (VariableSetStmt): which session state it changes and how to
// replay it on another backend. SET LOCAL and SET TRANSACTION last one transaction: no effect
// (their access mode and isolation matter for routing: tx-modes.ts).

import { asArray, asObject, asString, booleanValue, constantText, type AstObject } from './ast-node.js';
import { pushEffect } from './ast-walk.js';
import { isMeridianSetting, meridianSettingInfo } from './meridian-setting.js';
import { statementInfo, type StatementInfo } from './statement-info.js';
import { snapshotImportInfo, TX_SETTINGS, txModesInfo, txModesOf, txSettingInfo } from './tx-modes.js';

/** SET SESSION CHARACTERISTICS AS TRANSACTION … sets these session defaults. */
const CHARACTERISTICS: Readonly<Record<string, string>> = {
  transaction_isolation: 'default_transaction_isolation',
  transaction_read_only: 'default_transaction_read_only',
  transaction_deferrable: 'default_transaction_deferrable',
};

export function classifySet(body: AstObject, statementText: () => string): StatementInfo {
  const kind = asString(body['kind']) ?? '';
  const name = (asString(body['name']) ?? '').toLowerCase();
  const isLocal = body['is_local'] === true;
  const args = asArray(body['args']);
  if (isMeridianSetting(name)) {
    const isDefault = kind === 'VAR_SET_DEFAULT' || kind === 'VAR_RESET';
    return meridianSettingInfo(name, isDefault ? null : args.map(constantText).join(', '), isLocal);
  }
  if (kind === 'VAR_RESET_ALL') {
    const info = statementInfo('session', false, 'reset all');
    pushEffect(info, { type: 'reset-all' });
    return info;
  }
  if (kind === 'VAR_SET_MULTI') {
    if (name === 'transaction snapshot') return snapshotImportInfo();
    return name === 'transaction' ? setTransaction(args) : setCharacteristics(args);
  }
  // SET [LOCAL | SESSION] transaction_read_only = …: this transaction only, like SET TRANSACTION.
  if (TX_SETTINGS.has(name)) return txSettingInfo(name, kind === 'VAR_SET_VALUE' ? constantText(args[0]) : undefined);
  const info = statementInfo('session', false, `${kind === 'VAR_RESET' ? 'reset' : isLocal ? 'set local' : 'set'} ${name}`);
  info.isLiteralSensitive = true;
  if (kind === 'VAR_RESET' || (kind === 'VAR_SET_DEFAULT' && !isLocal)) {
    pushEffect(info, { type: 'reset', name });
  } else if (kind === 'VAR_SET_VALUE' && !isLocal) {
    pushEffect(info, { type: 'set', name, sql: statementText() });
  }
  return info;
}

/** SET TRANSACTION modes: READ ONLY, READ WRITE, ISOLATION LEVEL, [NOT] DEFERRABLE. */
function setTransaction(modes: readonly unknown[]): StatementInfo {
  const { access, isSerializable } = txModesOf(modes);
  return txModesInfo(access, isSerializable);
}

function setCharacteristics(modes: readonly unknown[]): StatementInfo {
  const info = statementInfo('session', false, 'set session characteristics');
  info.isLiteralSensitive = true;
  for (const mode of modes) {
    const def = asObject(asObject(mode)?.['DefElem']);
    const name = CHARACTERISTICS[asString(def?.['defname']) ?? ''];
    const value = constantText(def?.['arg']);
    if (name === undefined || value === undefined) continue;
    const literal = name === 'default_transaction_isolation' ? `'${value.replace(/'/g, "''")}'` : booleanValue(value) === true ? 'on' : 'off';
    pushEffect(info, { type: 'set', name, sql: `SET ${name} = ${literal}` });
  }
  return info;
}
