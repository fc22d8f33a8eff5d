// One client request, from its first frame to its ReadyForQuery: its frames and their
// classifications, how it routes, what of its answer went out, what the server completed (the
// effects to apply), and its retry state. Session-lifetime state (identity, settings, backends,
// the write mark, a deferred BEGIN) stays on the session. A session keeps one Request and starts
// each request with reset() — the one place per-request state is cleared, so the hot path
// allocates nothing per request; a retry (lost backend, refused read, refused write) is retry().

import type { RequestTrace } from '../tracing/request-trace.js';
import type { Classification, RouteHint } from '../classify/types.js';
import { TxStatus } from '../protocol/codes.js';
import type { RouteIntent } from '../router/types.js';
import { FrameList } from './frame-list.js';

/** dispatch()'s summary of the collected frames (request-plan.ts). */
export class RequestPlan {
  isWrite = false;
  hint: RouteHint | null = null;
  onlyMeridian = true;
  /** SQL-level prepared statements the request EXECUTEs (or DEALLOCATEs) and PREPAREs. */
  needSql: string[] | null = null;
  willPrepare: string[] | null = null;
}

/** A shared statement's stale plan was refused (0A000): prepared again and replayed at its ReadyForQuery. */
export interface Replan {
  readonly global: string;
  /** Index (from the head of Request.sent) of the first message replayed. */
  readonly from: number;
  readonly error: Buffer;
}

/** Connect failures one request may route past (each takes the failed node out of routing). */
const MAX_ROUTE_AGAIN = 3;

export type RetryKind = 'backend-lost' | 'refused-read' | 'refused-write';

export class Request {
  /** Frames collected while no backend is attached: a Query, or extended messages up to Sync/Flush. */
  frames = new FrameList();
  /** The frames last sent, kept until the answer starts when a retry may send them again. */
  sent = new FrameList();
  /** Classification of each collected frame (dispatch), reused when sending. */
  readonly cls: (Classification | null)[] = [];
  readonly plan = new RequestPlan();
  /**
   * How the request's backend was routed. Requests pipelined onto that backend keep it (they were
   * not routed themselves), so reset() leaves it: the next routing decision sets it.
   */
  intent: RouteIntent = 'read';
  /** Classification of the frame about to be forwarded (the share check computed it). */
  pendingCls: Classification | null = null;
  /** Something of the answer was relayed (maybe still in the client's writer). */
  responseStarted = false;
  /** Times it routed again after a failed connect (mayRouteAgain). */
  routedAgain = 0;
  /** Its one retry is used. */
  hasRetried = false;
  /** The next dispatch routes as a write whatever the classification (a retry after a refusal). */
  isForcedWrite = false;
  /** A write a 25006 may send again (refused-retry.ts). */
  isRetryableWrite = false;
  /** A read a hot standby refused (retried as a write). */
  isRefusedRead = false;
  /** The refusal held back until its ReadyForQuery, for a retry. */
  refusal: Buffer | null = null;
  replan: Replan | null = null;
  /** It binds a Meridian-shared statement: kept for a replay. */
  boundShared = false;
  /** Classifications (with effects) of the statements the server completed, in order. */
  readonly doneEffects: Classification[] = [];
  /** The server answered an error. */
  isFailed = false;
  /** Error message of Meridian's own query (state sync, BEGIN) on the backend, if it failed. */
  syncError: string | null = null;
  /** A transaction block was open before the request, and it had failed (its COMMIT rolls back). */
  wasInTx = false;
  wasInFailedTx = false;
  /** CommandCompletes of a simple Query: where a multi-statement Query stopped. */
  statementsDone = 0;
  /** A CancelRequest arrived before the request reached a server. */
  isCancelRequested = false;
  /** Sent at (the pool manager's cached clock, ms). */
  startMs = 0;
  /** tracing.enabled and sampled: what the session notes for the request's spans (ended and cleared with it). */
  trace: RequestTrace | null = null;
  /** Requests sent so far by this session: a cancel checks it still targets the same one. */
  seq = 0;
  /** The client's writer at send: an answer still all pending in it can be taken back. */
  outWasEmptyAtSend = true;
  outFlushesAtSend = 0;

  /**
   * The next request begins: the previous one ended at a ReadyForQuery with transaction status
   * `status` (or Meridian answered it). Only `intent`, `seq` and the reusable containers survive.
   */
  reset(status: number): void {
    this.sent.clear();
    this.routedAgain = 0;
    this.pendingCls = null;
    this.responseStarted = false;
    this.hasRetried = false;
    this.isForcedWrite = false;
    this.isRetryableWrite = false;
    this.isRefusedRead = false;
    this.refusal = null;
    this.replan = null;
    this.boundShared = false;
    if (this.doneEffects.length > 0) this.doneEffects.length = 0;
    this.isFailed = false;
    this.syncError = null;
    this.wasInTx = status !== TxStatus.Idle;
    this.wasInFailedTx = status === TxStatus.Failed;
    this.statementsDone = 0;
    this.isCancelRequested = false;
  }

  /**
   * The collected frames were forwarded: they become `sent` (kept for a retry when `keep`, else
   * dropped) and the list of the previous send collects the next frames.
   */
  markSent(nowMs: number, outWasEmpty: boolean, outFlushes: number, keep: boolean): void {
    const prev = this.sent;
    prev.clear();
    if (!keep) this.frames.clear();
    this.sent = this.frames;
    this.frames = prev;
    this.responseStarted = false;
    this.outWasEmptyAtSend = outWasEmpty;
    this.outFlushesAtSend = outFlushes;
    this.startMs = nowMs;
    this.seq++;
  }

  /**
   * Sends the request once more (the caller dispatches it next): what was sent goes back to the
   * collected frames (a request lost before it was sent is still there), its answer so far is
   * forgotten, and a refused one routes as a write.
   */
  /**
   * Whether the request may route again after a node could not be connected to (nothing ran):
   * at most MAX_ROUTE_AGAIN times, so a node that keeps failing without leaving routing cannot
   * hold the request in a loop (routing.write_wait bounds the waiting in between).
   */
  mayRouteAgain(): boolean {
    if (this.routedAgain >= MAX_ROUTE_AGAIN) return false;
    this.routedAgain++;
    return true;
  }

  retry(kind: RetryKind): void {
    this.hasRetried = true;
    if (this.sent.length > 0) {
      const collected = this.frames;
      this.frames = this.sent;
      this.sent = collected;
      this.sent.clear();
    }
    this.responseStarted = false;
    if (this.doneEffects.length > 0) this.doneEffects.length = 0;
    this.statementsDone = 0;
    this.isFailed = false;
    this.refusal = null;
    this.isRefusedRead = false;
    this.isForcedWrite = kind !== 'backend-lost';
  }
}
