// SET [LOCAL] meridian.route = master | replica | 'node=NAME' | default, and RESET meridian.route:
// consumed by Meridian (never sent to a server). Shared by the fast path and the parse-tree path.

import { parseRouteValue } from './parse-hint.js';
import { statementInfo, type StatementInfo } from './statement-info.js';
import type { SessionEffect } from './types.js';

export const MERIDIAN_ROUTE = 'meridian.route';

/** rawValue: the setting's value without quotes; null for RESET / SET … TO DEFAULT. */
export function meridianSettingInfo(rawValue: string | null, isLocal: boolean): StatementInfo {
  const info = statementInfo('session', false, `${isLocal ? 'set local' : rawValue === null ? 'reset' : 'set'} ${MERIDIAN_ROUTE}`);
  info.isMeridianSetting = true;
  info.isLiteralSensitive = true;
  const hint = rawValue === null ? null : parseRouteValue(rawValue);
  const effect: SessionEffect = hint === undefined
    ? { type: 'route-hint', hint: null, isLocal, invalidValue: rawValue ?? '' }
    : { type: 'route-hint', hint, isLocal };
  info.effects.push(Object.freeze(effect));
  return info;
}
