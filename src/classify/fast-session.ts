// Fast path for transaction control, simple SET / RESET, and SHOW. Recognises only the plain
// forms; SET ROLE, SET TIME ZONE, SET SESSION AUTHORIZATION, COMMIT PREPARED … go to the parser.

import { TOK_COMMA, TOK_DOT, TOK_NUMBER, TOK_OP, TOK_QIDENT, TOK_STRING, TOK_WORD, type Lexer } from './lexer.js';
import { isMeridianSetting, meridianSettingInfo, meridianShowInfo } from './meridian-setting.js';
import { statementInfo, type StatementInfo, type TxAccess } from './statement-info.js';
import { beginInfo, TX_SETTINGS, txEndInfo } from './tx-modes.js';

const TX_MODE_WORDS: ReadonlySet<string> = new Set([
  'work',
  'transaction',
  'isolation',
  'level',
  'serializable',
  'repeatable',
  'read',
  'committed',
  'uncommitted',
  'only',
  'write',
  'not',
  'deferrable',
]);
const TX_END_WORDS: ReadonlySet<string> = new Set(['work', 'transaction', 'and', 'no', 'chain']);
/** SET forms with their own grammar: leave them to the parser. */
const SET_SPECIAL: ReadonlySet<string> = new Set([
  'time',
  'names',
  'role',
  'transaction',
  'constraints',
  'schema',
  'xml',
  'session',
  'local',
  'authorization',
  'characteristics',
  'all',
]);

export function classifyFastSession(lexer: Lexer, keyword: string, a: number, b: number): StatementInfo | null {
  switch (keyword) {
    case 'begin':
      return txBegin(lexer, a + 1, b);
    case 'start':
      return lexer.is(a + 1, 'transaction') ? txBegin(lexer, a + 2, b) : null;
    case 'commit':
    case 'end':
    case 'abort':
      return onlyWords(lexer, a + 1, b, TX_END_WORDS) ? txEndInfo(keyword === 'abort' ? 'rollback' : 'commit', isChain(lexer, a + 1, b)) : null;
    case 'rollback':
      if (lexer.is(a + 1, 'to')) return savepointStatement(lexer, a + 2, b, 'rollback-to', 'rollback to savepoint');
      return onlyWords(lexer, a + 1, b, TX_END_WORDS) ? txEndInfo('rollback', isChain(lexer, a + 1, b)) : null;
    case 'savepoint':
      return b - a === 2 ? savepointStatement(lexer, a + 1, b, 'savepoint', 'savepoint') : null;
    case 'release':
      return savepointStatement(lexer, a + 1, b, 'release', 'release savepoint');
    case 'show':
      return show(lexer, a, b);
    case 'set':
      return set(lexer, a, b);
    case 'reset':
      return reset(lexer, a, b);
    default:
      return null;
  }
}

/** [SAVEPOINT] name from token k to the statement's end b, with the savepoint effect. */
/** `… AND CHAIN` (not `AND NO CHAIN`) among the words [k, b). */
function isChain(lexer: Lexer, k: number, b: number): boolean {
  for (let i = k; i < b; i++) if (lexer.is(i, 'chain')) return !lexer.is(i - 1, 'no');
  return false;
}

function savepointStatement(lexer: Lexer, k: number, b: number, type: 'savepoint' | 'release' | 'rollback-to', reason: string): StatementInfo | null {
  if (b - k === 2 && lexer.is(k, 'savepoint')) k++;
  if (b - k !== 1) return null;
  const name = plainName(lexer, k);
  if (name === null) return null;
  const info = statementInfo('tx-control', false, reason);
  info.effects.push(Object.freeze({ type, name }));
  return info;
}

/**
 * A name as PostgreSQL folds it, or null when the parser should decide: non-ASCII words (folding
 * depends on the encoding), U&"…" escapes, and names of 64 bytes or more (truncated, NAMEDATALEN).
 */
function plainName(lexer: Lexer, k: number): string | null {
  const kind = lexer.kinds[k];
  const s = lexer.starts[k] ?? 0;
  if (kind === TOK_QIDENT && lexer.sql.charCodeAt(s) !== 34) return null;
  if (kind !== TOK_WORD && kind !== TOK_QIDENT) return null;
  const name = lexer.text(k);
  if (name === '' || Buffer.byteLength(name) > 63) return null;
  if (kind === TOK_WORD) for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 127) return null;
  return name;
}

function onlyWords(lexer: Lexer, a: number, b: number, words: ReadonlySet<string>): boolean {
  for (let k = a; k < b; k++) {
    const kind = lexer.kinds[k];
    if (kind === TOK_COMMA) continue;
    if (kind !== TOK_WORD || !words.has(lexer.text(k))) return false;
  }
  return true;
}

function txBegin(lexer: Lexer, a: number, b: number): StatementInfo | null {
  if (!onlyWords(lexer, a, b, TX_MODE_WORDS)) return null;
  let access: TxAccess = 'unchanged';
  let isSerializable = false;
  for (let k = a; k < b; k++) {
    if (lexer.is(k, 'serializable')) isSerializable = true;
    else if (k + 1 < b && lexer.is(k, 'read') && lexer.is(k + 1, 'only')) access = 'read-only';
    else if (k + 1 < b && lexer.is(k, 'read') && lexer.is(k + 1, 'write')) access = 'read-write';
  }
  return beginInfo(access, isSerializable);
}

