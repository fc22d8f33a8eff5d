// What an open transaction block has done to session state that PostgreSQL would still undo: the
// effects ROLLBACK discards (SET, RESET, LISTEN, temp tables, WITH HOLD cursors …), kept in
// statement order with the savepoints that split them, until COMMIT hands them over. Pure
// bookkeeping: no backend, no sockets; session-state.ts applies what it returns.
//
// Savepoints follow PostgreSQL: a name may be declared again (the newest one wins);
// ROLLBACK TO undoes what came after the named savepoint, destroys the savepoints after it and
// keeps the savepoint itself; RELEASE destroys it and those after it but keeps their effects.

import type { SessionEffect } from '../classify/types.js';

interface Savepoint {
  readonly name: string;
  /** Pending effects recorded before it was declared. */
  readonly mark: number;
}

/**
 * When an effect of a statement run inside a transaction block takes hold in Meridian's books:
 * - at-commit: PostgreSQL undoes it on ROLLBACK (SET, RESET, LISTEN/UNLISTEN, temp tables and
 *   their DROP, WITH HOLD cursors, set_config); the savepoint statements are the structure.
 * - now: not transactional (SQL-level PREPARE / DEALLOCATE, session advisory locks and unlocks),
 *   or Meridian's own bookkeeping (EXECUTE, catalog refresh).
 * - now-and-at-commit: CLOSE is not undone, but it must also stay in order with the pending
 *   pins, so a WITH HOLD cursor declared and closed in one block does not pin at COMMIT.
 */
export type EffectTiming = 'now' | 'at-commit' | 'now-and-at-commit';

export function timingOf(e: SessionEffect): EffectTiming {
  switch (e.type) {
    case 'set':
    case 'reset':
    case 'reset-all':
    case 'discard-all': // cannot run in a transaction block; alone, it commits at once
    case 'route-hint':
    case 'read-your-writes':
    case 'causal-token':
    case 'state-unknown':
    case 'savepoint':
    case 'release':
    case 'rollback-to':
      return 'at-commit';
    case 'pin':
      return e.pin === 'advisory-lock' ? 'now' : 'at-commit';
    case 'unpin':
      return e.pin === 'advisory-lock' ? 'now' : e.pin === 'cursor' ? 'now-and-at-commit' : 'at-commit';
    case 'prepare':
    case 'deallocate':
    case 'execute':
    case 'catalog-changed':
    case 'show-meridian':
      return 'now';
    case 'tx-begin':
    case 'tx-end':
    case 'statement-end':
      return 'now'; // order markers: session-state.ts replayOrdered acts on them, nothing records them
  }
}

const NOTHING: readonly SessionEffect[] = Object.freeze([]);

export class TxEffects {
  private pending: SessionEffect[] = [];
  private readonly savepoints: Savepoint[] = [];

  /** Nothing pending and no savepoint open. */
  get isEmpty(): boolean {
    return this.pending.length === 0 && this.savepoints.length === 0;
  }

  /** Effects waiting for COMMIT, in statement order (a copy, for inspection). */
  pendingEffects(): SessionEffect[] {
    return [...this.pending];
  }

  /** Open savepoint names, oldest first. */
  savepointNames(): string[] {
    return this.savepoints.map((s) => s.name);
  }

  /**
   * Records one effect of a statement the server ran inside the transaction block: savepoint
   * statements change the structure, effects timed at-commit wait, `now` ones are ignored (the
   * caller applies them). Returns false when a ROLLBACK TO names a savepoint not known
   * here: then everything pending is dropped (never replay what the server may have undone).
   */
  record(e: SessionEffect): boolean {
    switch (e.type) {
      case 'savepoint':
        this.savepoints.push({ name: e.name, mark: this.pending.length });
        return true;
      case 'release': {
        const i = this.find(e.name);
        // The released savepoint's effects now belong to the enclosing one (or the transaction).
        if (i >= 0) this.savepoints.length = i;
        return true;
      }
      case 'rollback-to': {
        const i = this.find(e.name);
        if (i < 0) {
          // Declared where Meridian could not see it: the server rolled back to some point of
          // this transaction, so drop it all (and the savepoints, which may be gone too).
          this.pending = [];
          this.savepoints.length = 0;
          return false;
        }
        this.pending.length = this.savepoints[i]!.mark;
        this.savepoints.length = i + 1;
        return true;
      }
      default:
        if (timingOf(e) !== 'now') this.pending.push(e);
        return true;
    }
  }

  hasSavepoint(name: string): boolean {
    return this.find(name) >= 0;
  }

  /**
   * COMMIT: the effects that survived, in statement order; the block is forgotten. A block with
   * nothing pending (most: plain DML) allocates nothing.
   */
  commit(): readonly SessionEffect[] {
    if (this.savepoints.length > 0) this.savepoints.length = 0;
    const out = this.pending;
    if (out.length === 0) return NOTHING;
    this.pending = [];
    return out;
  }

  /** ROLLBACK: everything pending is undone. */
  rollback(): void {
    if (this.pending.length > 0) this.pending = [];
    if (this.savepoints.length > 0) this.savepoints.length = 0;
  }

  /** Index of the newest savepoint of that name, or -1. */
  private find(name: string): number {
    for (let i = this.savepoints.length - 1; i >= 0; i--) if (this.savepoints[i]!.name === name) return i;
    return -1;
  }
}
