// The end of a client-visible request (its ReadyForQuery): which of the effects the server
// accepted apply to the session's state, statement by statement where a transaction block begins
// or ends (its order markers, not the command tags: ROLLBACK is also ROLLBACK TO's and a failed
// COMMIT's tag). Pure over SessionState; the session calls it from its endRequest.

import type { Backend } from '../backend/backend.js';
import type { Classification, SessionEffect } from '../classify/types.js';
import type { SessionState } from './session-state.js';

/** What a request did, as finishRequest sees it at its ReadyForQuery. */
export interface RequestOutcome {
  /** Classifications with effects of the statements the server completed, in order. */
  readonly done: readonly Classification[];
  /** The simple Query, when the request was one (its statements are all in `done`). */
  readonly query: Classification | null;
  readonly wasInTx: boolean;
  readonly wasInFailedTx: boolean;
  readonly failed: boolean;
  /** CommandCompletes of the simple Query: the statement after them failed. */
  readonly statementsDone: number;
}

/**
 * Applies what a request did to the session's state. A request that opens, ends or chains a
 * transaction block (Classification.ordered), or after which the block open before it is gone, is
 * replayed statement by statement (SessionState.replayOrdered): a simple Query's statements split
 * at its statement-end markers, or the extended protocol's completed Executes, one statement each
 * (the failed one never got here). Returns true when the catalog changed.
 */
export function settleRequest(state: SessionState, b: Backend, o: RequestOutcome, inTx: boolean): boolean {
  if (isOrdered(o.done) || (o.wasInTx && !inTx)) {
    const query = o.query !== null && o.query.ordered ? o.query : null;
    let segments: (readonly SessionEffect[])[];
    let failedAt = -1;
    if (query !== null) {
      segments = splitStatements(query);
      if (o.failed) failedAt = o.statementsDone;
    } else {
      segments = o.done.map((c) => c.effects);
      if (o.failed) failedAt = segments.length;
    }
    const statements = query !== null ? query.statements : segments.length + (o.failed ? 1 : 0);
    const start = { inBlock: o.wasInTx, isAborted: o.wasInFailedTx, isImplicit: !o.wasInTx && statements > 1 };
    return state.replayOrdered(segments, failedAt, start, inTx, b);
  }
  if (o.done.length === 0) return false;
  const all = o.done.length === 1 ? o.done[0]!.effects : o.done.flatMap((c) => c.effects);
  if (!o.failed) return state.applyEffects(all, b, inTx);
  state.onFailedWithEffects(all, b);
  return false;
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
