// The end of a client-visible request (its ReadyForQuery): apply the effects the server accepted,
// in transaction order where that matters, note a write for read-your-writes, reset the
// per-request state, and release the backend when no transaction keeps the session on it.

import type { Backend } from '../backend/backend.js';
import type { Classification, SessionEffect } from '../classify/types.js';
import { TxStatus } from '../protocol/codes.js';
import { commandTagIs } from '../protocol/messages.js';
import type { Session } from './session.js';

const NO_EFFECTS: readonly SessionEffect[] = Object.freeze([]);

/**
 * 'C' for COMMIT and PREPARE TRANSACTION (settings made in the block survive both), 'R' for
 * ROLLBACK, which is also the tag of ROLLBACK TO SAVEPOINT and of a COMMIT of an aborted block.
 */
export function txTagOf(buf: Buffer, start: number, end: number): string {
  if (commandTagIs(buf, start, end, TAG_COMMIT) || commandTagIs(buf, start, end, TAG_PREPARE)) return 'C';
  return commandTagIs(buf, start, end, TAG_ROLLBACK) ? 'R' : '';
}

const TAG_COMMIT = Buffer.from('COMMIT');
const TAG_ROLLBACK = Buffer.from('ROLLBACK');
const TAG_PREPARE = Buffer.from('PREPARE TRANSACTION');

/**
 * How the block open before a request ended, from its tags in order (txTagOf) and its effects:
 * the first COMMIT commits it (statements after it ran outside: `commit; set x`; after COMMIT AND
 * CHAIN a new block is open), unless a real ROLLBACK came first (more ROLLBACK tags before it than
 * ROLLBACK TO statements). With no COMMIT, a block gone by the end was rolled back; one still open
 * was not ended (ROLLBACK AND CHAIN is not told apart from ROLLBACK TO).
 */
function endedBlock(tags: string, effects: readonly SessionEffect[], inTx: boolean): 'commit' | 'rollback' | null {
  const firstCommit = tags.indexOf('C');
  if (firstCommit < 0) return inTx ? null : 'rollback';
  let rollbackTos = 0;
  for (const e of effects) if (e.type === 'rollback-to') rollbackTos++;
  return firstCommit > rollbackTos ? 'rollback' : 'commit';
}

/**
 * A request with transaction order (Classification.ordered) replayed statement by statement
 * (SessionState.replayOrdered): a simple Query's statements split at its statement-end markers
 * (the statement after the last CommandComplete failed), or the extended protocol's completed
 * Executes, one statement each (the failed one never got here).
 */
function replayRequest(s: Session, b: Backend, inTx: boolean, query: Classification | null): boolean {
  let segments: (readonly SessionEffect[])[];
  let failedAt = -1;
  if (query !== null) {
    segments = splitStatements(query);
    if (s.requestFailed) failedAt = s.queryStatementsDone;
  } else {
    segments = s.doneEffects.map((c) => c.effects);
    if (s.requestFailed) failedAt = segments.length;
  }
  const statements = query !== null ? query.statements : segments.length + (s.requestFailed ? 1 : 0);
  const start = { inBlock: s.wasInTx, isAborted: s.wasInFailedTx, isImplicit: !s.wasInTx && statements > 1 };
  return s.state.replayOrdered(segments, failedAt, start, inTx, b);
}

function splitStatements(c: Classification): (readonly SessionEffect[])[] {
  if (c.statements <= 1) return [c.effects];
  const out: SessionEffect[][] = [[]];
  for (const e of c.effects) {
    if (e.type === 'statement-end') out.push([]);
    else out[out.length - 1]!.push(e);
  }
  return out;
}

function isOrdered(done: readonly Classification[]): boolean {
  for (let i = 0; i < done.length; i++) if (done[i]!.ordered) return true;
  return false;
}

/** End of a client-visible request: apply accepted effects, maybe release the backend. */
export function finishRequest(s: Session, b: Backend, status: number, query: Classification | null): void {
  const inTx = status !== TxStatus.Idle;
  if (s.doneEffects.length > 0 && isOrdered(s.doneEffects)) {
    const catalogChanged = replayRequest(s, b, inTx, query !== null && query.ordered ? query : null);
    s.doneEffects = [];
    if (catalogChanged) s.ctx.onCatalogChanged();
    return endRequest(s, b, status, inTx);
  }
  const all = s.doneEffects.length === 0 ? NO_EFFECTS : s.doneEffects.length === 1 ? s.doneEffects[0]!.effects : s.doneEffects.flatMap((c) => c.effects);
  const endedTx = s.wasInTx ? endedBlock(s.txTags, all, inTx) : null;
  let catalogChanged = false;
  if (s.doneEffects.length > 0 || endedTx !== null) {
    if (s.requestFailed) s.state.onFailedWithEffects(all, b);
    else catalogChanged = s.state.applyEffects(all, b, inTx, endedTx);
    if (s.requestFailed && endedTx !== null) s.state.applyEffects([], b, inTx, endedTx);
    s.doneEffects = [];
  }
  if (catalogChanged) s.ctx.onCatalogChanged();
  endRequest(s, b, status, inTx);
}

/**
 * Read-your-writes: a request routed as a write finished on `node` (failed ones too: some of it
 * may have been written). The mark's time is taken after the server's acknowledgement.
 */
function noteWrite(s: Session, node: string): void {
  if (s.state.readYourWrites ?? s.ctx.cfg().routing.readYourWrites) s.writeMark = { node, atMs: Date.now() };
}

function endRequest(s: Session, b: Backend, status: number, inTx: boolean): void {
  if (s.inflightIntent === 'write') noteWrite(s, b.node);
  s.requestFailed = false;
  s.queryStatementsDone = 0;
  s.wasInFailedTx = status === TxStatus.Failed;
  s.isCancelRequested = false;
  s.txTags = '';
  s.hasRetried = false;
  s.wasInTx = inTx;
  s.inflight.clear();
  s.ctx.metrics.requestDone((s.ctx.pools.nowMs - s.requestStartMs) / 1000);
  if (!inTx) s.detachIfIdle(b);
}
