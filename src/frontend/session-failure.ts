// When a session's backend is lost mid-request, and when the client cancels: what the client
// sees. A lost backend in a transaction or a pinned session closes the session (its state is
// gone); otherwise the request is retried where that is safe (DESIGN principle 4) or answered
// with 08006, and the session goes on. A cancel is forwarded through cancel-limits.ts.

import type { Backend } from '../backend/backend.js';
import { Errors } from '../errors.js';
import { TxStatus } from '../protocol/codes.js';
import { errorResponse, readyForQuery } from '../protocol/encode.js';
import { Phase, type Session } from './session.js';

export function onBackendLost(s: Session, b: Backend, reason: string): void {
  s.ctx.reportNodeFailure(b.node, reason);
  s.sessionBackends?.delete(b.node);
  if (s.attached !== b || s.phase !== Phase.Ready) return;
  s.queryStatementsDone = 0;
  s.attached = null;
  const wasInTx = b.txStatus !== TxStatus.Idle;
  if (s.state.isPinned) {
    s.close('pinned node lost', Errors.pinnedNodeLost(b.node));
    return;
  }
  if (wasInTx) {
    s.close('backend lost in transaction', Errors.backendLost(b.node, reason));
    return;
  }
  const syncPoints = b.ops.countSyncPoints() - b.ops.internalData().length;
  const wasSyncing = b.ops.internalData().length > 0;
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
  const err = Errors.backendLostInRequest(b.node, reason);
  s.ctx.metrics.error(err.sqlstate);
  if (syncPoints > 0) {
    s.out.frame(errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message }));
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
