// Meridian's own settings, consumed by Meridian (a Query of nothing else is answered without a
// server) — shared by the fast path and the parse-tree path:
//  * SET [LOCAL] meridian.route = master | replica | 'node=NAME' | default, RESET meridian.route;
//  * SET meridian.read_your_writes = on | off | default, RESET meridian.read_your_writes;
//  * SET meridian.causal_token = '…', RESET meridian.causal_token;
//  * SHOW of each of them.
// A bad value is kept in the effect (invalidValue): the answer is 22023 and nothing changes.

import { parseRouteValue } from './parse-hint.js';
import { statementInfo, type StatementInfo } from './statement-info.js';
import type { SessionEffect } from './types.js';

export const MERIDIAN_ROUTE = 'meridian.route';
export const MERIDIAN_READ_YOUR_WRITES = 'meridian.read_your_writes';
export const MERIDIAN_CAUSAL_TOKEN = 'meridian.causal_token';

export function isMeridianSetting(name: string): boolean {
  return name === MERIDIAN_ROUTE || name === MERIDIAN_READ_YOUR_WRITES || name === MERIDIAN_CAUSAL_TOKEN;
}

/** SHOW of one of Meridian's own settings: answered by Meridian, never sent. */
export function meridianShowInfo(name: string): StatementInfo {
  const info = statementInfo('read', false, 'show');
  info.isMeridianSetting = true;
  info.effects.push(Object.freeze({ type: 'show-meridian', name }));
  return info;
}

/** A boolean as PostgreSQL spells one (on/off, true/false, yes/no, 1/0); null when it is none. */
export function parseOnOff(v: string): boolean | null {
  const t = v.trim().toLowerCase();
  if (t === 'on' || t === 'true' || t === 'yes' || t === '1') return true;
  if (t === 'off' || t === 'false' || t === 'no' || t === '0') return false;
  return null;
}

/** name: one of isMeridianSetting; rawValue: the value without quotes, null for RESET / SET … TO DEFAULT. */
export function meridianSettingInfo(name: string, rawValue: string | null, isLocal: boolean): StatementInfo {
  const info = statementInfo('session', false, `${isLocal ? 'set local' : rawValue === null ? 'reset' : 'set'} ${name}`);
  info.isMeridianSetting = true;
  info.isLiteralSensitive = true;
  let effect: SessionEffect;
  if (name === MERIDIAN_ROUTE) {
    const hint = rawValue === null ? null : parseRouteValue(rawValue);
    effect = hint === undefined ? { type: 'route-hint', hint: null, isLocal, invalidValue: rawValue ?? '' } : { type: 'route-hint', hint, isLocal };
  } else if (name === MERIDIAN_CAUSAL_TOKEN) {
    effect = { type: 'causal-token', token: rawValue, isLocal };
  } else {
    const on = rawValue === null ? null : parseOnOff(rawValue);
    effect =
      rawValue !== null && on === null ? { type: 'read-your-writes', on: null, isLocal, invalidValue: rawValue } : { type: 'read-your-writes', on, isLocal };
  }
  info.effects.push(Object.freeze(effect));
  return info;
}
