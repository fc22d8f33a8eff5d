// SET / RESET in the parse tree (VariableSetStmt): which session state it changes and how to
// replay it on another backend. SET LOCAL and SET TRANSACTION last one transaction: no effect.

import { asArray, asObject, asString, booleanValue, constantText, type AstObject } from './ast-node.js';
import { pushEffect } from './ast-walk.js';
import { MERIDIAN_ROUTE, meridianSettingInfo } from './meridian-setting.js';
import { statementInfo, type StatementInfo } from './statement-info.js';

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
  if (name === MERIDIAN_ROUTE) {
    const isDefault = kind === 'VAR_SET_DEFAULT' || kind === 'VAR_RESET';
    return meridianSettingInfo(isDefault ? null : args.map(constantText).join(', '), isLocal);
  }
  if (kind === 'VAR_RESET_ALL') {
    const info = statementInfo('session', false, 'reset all');
    pushEffect(info, { type: 'reset-all' });
    return info;
  }
  if (kind === 'VAR_SET_MULTI') return name.startsWith('transaction') ? setTransaction(args) : setCharacteristics(args);
  if (name.startsWith('transaction_')) return setTransaction([]); // SET transaction_read_only = …: this transaction only
  const info = statementInfo('session', false, `${kind === 'VAR_RESET' ? 'reset' : isLocal ? 'set local' : 'set'} ${name}`);
  info.isLiteralSensitive = true;
  if (kind === 'VAR_RESET' || (kind === 'VAR_SET_DEFAULT' && !isLocal)) {
    pushEffect(info, { type: 'reset', name });
  } else if (kind === 'VAR_SET_VALUE' && !isLocal) {
    pushEffect(info, { type: 'set', name, sql: statementText() });
  }
  return info;
}

/** SET TRANSACTION … (also BEGIN's modes): READ ONLY makes the statement read-only. */
function setTransaction(modes: readonly unknown[]): StatementInfo {
  const readOnly = isReadOnlyModes(modes);
  const info = statementInfo('tx-control', false, readOnly ? 'set transaction read only' : 'set transaction');
  info.readOnly = readOnly;
  return info;
}

/** Whether transaction modes (DefElem list) include READ ONLY. */
export function isReadOnlyModes(modes: readonly unknown[]): boolean {
  let readOnly = false;
  for (const mode of modes) {
    const def = asObject(asObject(mode)?.['DefElem']);
    if (def?.['defname'] === 'transaction_read_only') readOnly = booleanValue(constantText(def['arg'])) === true;
  }
  return readOnly;
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
