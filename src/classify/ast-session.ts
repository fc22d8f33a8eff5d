// Session-state statements in the parse tree: DISCARD, PREPARE / EXECUTE / DEALLOCATE, LISTEN /
// UNLISTEN, CLOSE, LOAD. Each says what it does to the session (effects) and whether it pins.

import { asNumber, asString, type AstObject } from './ast-node.js';
import { pushEffect, walkExecuted } from './ast-walk.js';
import type { StatementContext } from './statement-context.js';
import { statementInfo, type StatementInfo } from './statement-info.js';
import type { SessionEffect } from './types.js';

/** undefined: not a session statement. */
export function classifySessionStatement(
  type: string,
  body: AstObject,
  ctx: StatementContext,
  classifyBody: (node: unknown) => StatementInfo,
): StatementInfo | undefined {
  switch (type) {
    case 'DiscardStmt':
      return discard(asString(body['target']) ?? '');
    case 'PrepareStmt':
      return prepare(body, ctx, classifyBody);
    case 'ExecuteStmt': {
      const name = asString(body['name']) ?? '';
      const info = statementInfo('session', false, 'execute');
      walkExecuted(body['params'], { info, policy: ctx.policy, source: ctx.source }); // parameters are evaluated
      pushEffect(info, { type: 'execute', name });
      return info;
    }
    case 'DeallocateStmt': {
      const info = statementInfo('session', false, 'deallocate');
      pushEffect(info, { type: 'deallocate', name: body['isall'] === true ? null : (asString(body['name']) ?? null) });
      return info;
    }
    case 'ListenStmt': {
      const info = statementInfo('session', true, 'listen');
      pushEffect(info, { type: 'pin', pin: 'listen', key: asString(body['conditionname']) ?? '' });
      return info;
    }
    case 'UnlistenStmt': {
      const info = statementInfo('session', false, 'unlisten');
      pushEffect(info, { type: 'unpin', pin: 'listen', key: asString(body['conditionname']) ?? null });
      return info;
    }
    case 'ClosePortalStmt': {
      const info = statementInfo('session', false, 'close cursor');
      pushEffect(info, { type: 'unpin', pin: 'cursor', key: asString(body['portalname']) ?? null });
      return info;
    }
    case 'LoadStmt': {
      // LOAD 'library' changes the backend in ways Meridian does not replay.
      const info = statementInfo('session', false, 'load');
      pushEffect(info, { type: 'state-unknown' });
      return info;
    }
    default:
      return undefined;
  }
}

function discard(target: string): StatementInfo {
  const info = statementInfo('session', false, `discard ${target.replace('DISCARD_', '').toLowerCase()}`);
  if (target === 'DISCARD_ALL') pushEffect(info, { type: 'discard-all' });
  else if (target === 'DISCARD_TEMP') pushEffect(info, { type: 'unpin', pin: 'temp-table', key: null });
  return info;
}

/** PREPARE name AS body: the body's class and effects travel with the prepare effect for EXECUTE. */
function prepare(body: AstObject, ctx: StatementContext, classifyBody: (node: unknown) => StatementInfo): StatementInfo {
  const inner = classifyBody(body['query']);
  const info = statementInfo('session', false, 'prepare');
  info.functions.push(...inner.functions);
  info.isLiteralSensitive = inner.isLiteralSensitive;
  const effect: SessionEffect =
    inner.effects.length > 0
      ? { type: 'prepare', name: asString(body['name']) ?? '', sql: ctx.text(), bodyIsWrite: inner.isWrite, bodyEffects: Object.freeze(inner.effects) }
      : { type: 'prepare', name: asString(body['name']) ?? '', sql: ctx.text(), bodyIsWrite: inner.isWrite };
  pushEffect(info, effect);
  return info;
}

/** DECLARE … CURSOR: CURSOR_OPT_HOLD (0x20) keeps it past the transaction, pinning the session. */
export function isHoldCursor(body: AstObject): boolean {
  return ((asNumber(body['options']) ?? 0) & 0x20) !== 0;
}
