// When a session's backend is lost mid-request: what the client
// sees. A server that ended its backend with a FATAL (pg_terminate_backend, a shutdown) is shown
// as it said it: in session pooling the FATAL is relayed unchanged and the client's connection
// ends, as on a direct connection (the session lived on that backend); in transaction pooling a
// transaction's loss ends the connection the same way, while an autocommit request gets the
// server's error as an ERROR (same SQLSTATE, message and fields) and the session goes on on
// another backend. A lost backend in a pinned session closes the session (its state is gone);
// otherwise the request is retried where that is safe (nothing of it ran) or answered with the
// server's ERROR or 08006, and the session goes on. This file decides (lostBackendAction); the
// session carries the decision out.

const SEVERITY = 0x53; // 'S': localized severity
const SEVERITY_V = 0x56; // 'V': severity, never localized
const ERROR = Buffer.from('ERROR');

/**
 * The server's ErrorResponse with its severity (S and V fields) made ERROR, every other field as
 * sent: a FATAL that ended one backend of a session that goes on.
 */
export function asError(fatal: Buffer): Buffer {
  const parts: Buffer[] = [fatal.subarray(0, 5)];
  let pos = 5;
  while (pos < fatal.length && fatal[pos] !== 0) {
    const nul = fatal.indexOf(0, pos + 1);
    if (nul < 0) break;
    const field = fatal[pos]!;
    if (field === SEVERITY || field === SEVERITY_V) parts.push(fatal.subarray(pos, pos + 1), ERROR, fatal.subarray(nul, nul + 1));
    else parts.push(fatal.subarray(pos, nul + 1));
    pos = nul + 1;
  }
  parts.push(Buffer.alloc(1));
  const out = Buffer.concat(parts);
  out.writeInt32BE(out.length - 1, 1);
  return out;
}

/** What the session knows when the backend it had attached is lost. */
export interface LostBackend {
  /** The server said FATAL before closing (pg_terminate_backend, a shutdown …). */
  readonly hasFatal: boolean;
  /** Session pooling: the client's session lived on this backend. */
  readonly isSessionPooled: boolean;
  readonly isPinned: boolean;
  /** A transaction block was open on it. */
  readonly wasInTx: boolean;
  /** The request was not sent yet: Meridian's own query (state sync, deferred BEGIN) was running. */
  readonly isUnsent: boolean;
  readonly hasRetried: boolean;
  /** An autocommit read, kept whole for a retry, nothing of its answer relayed, nothing pipelined behind it. */
  readonly isRetryableRead: boolean;
  /**
   * An autocommit write of one plain DML statement, kept whole, nothing of its answer relayed,
   * nothing pipelined behind it, whose backend the server ended with FATAL 57P01 (a fast shutdown,
   * a switchover's demotion, pg_terminate_backend), with routing.transaction_replay on. The server
   * acts on that signal only at interrupt checks, never between a commit and its CommandComplete,
   * which would have been relayed before the FATAL: so the statement was rolled back, and runs again.
   */
  readonly isTerminatedWrite: boolean;
  /** ReadyForQuery the client still waits for (Query, Sync, FunctionCall sent, not answered). */
  readonly syncPoints: number;
}

export type LostAction =
  /** Session pooling, or a transaction ended by the server: the client's connection ends as the server ended it. */
  | 'end-as-server'
  /** The session's state (a pin) or transaction is gone with the backend: close the session. */
  | 'close-pinned'
  | 'close-in-tx'
  /** Nothing of the request ran: send it again elsewhere (its one retry). */
  | 'retry'
  /** Answer the request with the server's error (or 08006), ReadyForQuery per sync point; the session goes on. */
  | 'fail';

export function lostBackendAction(l: LostBackend): LostAction {
  if (l.hasFatal && l.isSessionPooled) return 'end-as-server';
  if (l.isPinned) return 'close-pinned';
  if (l.wasInTx) return l.hasFatal ? 'end-as-server' : 'close-in-tx';
  // Lost while applying session state or opening the block: none of the client's request was
  // sent, so it may go elsewhere — once. After its retry it fails like any lost request.
  if (l.isUnsent) return l.hasRetried ? 'fail' : 'retry';
  if ((l.isRetryableRead || l.isTerminatedWrite) && !l.hasRetried) return 'retry';
  return 'fail';
}
