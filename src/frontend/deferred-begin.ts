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
// protocol, 25P02 for the rest). This file decides and answers; the session opens the block on
// a backend (its waiting-for-begin state) with the statements below.

import { Lexer } from '../classify/lexer.js';
import type { Classification } from '../classify/types.js';
import { FrontendCode } from '../protocol/codes.js';
import { commandComplete } from '../protocol/encode.js';
import { querySql } from '../protocol/messages.js';
import type { FrameList } from './frame-list.js';
import type { DeferHost } from './types.js';

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
export function tryDeferBegin(s: DeferHost, list: FrameList, cls: Classification | null): boolean {
  if (cls === null || cls.class !== 'tx-begin' || cls.statements !== 1) return false;
  if (list.length !== 1 || list.codes[list.head] !== FrontendCode.Query) return false;
  if (!s.ctx.cfg().routing.deferBegin || s.isSessionPooled || s.state.isPinned || s.req.wasInTx || s.req.isForcedWrite) return false;
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
export function tryEndDeferred(s: DeferHost, list: FrameList, cls: Classification | null): boolean {
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

/**
 * Sent after the BEGIN when the block already failed before reaching a server: it fails the
 * block on the server too, so the server answers what a failed block allows.
 */
export const ABORT_SQL =
  "DO $meridian$ BEGIN RAISE EXCEPTION USING ERRCODE = '25P02', MESSAGE = 'an earlier request of this transaction failed before reaching a server'; END $meridian$";
