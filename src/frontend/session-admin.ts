// The admin console (database `meridian` by default): every simple Query goes to the admin
// command handler, answered by Meridian itself; nothing reaches a node. This file turns one
// query into its reply frames; the session waits for it (its waiting-for-admin state).

import { Errors, MeridianError } from '../errors.js';
import { FrontendCode, TxStatus } from '../protocol/codes.js';
import { errorResponse, readyForQuery } from '../protocol/encode.js';
import type { AdminContext, SessionRef } from './types.js';

const READY_IDLE = readyForQuery(TxStatus.Idle);

/** The complete answer to one admin Query, ReadyForQuery included; an error is an ErrorResponse (never rejects). */
export function adminReply(ctx: AdminContext, sql: string, session: SessionRef): Promise<Buffer[]> {
  return ctx.adminQuery(sql, session).then(
    (reply) => [reply.frames, READY_IDLE],
    (err: unknown) => {
      const e = err instanceof MeridianError ? err : Errors.adminFailed((err as Error).message);
      return [errorResponse({ severity: 'ERROR', code: e.sqlstate, message: e.message, hint: e.hint }), READY_IDLE];
    },
  );
}

/** Extended-protocol messages to the console: only Sync is answered (ReadyForQuery), the rest ignored. */
export function adminNonQuery(code: number): Buffer | null {
  return code === FrontendCode.Sync ? READY_IDLE : null;
}
