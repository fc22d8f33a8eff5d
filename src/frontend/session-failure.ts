// When a session's backend is lost mid-request, and when the client cancels: what the client
// sees. A server that ended its backend with a FATAL (pg_terminate_backend, a shutdown) is shown
// as it said it: in session pooling the FATAL is relayed unchanged and the client's connection
// ends, as on a direct connection (the session lived on that backend); in transaction pooling a
// transaction's loss ends the connection the same way, while an autocommit request gets the
// server's error as an ERROR (same SQLSTATE, message and fields) and the session goes on on
// another backend. A lost backend in a pinned session closes the session (its state is gone);
// otherwise the request is retried where that is safe (DESIGN principle 4) or answered with the
// server's ERROR or 08006, and the session goes on. A cancel is forwarded through cancel-limits.ts.

import type { Backend } from '../backend/backend.js';
import { Errors } from '../errors.js';
import { TxStatus } from '../protocol/codes.js';
import { errorResponse, readyForQuery } from '../protocol/encode.js';
import { Phase, type Session } from './session.js';

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

/** Ends the client's connection as the server ended its backend: what was relayed, then the FATAL. */
function endAsServerDid(s: Session, b: Backend, fatal: Buffer): void {
  s.log.info({ node: b.node, reason: b.fatalMessage }, 'server ended the session\'s backend: client connection ended');
  s.out.frame(fatal);
  s.out.flush();
  s.close(`server ended the backend (${b.fatalMessage ?? 'FATAL'})`);
}

export function onBackendLost(s: Session, b: Backend, reason: string): void {
  s.ctx.reportNodeFailure(b.node, reason);
  const isSessionPooled = s.sessionBackends !== null && s.sessionBackends.get(b.node) === b;
  s.sessionBackends?.delete(b.node);
  const fatal = b.fatalFrame;
  if (s.phase !== Phase.Ready) return;
  // Session pooling: the client's session was this server session, busy or idle.
  if (fatal !== null && isSessionPooled) return endAsServerDid(s, b, fatal);
  if (s.attached !== b) return;
  s.queryStatementsDone = 0;
  s.attached = null;
  const wasInTx = b.txStatus !== TxStatus.Idle;
  if (s.state.isPinned) {
    s.close('pinned node lost', Errors.pinnedNodeLost(b.node));
    return;
  }
  if (wasInTx) {
    if (fatal !== null) return endAsServerDid(s, b, fatal);
    s.close('backend lost in transaction', Errors.backendLost(b.node, reason));
    return;
  }
  const internal = b.ops.countInternal();
  const syncPoints = b.ops.countSyncPoints() - internal;
  const wasSyncing = internal > 0;
  b.ops.clear();
  if (wasSyncing && s.batch.length > 0 && !s.hasRetried) {
    // Lost while applying session state: none of the client's request was sent yet.
    s.isBusy = false;
    s.hasRetried = true;
    s.dispatch();
    s.afterAsync();
    return;
  }
  s.isBusy = false;
  // Safe retry: an autocommit read that received nothing yet, and nothing was sent after it (a
  // request pipelined behind it would be lost: it gets 08006 below).
  if (!s.responseStarted && !s.hasRetried && s.inflightIntent === 'read' && s.ctx.cfg().routing.retryReads &&
      s.inflight.length > 0 && syncPoints === s.inflight.syncPoints()) {
    s.hasRetried = true;
    s.log.info({ node: b.node, reason }, 'read retried on another node');
    s.ctx.metrics.retried('backend-lost');
    const retry = s.inflight;
    s.inflight = s.batch;
    s.batch = retry;
    s.dispatch();
    s.afterAsync();
    return;
  }
  if (syncPoints > 0) {
    if (fatal !== null) s.out.frame(asError(fatal)); // counted in metrics when it arrived
    else {
      const err = Errors.backendLostInRequest(b.node, reason);
      s.ctx.metrics.error(err.sqlstate);
      s.out.frame(errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message }));
    }
    for (let i = 0; i < syncPoints; i++) s.out.frame(readyForQuery(TxStatus.Idle));
  }
  s.afterAsync();
}

/**
 * CancelRequest for this session: cancel whatever its backend runs right now, through the cancel
 * limits (cancel-limits.ts: one in flight per session, a global cap, and sent only if the same
 * request still runs on that backend once the node answers).
 */
export function cancelRequest(s: Session): void {
  const b = s.attached;
  if (b === null || b.ops.isEmpty) {
    // Still waiting for a backend (pool queue, write_wait, state sync): the client already
    // sent the request, so cancel it before it reaches a server.
    if (s.isBusy || s.batch.length > 0) s.isCancelRequested = true;
    s.ctx.cancels.note('idle');
    return;
  }
  const node = s.ctx.cfg().cluster.nodes.find((n) => n.name === b.node);
  if (node === undefined) return s.ctx.cancels.note('failed');
  s.ctx.cancels.forward(s, b, node.host, node.port);
}
