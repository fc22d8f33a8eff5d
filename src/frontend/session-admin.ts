// The admin console (database `meridian` by default): every simple Query goes to the admin
// command handler, answered by Meridian itself; nothing reaches a node.

import { Errors, MeridianError } from '../errors.js';
import { FrontendCode, TxStatus } from '../protocol/codes.js';
import { errorResponse, readyForQuery } from '../protocol/encode.js';
import { querySql } from '../protocol/messages.js';
import type { Session } from './session.js';

export function takeAdminFrame(s: Session, code: number, buf: Buffer, start: number, end: number): boolean {
  if (code !== FrontendCode.Query) {
    if (code === FrontendCode.Sync) s.out.frame(readyForQuery(TxStatus.Idle));
    return true;
  }
  const sql = querySql(buf, start, end);
  s.isBusy = true;
  s.ctx.adminQuery(sql, s).then(
    (reply) => {
      s.out.frame(reply.frames);
      s.out.frame(readyForQuery(TxStatus.Idle));
    },
    (err: unknown) => {
      const e = err instanceof MeridianError ? err : Errors.adminFailed((err as Error).message);
      s.out.frame(errorResponse({ severity: 'ERROR', code: e.sqlstate, message: e.message, hint: e.hint }));
      s.out.frame(readyForQuery(TxStatus.Idle));
    },
  ).finally(() => s.guard('admin reply', () => {
    s.isBusy = false;
    s.afterAsync();
  }));
  return true;
}