/** Dotted name at k: returns the index after it, or -1. Name is written to out[0]. */
function settingName(lexer: Lexer, k: number, b: number, out: string[]): number {
  if (k >= b || lexer.kinds[k] !== TOK_WORD) return -1;
  let name = lexer.text(k);
  if (SET_SPECIAL.has(name)) return -1;
  k++;
  while (k + 1 < b && lexer.kinds[k] === TOK_DOT && lexer.kinds[k + 1] === TOK_WORD) {
    name += '.' + lexer.text(k + 1);
    k += 2;
  }
  out[0] = name;
  return k;
}

/** SET [SESSION | LOCAL] name { = | TO } value [, …] with plain values. */
function set(lexer: Lexer, a: number, b: number): StatementInfo | null {
  let k = a + 1;
  let isLocal = false;
  if (lexer.is(k, 'local')) {
    isLocal = true;
    k++;
  } else if (lexer.is(k, 'session')) k++;
  const out: string[] = [''];
  k = settingName(lexer, k, b, out);
  if (k < 0 || k >= b) return null;
  const name = out[0] ?? '';
  if (TX_SETTINGS.has(name)) return null; // SET transaction_read_only …: per transaction, see tx-modes.ts
  const isEquals = lexer.kinds[k] === TOK_OP && lexer.ends[k] === (lexer.starts[k] ?? 0) + 1 && lexer.sql.charCodeAt(lexer.starts[k] ?? 0) === 61;
  if (!isEquals && !lexer.is(k, 'to')) return null;
  k++;
  if (k >= b || !plainValues(lexer, k, b)) return null;
  const isDefault = b - k === 1 && lexer.is(k, 'default');
  if (isMeridianSetting(name)) {
    if (b - k !== 1) return null;
    return meridianSettingInfo(name, isDefault ? null : valueText(lexer, k), isLocal);
  }
  if (isLocal) return statementInfo('session', false, `set local ${name}`);
  const info = statementInfo('session', false, `set ${name}`);
  info.isLiteralSensitive = true;
  const sql = lexer.sql.slice(lexer.starts[a], lexer.ends[b - 1]);
  info.effects.push(Object.freeze(isDefault ? { type: 'reset', name } : { type: 'set', name, sql }));
  return info;
}

/** value [, value …] where a value is a string, a signed number, a word or a quoted name. */
function plainValues(lexer: Lexer, k: number, b: number): boolean {
  let expectValue = true;
  for (; k < b; k++) {
    const kind = lexer.kinds[k];
    if (!expectValue) {
      if (kind !== TOK_COMMA) return false;
      expectValue = true;
      continue;
    }
    if (kind === TOK_OP) {
      const c = lexer.sql.charCodeAt(lexer.starts[k] ?? 0);
      const isSign = lexer.ends[k] === (lexer.starts[k] ?? 0) + 1 && (c === 43 || c === 45);
      if (!isSign || lexer.kinds[k + 1] !== TOK_NUMBER || k + 1 >= b) return false;
      continue;
    }
    if (kind === TOK_WORD && lexer.is(k, 'default') && b - k !== 1) return false;
    if (kind !== TOK_STRING && kind !== TOK_NUMBER && kind !== TOK_WORD && kind !== TOK_QIDENT) return false;
    expectValue = false;
  }
  return !expectValue;
}

/** A single value's text: words lower-cased, '…' unquoted; other literal forms as written. */
function valueText(lexer: Lexer, k: number): string {
  const s = lexer.starts[k] ?? 0;
  const e = lexer.ends[k] ?? 0;
  if (lexer.kinds[k] === TOK_STRING && lexer.sql.charCodeAt(s) === 39) return lexer.sql.slice(s + 1, e - 1).replace(/''/g, "'");
  if (lexer.kinds[k] === TOK_WORD || lexer.kinds[k] === TOK_QIDENT) return lexer.text(k);
  return lexer.sql.slice(s, e);
}

/** SHOW name: Meridian answers SHOW of its own settings. */
function show(lexer: Lexer, a: number, b: number): StatementInfo {
  const out: string[] = [''];
  const k = settingName(lexer, a + 1, b, out);
  if (k === b && isMeridianSetting(out[0] ?? '')) return meridianShowInfo(out[0]!);
  return statementInfo('read', false, 'show');
}

/** RESET name | RESET ALL. */
function reset(lexer: Lexer, a: number, b: number): StatementInfo | null {
  if (b - a === 2 && lexer.is(a + 1, 'all')) {
    const info = statementInfo('session', false, 'reset all');
    info.effects.push(Object.freeze({ type: 'reset-all' }));
    return info;
  }
  const out: string[] = [''];
  const k = settingName(lexer, a + 1, b, out);
  if (k !== b) return null;
  const name = out[0] ?? '';
  if (TX_SETTINGS.has(name)) return null; // RESET transaction_read_only: per transaction, see tx-modes.ts
  if (isMeridianSetting(name)) return meridianSettingInfo(name, null, false);
  const info = statementInfo('session', false, `reset ${name}`);
  info.effects.push(Object.freeze({ type: 'reset', name }));
  return info;
}
