// Which refused requests are sent once more instead of failing (the policy; the session does
// the retry): a write a node refused as read-only (25006: demoted, or read-only for maintenance)
// goes to the master routing picks after a re-probe; a read a hot standby cannot run goes to a
// master. Only what provably did not run, kept whole for the retry, with nothing pipelined behind
// it and nothing of its answer sent yet (it may still sit in the client's writer: then it is taken
// back). Pure decisions over the relay's view of the session (types.ts).

import type { Backend } from '../backend/backend.js';
import type { Classification } from '../classify/types.js';
import { FrontendCode } from '../protocol/codes.js';
import type { FrameList } from './frame-list.js';
import type { RelayHost } from './types.js';

/**
 * A 25006 for an autocommit write is safe to send again elsewhere when nothing of it ran: one
 * plain DML statement (the executor checks read-only before evaluating anything, functions
 * included), kept whole for the retry at send (isRetryableWriteRequest), nothing pipelined
 * behind it and nothing of its answer sent yet.
 */
export function mayRetryRefusedWrite(s: RelayHost, b: Backend): boolean {
  const r = s.req;
  if (r.hasRetried || r.wasInTx || s.state.isPinned || !r.isRetryableWrite) return false;
  return isWholeUnsent(s, b);
}

/** The request in flight is kept whole for a retry, alone on its backend, and its answer is unsent. */
function isWholeUnsent(s: RelayHost, b: Backend): boolean {
  const r = s.req;
  if (r.responseStarted && !(r.outWasEmptyAtSend && s.out.flushes === r.outFlushesAtSend)) return false;
  return r.sent.length > 0 && r.sent.syncPoints() === 1 && b.ops.countSyncPoints() === 1;
}

/**
 * A write request a 25006 retry may send again: a simple Query of one plain DML statement, or
 * extended-protocol messages up to one Sync that execute one such statement. `cls[i]` is
 * dispatch's classification of frame i (a Bind's is its statement's).
 */
export function isRetryableWriteRequest(list: FrameList, cls: readonly (Classification | null)[]): boolean {
  if (list.length === 1) return list.codes[list.head]! === FrontendCode.Query && isRetryableWrite(cls[0] ?? null);
  if (list.lastCode !== FrontendCode.Sync || list.syncPoints() !== 1) return false;
  let executes = 0;
  for (let i = 0; i < list.length; i++) {
    const code = list.codes[list.head + i]!;
    if (code === FrontendCode.Execute) executes++;
    else if (code === FrontendCode.Bind && !isRetryableWrite(cls[i] ?? null)) return false;
    else if (code === FrontendCode.Query || code === FrontendCode.FunctionCall) return false;
  }
  return executes === 1;
}

/**
 * A read refused by a replica, autocommit, kept whole for a retry (a simple Query, or extended
 * messages up to their Sync), with nothing pipelined behind it and nothing of its answer sent
 * yet: what was relayed (ParseComplete, BindComplete, a RowDescription before an error in
 * execution …) is all still in the client's writer. A standby changes nothing, so the request
 * can run again on a master.
 */
export function mayRetryRefusedRead(s: RelayHost, b: Backend): boolean {
  const r = s.req;
  if (r.hasRetried || r.wasInTx || s.state.isPinned || !s.ctx.cfg().routing.retryReads) return false;
  return isWholeUnsent(s, b) && s.ctx.snapshot().byName.get(b.node)?.role === 'replica';
}

/** One plain DML statement with no session effects: what a 25006 retry may send again. */
export function isRetryableWrite(cls: Classification | null): boolean {
  return cls !== null && cls.statements === 1 && cls.effects.length === 0 && cls.isPlainDml;
}
