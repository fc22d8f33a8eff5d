// Deferred BEGIN (routing.defer_begin). A BEGIN / START TRANSACTION the client sends alone is
// answered by Meridian (its CommandComplete, ReadyForQuery 'T'), and the transaction takes a
// backend only with its next request: Meridian sends the BEGIN there first, as an internal query,
// and the request only once the server has accepted it. So a backend is not held over the client's
// round trip between BEGIN and the first statement, and that statement routes with the BEGIN's
// modes (READ ONLY: a replica may serve it).
//
// While the BEGIN is still pending, a request that fails before reaching a server (no route, pool
// timeout, cancel) fails the transaction as a server would: ReadyForQuery 'E'. A COMMIT or
// ROLLBACK sent alone then (or before anything else) is answered by Meridian: nothing of the block
// reached a server. Any other request opens the transaction as BEGIN plus one statement that fails
// on purpose, so the server itself answers what a failed block allows (ROLLBACK in the extended
// protocol, 25P02 for the rest).

import type { Backend } from '../backend/backend.js';
import { Lexer } from '../classify/lexer.js';
import type { Classification } from '../classify/types.js';
import { Errors } from '../errors.js';
import { FrontendCode } from '../protocol/codes.js';
import { commandComplete } from '../protocol/encode.js';
import { querySql } from '../protocol/messages.js';
import { serialize } from 'pg-protocol';
import type { FrameList } from './frame-list.js';
import { Phase, type Session } from './session.js';

export interface DeferredBegin {
  /** The client's statement text, sent as it was. */
  readonly sql: string;
  /** Its classification: modes (isWrite, readOnly) and a leading-comment hint route the transaction. */
  readonly cls: Classification;
  /** A request of the transaction failed before reaching a server: the block is aborted. */
  failed: boolean;
}

const TAG_BEGIN = commandComplete('BEGIN');
const TAG_START = commandComplete('START TRANSACTION');
const TAG_COMMIT = commandComplete('COMMIT');
const TAG_ROLLBACK = commandComplete('ROLLBACK');

/** Reused for the first word of a BEGIN text (only BEGINs reach it, not every request). */
const lexer = new Lexer();

/** The CommandComplete a server sends for this BEGIN / START TRANSACTION text, or null. */
function tagFor(sql: string): Buffer | null {
  lexer.lex(sql);
  if (lexer.count === 0) return null;
  return lexer.is(0, 'begin') ? TAG_BEGIN : lexer.is(0, 'start') ? TAG_START : null;
}

/**
 * Answers a lone BEGIN itself when that is safe: transaction pooling, no block open, nothing
 * pinning the session to one backend. Returns false (route it as usual) otherwise.
 */
export function tryDeferBegin(s: Session, list: FrameList, cls: Classification | null): boolean {
  if (cls === null || cls.class !== 'tx-begin' || cls.statements !== 1) return false;
  if (list.length !== 1 || list.codes[list.head] !== FrontendCode.Query) return false;
  if (!s.ctx.cfg().routing.deferBegin || s.sessionBackends !== null || s.state.isPinned || s.wasInTx || s.isForcedWrite) return false;
  const sql = querySql(list.bufs[list.head]!, list.starts[list.head]!, list.ends[list.head]!);
  const tag = tagFor(sql);
  if (tag === null) return false;
  list.clear();
  s.deferredBegin = { sql, cls, failed: false };
  s.out.frame(tag);
  s.out.frame(s.readyForQueryNow());
  return true;
}

/**
 * COMMIT or ROLLBACK (END, ABORT) alone while the BEGIN is still pending: nothing of the block
 * reached a server, so Meridian ends it itself, also when no node could take it now (a failed
 * block can always be left). COMMIT of a failed block answers ROLLBACK, as a server does.
 */
export function tryEndDeferred(s: Session, list: FrameList, cls: Classification | null): boolean {
  if (cls === null || cls.statements !== 1 || list.length !== 1 || list.codes[list.head] !== FrontendCode.Query) return false;
  const e = cls.effects.length === 1 ? cls.effects[0]! : null;
  if (e === null || e.type !== 'tx-end' || e.chain || e.end === 'prepare') return false;
  const failed = s.deferredBegin!.failed;
  list.clear();
  s.deferredBegin = null;
  s.state.localRouteHint = null; // SET LOCAL meridian.route ends with the block
  s.out.frame(e.end === 'commit' && !failed ? TAG_COMMIT : TAG_ROLLBACK);
  s.out.frame(s.readyForQueryNow());
  return true;
}

const ABORT_SQL =
  "DO $meridian$ BEGIN RAISE EXCEPTION USING ERRCODE = '25P02', MESSAGE = 'an earlier request of this transaction failed before reaching a server'; END $meridian$";

/**
 * On the backend the transaction's first request got: BEGIN (and, when the block already failed,
 * a statement that fails it), then the request. A BEGIN the server refuses fails the request.
 */
export function openDeferredThenSend(s: Session, b: Backend): void {
  const send = () => {
    if (s.phase === Phase.Ready) s.sendBatch(b);
    s.needsPump = true;
  };
  const fail = (err: string) => {
    if (s.phase !== Phase.Ready) return;
    s.failBatch(Errors.adminFailed(`could not begin the transaction on node "${b.node}": ${err}`));
    s.detachIfIdle(b);
    s.needsPump = true;
  };
  // Pending until the server accepted it: a backend lost meanwhile has the request dispatched
  // again (session-failure.ts), and it must open the block on the next backend too.
  const pending = s.deferredBegin!;
  s.isBusy = true;
  const opened = () => {
    s.deferredBegin = null;
    s.wasInTx = true;
    s.wasInFailedTx = pending.failed;
    send();
  };
  b.ops.pushInternal((err) => {
    if (err !== null) {
      s.isBusy = false;
      return fail(err); // still pending: the client sees the error inside its block
    }
    if (!pending.failed) {
      s.isBusy = false;
      return opened();
    }
    b.ops.pushInternal((abortErr) => {
      s.isBusy = false;
      if (abortErr !== null) return opened();
      s.deferredBegin = null; // open on the server but not failed: fail it as the client was told
      fail('the transaction could not be marked as failed');
    });
    b.out.frame(serialize.query(ABORT_SQL));
    b.flush();
  });
  b.out.frame(serialize.query(pending.sql));
  if (!b.flush()) s.waitBackendDrain(b);
}
