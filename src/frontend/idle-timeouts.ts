// Idle timeouts (limits.idle_transaction_timeout, limits.client_idle_timeout), as pure policy over a
// narrow view of a session: is it waiting for its client, inside a transaction or not, and has
// anything moved since the last look. The janitor (janitor.ts) calls this once per tick per session
// with its cached clock; nothing here reads a clock or keeps a timer.
//
// "Activity" is bytes written: to the client (Meridian answered something) or to the attached
// backend (a request was forwarded). Both move only on complete messages, so a client dribbling a
// frame one byte at a time does not keep an idle transaction (and its backend) alive.

import { TxStatus } from '../protocol/codes.js';

export const enum IdleKind {
  /** A request is running or queued (on a backend, in the pool queue, held): not idle. */
  Busy = 0,
  /** Waiting for the client outside a transaction. */
  Idle = 1,
  /** Waiting for the client inside a transaction (a BEGIN Meridian answered included). */
  InTransaction = 2,
}

/** What the policy reads of a session (Session satisfies it). */
export interface IdleView {
  readonly isAdmin: boolean;
  readonly isBusy: boolean;
  readonly held: { readonly length: number };
  readonly deferredBegin: object | null;
  readonly socket: { readonly bytesWritten: number };
  readonly attached: {
    readonly txStatus: number;
    readonly ops: { readonly isEmpty: boolean };
    readonly socket: { readonly bytesWritten: number };
  } | null;
}

/** Per-session memory of the last look. */
export interface IdleMark {
  kind: IdleKind;
  activity: number;
  sinceMs: number;
}

export function idleKind(s: IdleView): IdleKind {
  if (s.isAdmin) return s.isBusy ? IdleKind.Busy : IdleKind.Idle;
  const b = s.attached;
  if (s.isBusy || s.held.length > 0 || (b !== null && !b.ops.isEmpty)) return IdleKind.Busy;
  if ((b !== null && b.txStatus !== TxStatus.Idle) || s.deferredBegin !== null) return IdleKind.InTransaction;
  return IdleKind.Idle;
}

export function activityOf(s: IdleView): number {
  return s.socket.bytesWritten + (s.attached?.socket.bytesWritten ?? 0);
}

export const enum IdleVerdict {
  Keep = 0,
  IdleTimeout = 1,
  TransactionTimeout = 2,
}

/**
 * Updates `mark` for this look at `nowMs` and says whether the session has been idle past its
 * timeout (0 = off). The idle time starts at the first look that sees the session idle with
 * nothing moved, so a timeout fires between one and two ticks late at most.
 */
export function checkIdle(s: IdleView, mark: IdleMark, nowMs: number, idleTimeoutMs: number, txTimeoutMs: number): IdleVerdict {
  const kind = idleKind(s);
  const activity = activityOf(s);
  if (kind === IdleKind.Busy || kind !== mark.kind || activity !== mark.activity) {
    mark.kind = kind;
    mark.activity = activity;
    mark.sinceMs = nowMs;
    return IdleVerdict.Keep;
  }
  const idleMs = nowMs - mark.sinceMs;
  if (kind === IdleKind.InTransaction) return txTimeoutMs > 0 && idleMs >= txTimeoutMs ? IdleVerdict.TransactionTimeout : IdleVerdict.Keep;
  return idleTimeoutMs > 0 && idleMs >= idleTimeoutMs ? IdleVerdict.IdleTimeout : IdleVerdict.Keep;
}
