// Requests a node refused before running any of them, sent once more instead of failing: a write
// a node refused as read-only (25006: demoted, or read-only for maintenance) goes to the master
// routing picks after a re-probe; a read a hot standby cannot run goes to a master. Only what
// provably did not run, kept whole for the retry, with nothing pipelined behind it and nothing of
// its answer sent yet (it may still sit in the client's writer: then it is taken back).

import type { Backend } from '../backend/backend.js';
import type { Classification } from '../classify/types.js';
import { FrontendCode } from '../protocol/codes.js';
import type { FrameList } from './frame-list.js';
import { Phase, type Session } from './session.js';

/**
 * A 25006 for an autocommit write is safe to send again elsewhere when nothing of it ran: one
 * plain DML statement (the executor checks read-only before evaluating anything, functions
 * included), kept whole for the retry at send (isRetryableWriteRequest), nothing pipelined
 * behind it and nothing of its answer sent yet.
 */
export function mayRetryRefusedWrite(s: Session, b: Backend): boolean {
  if (s.hasRetried || s.wasInTx || s.state.isPinned || !s.isRetryableWrite) return false;
  return isWholeUnsent(s, b);
}

/** The request in flight is kept whole for a retry, alone on its backend, and its answer is unsent. */
function isWholeUnsent(s: Session, b: Backend): boolean {
  if (s.responseStarted && !(s.outWasEmptyAtSend && s.out.flushes === s.outFlushesAtSend)) return false;
  return s.inflight.length > 0 && s.inflight.syncPoints() === 1 && b.ops.countSyncPoints() === 1;
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
 * What a hot standby refuses that a master runs: 0A000 (unlogged or temporary relations during
 * recovery, SERIALIZABLE), 25006 (anything that writes: nextval(), txid_current(), a function
 * that writes, LOCK, LISTEN, NOTIFY), 55000 (recovery is in progress: pg_current_wal_lsn() …).
 */
export const STANDBY_REFUSALS: ReadonlySet<string> = new Set(['0A000', '25006', '55000']);

/**
 * A read refused by a replica, autocommit, kept whole for a retry (a simple Query, or extended
 * messages up to their Sync), with nothing pipelined behind it and nothing of its answer sent
 * yet: what was relayed (ParseComplete, BindComplete, a RowDescription before an error in
 * execution …) is all still in the client's writer. A standby changes nothing, so the request
 * can run again on a master.
 */
export function mayRetryRefusedRead(s: Session, b: Backend): boolean {
  if (s.hasRetried || s.wasInTx || s.state.isPinned || !s.ctx.cfg().routing.retryReads) return false;
  return isWholeUnsent(s, b) && s.ctx.snapshot().byName.get(b.node)?.role === 'replica';
}

/** One plain DML statement with no session effects: what a 25006 retry may send again. */
export function isRetryableWrite(cls: Classification | null): boolean {
  return cls !== null && cls.statements === 1 && cls.effects.length === 0 && cls.isPlainDml;
}

/**
 * A request refused before any of it ran, its error held back (the checks above): release the
 * backend and send it once more. `isRead`: a hot standby refused a read, which now runs as a
 * write (on a master). Otherwise a node refused an autocommit write as read-only (25006):
 * re-probe it (its role has probably changed) first, then route the write again (after
 * write_wait with no master: 57P03). Once per request (hasRetried).
 */
export function retryRefused(s: Session, b: Backend, isRead: boolean): void {
  s.hasRetried = true;
  s.responseStarted = false;
  s.doneEffects = [];
  s.queryStatementsDone = 0;
  s.detachIfIdle(b);
  s.ctx.metrics.retried(isRead ? 'standby-refused' : 'read-only');
  const resend = () => {
    const retry = s.inflight;
    s.inflight = s.batch;
    s.batch = retry;
    s.isForcedWrite = true;
    s.dispatch();
    s.afterAsync();
  };
  if (isRead) {
    s.log.info({ node: b.node }, 'read refused by a standby: retried on a master');
    resend();
    return;
  }
  s.isBusy = true;
  s.log.info({ node: b.node }, 'write refused as read-only (25006): node re-probed, write retried');
  void s.ctx.recheckNode(b.node).then(() => {
    s.isBusy = false;
    if (s.phase === Phase.Ready) resend();
  });
}

