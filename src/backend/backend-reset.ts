// Runs the reset SQL on a backend the pool holds between sessions (pool.reset_query, or DISCARD
// ALL after a request whose effect on session state Meridian could not see) and reports the
// outcome once. While it runs the pool is the backend's owner; nothing is relayed to a client.
// Must not decide what happens next: the pool closes or reuses the backend.

import { serialize } from 'pg-protocol';
import { BackendCode, TxStatus } from '../protocol/codes.js';
import { readErrorFields } from '../protocol/messages.js';
import type { Backend, BackendOwner } from './backend.js';

export const DISCARD_ALL = 'DISCARD ALL';

/** True for a reset query that is exactly DISCARD ALL (its effects on the server are known). */
export function isDiscardAll(sql: string): boolean {
  return /^\s*discard\s+all\s*;?\s*$/i.test(sql);
}

export class BackendReset implements BackendOwner {
  readonly backend: Backend;
  readonly deadlineMs: number;
  private readonly done: (err: string | null) => void;
  private readyLeft: number;
  private error: string | null = null;
  private isSettled = false;

  /**
   * Sends `sql` (one Query). Any other reset query than DISCARD ALL is followed by DEALLOCATE ALL
   * so that Meridian's per-backend prepared-statement books are certain afterwards.
   */
  constructor(b: Backend, sql: string, deadlineMs: number, done: (err: string | null) => void) {
    this.backend = b;
    this.deadlineMs = deadlineMs;
    this.done = done;
    const isDiscard = isDiscardAll(sql);
    this.readyLeft = isDiscard ? 1 : 2;
    b.owner = this;
    b.out.frame(serialize.query(sql));
    if (!isDiscard) b.out.frame(serialize.query('DEALLOCATE ALL'));
    b.flush();
  }

  onServerFrame(b: Backend, code: number, buf: Buffer, start: number, end: number): void {
    if (code === BackendCode.ErrorResponse) {
      this.error ??= readErrorFields(buf, start, end).message;
    } else if (code === BackendCode.ReadyForQuery) {
      b.txStatus = buf[start + 5] ?? TxStatus.Idle;
      if (--this.readyLeft > 0) return;
      if (this.error === null && b.txStatus !== TxStatus.Idle) this.error = 'reset query left a transaction open';
      this.settle(this.error);
    }
  }

  onServerChunkEnd(): void {}

  onServerLost(_b: Backend, reason: string): void {
    this.settle(reason);
  }

  /** The janitor's deadline passed (or the pool is going away). */
  fail(reason: string): void {
    this.settle(reason);
  }

  private settle(err: string | null): void {
    if (this.isSettled) return;
    this.isSettled = true;
    if (this.backend.owner === this) this.backend.owner = null;
    this.done(err);
  }
}
