// One client connection after login: collects each request (a Query, or extended-protocol
// messages up to Sync/Flush), classifies and routes it at a boundary, attaches a backend from the
// pool, brings the backend's session state in line, and relays. Responses (and whether a request
// may share the attached backend) are in session-relay.ts; a lost backend and cancel in
// session-failure.ts; the admin console in session-admin.ts; the startup/auth phase in
// session-startup.ts. One exit: close(reason).

import type net from 'node:net';
import { serialize } from 'pg-protocol';
import type { Backend, BackendOwner } from '../backend/backend.js';
import { NodeDrainingError, PoolTimeoutError, type Pool } from '../backend/pool.js';
import type { ConnectError } from '../backend/server-connect.js';
import { SpanWriter } from '../backend/span-writer.js';
import type { Classification, RouteHint } from '../classify/types.js';
import { decideResidency, forbiddenHeldNode } from '../config/residency-match.js';
import { Errors, logText, MeridianError, redactAddresses } from '../errors.js';
import type { Logger } from '../logger.js';
import { keepReadBuffer } from '../net/read-slot.js';
import { FrontendCode, TxStatus } from '../protocol/codes.js';
import { errorResponse, readyForQuery } from '../protocol/encode.js';
import { DecodeResult, FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';
import { checkFrontendFrame } from '../protocol/frontend-check.js';
import type { RouteIntent, WriteMark } from '../router/types.js';
import { residencyDenialError, sessionRouting, type ProxyContext, type SessionRouting } from './context.js';
import { FrameList } from './frame-list.js';
import { takeAdminFrame } from './session-admin.js';
import { cancelRequest, onBackendLost } from './session-failure.js';
import { isRetryableWriteRequest } from './refused-retry.js';
import { answerMeridianSettings, planRequest, RequestPlan } from './request-plan.js';
import { openDeferredThenSend, tryDeferBegin, tryEndDeferred, type DeferredBegin } from './deferred-begin.js';
import { attachedAccepts, forwardClientFrame, handleServerFrame, readsNeedMaster, syncToRelease } from './session-relay.js';
import type { SessionState } from './session-state.js';

export const enum Phase {
  Startup = 0,
  Ready = 1,
  Closed = 2,
}

/**
 * Largest typed frame before login (SASL and password messages are far smaller): a client that
 * has not authenticated cannot make Meridian hold more than this for it. limits.max_frame_bytes
 * applies from login on.
 */
export const MAX_LOGIN_FRAME_BYTES = 8 * 1024;

/** Pipelined frames a session holds behind a busy request before it stops reading the client. */
const MAX_HELD_BYTES = 1024 * 1024;

/** Output for the client past which Meridian stops reading it (the client does not read its replies). */
const MAX_CLIENT_BACKLOG_BYTES = 1024 * 1024;

/** Each frame held for a request counts at least this toward limits.max_request_bytes (its bookkeeping). */
const FRAME_OVERHEAD_BYTES = 64;

export interface SessionIdentity {
  user: string;
  database: string;
  applicationName: string;
  tenant: string | null;
  clientRegion: string | null;
  remoteAddress: string;
}

export class Session implements FrameSink, BackendOwner {
  readonly id: number;
  /** The cancel key's secret (BackendKeyData); drawn again if the key is taken (server.ts registerSession). */
  secret: number;
  /**
   * The cancel key's process id: the session id, or in session pooling its first backend's
   * real pid (a driver compares it with a notification's sender).
   */
  cancelPid: number;
  readonly ctx: ProxyContext;
  socket: net.Socket;
  readonly log: Logger;
  phase: Phase = Phase.Startup;
  ident: SessionIdentity;
  routing: SessionRouting = sessionRouting(null, null);
  state!: SessionState;
  isAdmin = false;
  readonly connectedAtMs = Date.now();
  /** Bytes to the client, batched per read. */
  readonly out = new SpanWriter();
  decoder: FrameDecoder;
  attached: Backend | null = null;
  /** This session's pool per node (the pool manager's lookup builds a key string). */
  private readonly pools = new Map<string, Pool>();
  /** Classifications computed by dispatch() for the batch's frames, reused when sending it. */
  private batchCls: (Classification | null)[] = [];
  /** dispatch()'s summary of the batch (request-plan.ts), one object reused. */
  private readonly plan = new RequestPlan();
  /** pool.mode session: one backend per node used, kept for the session's life. */
  sessionBackends: Map<string, Backend> | null = null;
  /** The request being collected while no backend is attached. */
  batch = new FrameList();
  /** Frames that arrived while a dispatch was in progress or needed another node. */
  readonly held = new FrameList();
  /** The last dispatched request, kept until its first response for a read retry. */
  inflight = new FrameList();
  inflightIntent: RouteIntent = 'read';
  responseStarted = false;
  hasRetried = false;
  isBusy = false;
  skipUntilSync = false;
  /** Per request: classifications (with effects) of completed statements, error seen. */
  doneEffects: Classification[] = [];
  requestFailed = false;
  /** Error message of Meridian's own state-sync query, if it failed. */
  syncError: string | null = null;
  wasInTx = false;
  /** The block open before this request had failed (ReadyForQuery 'E'): its COMMIT rolls back. */
  wasInFailedTx = false;
  /** CommandCompletes of the simple Query in flight: where a multi-statement Query stopped. */
  queryStatementsDone = 0;
  /** Statement class of the portal bound last (its Execute applies its effects). */
  portalCls: Classification | null = null;
  /** Classification computed by attachedAccepts for the frame about to be forwarded. */
  pendingCls: Classification | null = null;
  requestStartMs = 0;
  /** Requests sent to a backend by sendBatch: a cancel checks it still targets the same one (cancel-limits.ts). */
  requestSeq = 0;
  /** The request a cancel was last forwarded for, and when (cancel-limits.ts). */
  cancelledSeq = -1;
  cancelledAtMs = 0;
  needsPump = false;
  /** A CancelRequest arrived before the request reached a server. */
  isCancelRequested = false;
  /** The server refused the request as read-only (25006, held back): retried at its ReadyForQuery (session-failure.ts). */
  refusal: Buffer | null = null;
  /** The client's writer at sendBatch: a response still all pending in it can be taken back (a refused read). */
  outWasEmptyAtSend = true;
  outFlushesAtSend = 0;
  /** A shared statement's stale plan was refused (0A000): prepared again and replayed at its ReadyForQuery (plan-invalidated.ts). */
  replan: { global: string; from: number; error: Buffer } | null = null;
  /** The request being sent binds a Meridian-shared statement: kept for a replay (plan-invalidated.ts). */
  boundShared = false;
  /** The request in flight is a write a 25006 retry may send again (refused-retry.ts). */
  isRetryableWrite = false;
  /** … and it was a read a hot standby refused (retried as a write). */
  isRefusedRead = false;
  /** The next dispatch routes as a write whatever the classification (a retry after a refusal). */
  isForcedWrite = false;
  routedReads = 0;
  routedWrites = 0;
  /** The session's last write while some node may still lack it (read-your-writes). */
  writeMark: WriteMark | null = null;
  /** A BEGIN Meridian answered, not yet sent to a server (deferred-begin.ts). */
  deferredBegin: DeferredBegin | null = null;
  /** Reading from the client is paused because it does not read what Meridian answered itself. */
  private isPausedForBacklog = false;
  private readonly onClientDrain = () => {
    this.attached?.resume();
    if (this.isPausedForBacklog) {
      this.isPausedForBacklog = false;
      if (this.held.bytes <= MAX_HELD_BYTES) this.socket.resume();
      this.guard('client drain', () => this.afterAsync()); // frames held meanwhile
    }
  };
  private readonly onBackendDrain = () => {
    if (!this.isPausedForBacklog) this.socket.resume();
  };

  constructor(id: number, secret: number, socket: net.Socket, ctx: ProxyContext) {
    this.id = id;
    this.secret = secret;
    this.cancelPid = id;
    this.socket = socket;
    this.ctx = ctx;
    this.log = ctx.logger.child({ sid: id });
    this.decoder = new FrameDecoder(Math.min(MAX_LOGIN_FRAME_BYTES, ctx.cfg().limits.maxFrameBytes));
    this.ident = { user: '', database: '', applicationName: '', tenant: null, clientRegion: null, remoteAddress: socket.remoteAddress ?? '' };
  }

  /** Switches to the request phase (after authentication and the startup reply). */
  beginRequests(socket: net.Socket): void {
    this.socket = socket;
    this.out.socket = socket;
    this.phase = Phase.Ready;
    this.decoder.maxFrameBytes = this.ctx.cfg().limits.maxFrameBytes;
    socket.on('drain', this.onClientDrain);
  }

  readonly onClientDataBound = (chunk: Buffer): void => this.onClientData(chunk);

  onClientData(chunk: Buffer): void {
    if (this.phase !== Phase.Ready) return;
    try {
      const r = this.decoder.feed(chunk, this);
      if (r !== DecodeResult.Ok) {
        this.close('protocol violation', Errors.protocolViolation(`${this.decoder.describe(r)} (limits.max_frame_bytes)`));
        return;
      }
      this.flushAll();
      this.checkGrowth();
      // Frames still waiting (a request for a backend, frames held behind it) are views of the
      // chunk, which the socket's next read overwrites (read-slot.ts): copy them, or keep the buffer.
      if (this.batch.length > 0 && !this.batch.copyIn()) keepReadBuffer();
      if (this.held.length > 0 && !this.held.copyIn()) keepReadBuffer();
    } catch (e) {
      this.onHandlerError('client data', e);
    }
  }

  /**
   * An exception escaped one of this session's handlers: a bug, not an expected failure. It
   * closes this session (logged with its stack) and never reaches the socket callback, the pool
   * or timer that called us, nor the process.
   */
  onHandlerError(where: string, e: unknown): void {
    this.ctx.metrics.sessionCrash();
    this.log.error({ err: e, where }, 'session handler failed');
    try {
      this.close('internal error', Errors.internal(where));
    } catch (e2) {
      this.log.error({ err: e2 }, 'session close failed');
      this.phase = Phase.Closed;
      this.socket.destroy();
    }
  }

  /** Runs a callback of this session (pool, timer, promise) under the same guard as its socket handlers. */
  guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onHandlerError(where, e);
    }
  }

  /** What a client can make Meridian keep for it is bounded (limits.*): past a bound, the session ends. */
  private checkGrowth(): void {
    if (this.phase !== Phase.Ready || this.isAdmin) return;
    const limits = this.ctx.cfg().limits;
    const st = this.state;
    const stmts = st.stmts.size + st.sqlStmts.size;
    if (stmts > limits.maxPreparedStatements) {
      this.close('too many prepared statements', Errors.sessionLimitExceeded(
        `too many prepared statements in this session (${stmts}; limits.max_prepared_statements = ${limits.maxPreparedStatements})`));
    } else if (st.settings.size > limits.maxSessionSettings) {
      this.close('too many settings', Errors.sessionLimitExceeded(
        `too many settings in this session (${st.settings.size}; limits.max_session_settings = ${limits.maxSessionSettings})`));
    }
  }

  onFrame(code: number, buf: Buffer, start: number, end: number): void {
    if (this.phase !== Phase.Ready) return;
    const bad = checkFrontendFrame(code, buf, start, end);
    if (bad !== null) {
      this.close('protocol violation', Errors.protocolViolation(bad));
      return;
    }
    if (this.isBusy || this.held.length > 0 || this.isPausedForBacklog) {
      this.hold(code, buf, start, end);
      return;
    }
    if (!this.takeFrame(code, buf, start, end)) this.hold(code, buf, start, end);
  }

  private hold(code: number, buf: Buffer, start: number, end: number): void {
    this.held.push(code, buf, start, end);
    // Bound what a client can queue while it waits: stop reading until the queue drains.
    if (this.held.bytes > MAX_HELD_BYTES) this.socket.pause();
  }

  /** Processes held frames once nothing is in the way. */
  pumpHeld(): void {
    this.needsPump = false;
    const held = this.held;
    while (held.length > 0 && !this.isBusy && !this.isPausedForBacklog && this.phase === Phase.Ready) {
      const i = held.head;
      if (!this.takeFrame(held.codes[i]!, held.bufs[i]!, held.starts[i]!, held.ends[i]!)) break;
      held.shift();
    }
    if (held.length === 0) {
      held.clear();
      if (this.socket.isPaused() && !this.isPausedForBacklog && this.attached?.out.hasPending !== true) this.socket.resume();
    }
  }

  /** Returns false when the frame must wait (busy, or it needs a different node). */
  private takeFrame(code: number, buf: Buffer, start: number, end: number): boolean {
    if (code === FrontendCode.Terminate) {
      this.close('client terminated');
      return true;
    }
    if (this.isAdmin) return takeAdminFrame(this, code, buf, start, end);
    if (this.skipUntilSync) {
      // A request already failed inside Meridian; like a server, ignore until Sync.
      if (code === FrontendCode.Sync) {
        this.skipUntilSync = false;
        this.out.frame(readyForQuery(TxStatus.Idle));
      }
      return true;
    }
    const b = this.attached;
    if (b !== null) {
      if (!attachedAccepts(this, b, code, buf, start, end)) {
        syncToRelease(this, b);
        return false;
      }
      forwardClientFrame(this, b, code, buf, start, end);
      return true;
    }
    switch (code) {
      case FrontendCode.Query:
      case FrontendCode.FunctionCall:
      case FrontendCode.Sync:
      case FrontendCode.Flush:
        this.batch.push(code, buf, start, end);
        this.dispatch();
        return true;
      case FrontendCode.Parse:
      case FrontendCode.Bind:
      case FrontendCode.Describe:
      case FrontendCode.Execute:
      case FrontendCode.Close:
        this.batch.push(code, buf, start, end);
        this.checkRequestSize();
        return true;
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        return true; // no COPY in progress: a server ignores these too
      default:
        this.close('protocol violation', Errors.protocolViolation(`unexpected message type 0x${code.toString(16)} ('${String.fromCharCode(code)}')`));
        return true;
    }
  }

  /**
   * A request streamed without Sync (Bind/Execute after Bind/Execute) waits whole in Meridian
   * until it can be routed: past limits.max_request_bytes it fails as a server fails a request
   * (error, then everything up to Sync is ignored), and what it held is freed.
   */
  private checkRequestSize(): void {
    const list = this.batch;
    const held = list.bytes + list.length * FRAME_OVERHEAD_BYTES;
    const max = this.ctx.cfg().limits.maxRequestBytes;
    if (held <= max) return;
    this.failBatch(Errors.limitExceeded(`request too large: more than ${max} bytes without Sync (limits.max_request_bytes)`));
    this.skipUntilSync = true;
  }

  /** A complete request (or a Flush-ended part of one) with no backend attached: route it. */
  dispatch(): void {
    const list = this.batch;
    const plan = this.plan;
    planRequest(this, list, this.batchCls, plan);
    if (plan.onlyMeridian && list.length === 1 && list.codes[0] === FrontendCode.Query) {
      answerMeridianSettings(this, list);
      return;
    }
    // A transaction whose BEGIN Meridian answered routes by the BEGIN's modes and hint too.
    const begin = this.deferredBegin?.cls ?? null;
    if (begin === null ? tryDeferBegin(this, list, this.batchCls[0] ?? null) : tryEndDeferred(this, list, this.batchCls[0] ?? null)) return;
    const intent: RouteIntent = plan.isWrite || begin?.isWrite || readsNeedMaster(this) || this.isForcedWrite ? 'write' : 'read';
    this.isForcedWrite = false;
    const hint = plan.hint ?? begin?.hint ?? this.state.localRouteHint ?? this.state.routeHint;
    this.routeAndAttach(intent, hint, plan.needSql, plan.willPrepare, Date.now());
  }

  /** Read-your-writes is on: the session's SET or startup option, else routing.read_your_writes. */
  isReadYourWrites(): boolean {
    return this.state.readYourWrites ?? this.ctx.cfg().routing.readYourWrites;
  }

  /** ReadyForQuery for a request Meridian answered itself (no backend attached). */
  readyForQueryNow(): Buffer {
    const d = this.deferredBegin;
    return readyForQuery(d === null ? TxStatus.Idle : d.failed ? TxStatus.Failed : TxStatus.InTransaction);
  }

  private routeAndAttach(intent: RouteIntent, hint: RouteHint | null, needSql: string[] | null, willPrepare: string[] | null, startedMs: number): void {
    const decision = this.ctx.route(intent, hint, this);
    if (!decision.ok) {
      const waitMs = this.ctx.cfg().routing.writeWaitMs - (Date.now() - startedMs);
      if ((decision.refusal === 'no-master' || decision.refusal === 'no-read-node') && waitMs > 0) {
        // Bounded wait (routing.write_wait) for an eligible node to appear — a failover or a
        // readmission in progress — instead of an instant error.
        this.isBusy = true;
        void this.ctx.waitForTopologyChange(Math.min(waitMs, 250)).then(() => this.guard('route wait', () => {
          if (this.phase !== Phase.Ready) return;
          this.isBusy = false;
          this.routeAndAttach(intent, hint, needSql, willPrepare, startedMs);
          this.afterAsync();
        }));
        return;
      }
      const rule = this.routing.residency;
      if (decision.refusal === 'residency' && rule !== null) {
        this.ctx.metrics.residencyRefused(rule.name);
        this.log.warn({ rule: rule.name, reason: decision.reason }, 'residency refusal');
        return this.failBatch(Errors.residencyRefused(rule.name, decision.reason));
      }
      return this.failBatch(Errors.noRoute(decision.reason));
    }
    const node = decision.node;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ node, intent, reason: decision.reason }, 'route');
    this.ctx.metrics.routed(node, intent);
    if (intent === 'write') this.routedWrites++;
    else this.routedReads++;
    this.inflightIntent = intent;
    const kept = this.sessionBackends?.get(node);
    if (kept !== undefined && !kept.isClosed) return this.attach(kept, needSql, willPrepare);
    let pool = this.pools.get(node);
    if (pool === undefined || pool.isRemoved) {
      const p = this.ctx.pools.pool(node, this.ident.user, this.ident.database);
      if (p === null) return this.failBatch(Errors.noRoute(`node "${node}" is not configured`));
      this.pools.set(node, (pool = p));
    }
    // Session pooling: a backend opened with this client's startup settings (pool.ts).
    const startup = this.sessionBackends !== null ? this.state.backendStartup : null;
    const b = pool.tryAcquire(this.id, startup);
    if (b !== null) return this.attach(b, needSql, willPrepare);
    this.isBusy = true;
    const t0 = Date.now();
    pool.acquire(this.ctx.cfg().pool.queueTimeoutMs, (err, got) => this.guard('pool acquire', () => {
      this.isBusy = false;
      this.ctx.metrics.poolWait((Date.now() - t0) / 1000);
      if (this.phase !== Phase.Ready) {
        if (got !== null) pool.release(got);
        return;
      }
      if (got !== null) this.attach(got, needSql, willPrepare);
      else if (err instanceof NodeDrainingError) this.routeAndAttach(intent, hint, needSql, willPrepare, startedMs);
      else this.failBatch(this.acquireError(node, err));
      this.afterAsync();
    }), this.id, startup);
  }

  private acquireError(node: string, err: Error | null): MeridianError {
    if (err instanceof PoolTimeoutError) return Errors.poolTimeout(node, this.ctx.cfg().pool.queueTimeoutMs);
    const ce = err as ConnectError | null;
    // The node's own refusal keeps its SQLSTATE and words; an address in it (pg_hba names the
    // proxy's) is cut for the client. The log keeps the whole text.
    const e = ce?.serverError
      ? new MeridianError('SERVER_REFUSED', ce.serverError.code, 'ERROR', redactAddresses(ce.serverError.message), null, null, ce.serverError.message)
      : Errors.cannotConnect(node, err?.message ?? 'unknown error');
    this.log.info({ node, err: logText(e) }, 'backend connect failed');
    return e;
  }

  afterAsync(): void {
    this.pumpHeld();
    this.flushAll();
  }

  /** Binds a backend to this session and sends the collected request (after a state sync). */
  private attach(b: Backend, needSql: string[] | null, willPrepare: string[] | null): void {
    this.attached = b;
    b.owner = this;
    if (this.sessionBackends !== null) this.sessionBackends.set(b.node, b);
    const sql = this.state.planSync(b, needSql, willPrepare);
    if (sql === null) return this.sendOrOpen(b);
    this.isBusy = true;
    b.ops.pushInternal((err) => {
      this.isBusy = false;
      if (this.phase !== Phase.Ready) return;
      if (err !== null) {
        b.isStateUncertain = true;
        this.failBatch(Errors.adminFailed(`could not apply session state on node "${b.node}": ${err}`));
        this.detachIfIdle(b);
      } else {
        this.state.markSynced(b, needSql, willPrepare);
        this.sendOrOpen(b);
      }
      this.needsPump = true;
    });
    b.out.frame(serialize.query(sql));
    if (!b.flush()) this.waitBackendDrain(b);
  }

  /** Sends the request; first opens a transaction whose BEGIN Meridian answered (deferred-begin.ts). */
  private sendOrOpen(b: Backend): void {
    if (this.deferredBegin === null) this.sendBatch(b);
    else openDeferredThenSend(this, b);
  }

  sendBatch(b: Backend): void {
    if (this.isCancelRequested) {
      this.isCancelRequested = false;
      this.failBatch(Errors.queryCanceled());
      this.detachIfIdle(b);
      return;
    }
    const batch = this.batch;
    const prev = this.inflight;
    prev.clear();
    this.responseStarted = false;
    this.outWasEmptyAtSend = !this.out.hasPending;
    this.outFlushesAtSend = this.out.flushes;
    this.requestStartMs = this.ctx.pools.nowMs;
    this.requestSeq++;
    this.boundShared = false;
    const known = this.batchCls;
    for (let i = 0; i < batch.length; i++) {
      const code = batch.codes[i]!;
      // Reuse dispatch's classification of a Query/Parse (a Bind's is the statement's, not needed).
      this.pendingCls = code === FrontendCode.Query || code === FrontendCode.Parse ? known[i] ?? null : null;
      forwardClientFrame(this, b, code, batch.bufs[i]!, batch.starts[i]!, batch.ends[i]!);
    }
    this.pendingCls = null; // batchCls is left as is: dispatch sets every entry the next batch reads
    // Keep the request for a possible retry (read, nothing received yet): swap lists. Its
    // frames are views of the client's read buffer, so they are copied (small) or the buffer kept.
    // A plain autocommit write is kept too, for a retry after a read-only refusal (25006).
    const routing = this.ctx.cfg().routing;
    this.isRetryableWrite = this.inflightIntent === 'write' && routing.retryRefusedWrites && isRetryableWriteRequest(batch, known);
    if (this.boundShared || this.isRetryableWrite || (this.inflightIntent === 'read' && routing.retryReads)) {
      if (!batch.copyIn()) keepReadBuffer();
    } else batch.clear();
    this.inflight = batch;
    this.batch = prev;
  }

  /** Answers a request Meridian could not route: an error, then ReadyForQuery per Sync/Query. */
  failBatch(err: MeridianError): void {
    const list = this.batch;
    const syncPoints = list.syncPoints();
    const endsWithFlush = list.lastCode === FrontendCode.Flush;
    list.clear();
    this.ctx.metrics.error(err.sqlstate);
    this.out.frame(errorResponse({ severity: err.severity, code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
    // Inside a transaction whose BEGIN Meridian answered, the error fails the block, as on a server.
    if (this.deferredBegin !== null) this.deferredBegin.failed = true;
    const ready = this.readyForQueryNow();
    for (let i = 0; i < syncPoints; i++) this.out.frame(ready);
    if (syncPoints === 0 && endsWithFlush) this.skipUntilSync = true;
  }

  /** At a ReadyForQuery: release the backend when nothing keeps the session on it. */
  detachIfIdle(b: Backend): void {
    if (b.txStatus !== TxStatus.Idle || !b.ops.isEmpty || this.state.isPinned) return;
    this.attached = null;
    if (this.sessionBackends === null) {
      b.owner = null;
      if (b.pool !== null) b.pool.release(b);
      else b.close('pool gone');
    } // session pooling: still ours while idle (its FATAL, notifications: session-failure.ts)
    if (this.held.length > 0) this.needsPump = true;
  }

  /**
   * After a reload, residency is decided again. A session the new config would refuse at login
   * is closed with that error (28000 / 57M01); one holding a backend on a node its new residency
   * forbids (a transaction, a pin, a session-pooled backend) is closed with 57M01, its transaction
   * rolled back with the backend; any other routes under the new rules from its next request.
   * Returns true when it closed the session.
   */
  refreshRouting(): boolean {
    if (this.isAdmin || this.phase !== Phase.Ready) return false;
    const cfg = this.ctx.cfg();
    const i = this.ident;
    const verdict = decideResidency(cfg, {
      user: i.user, database: i.database, applicationName: i.applicationName, tenant: i.tenant, clientAddress: i.remoteAddress,
    });
    let err: MeridianError | null = null;
    if (!verdict.ok) err = residencyDenialError(verdict);
    else {
      const held = this.sessionBackends === null ? [] : [...this.sessionBackends.keys()];
      if (this.attached !== null) held.push(this.attached.node);
      const node = forbiddenHeldNode(verdict.residency, held, (n) => cfg.cluster.nodes.find((x) => x.name === n)?.region);
      if (node !== null && verdict.residency !== null) err = Errors.residencyNarrowed(node, verdict.residency.name);
      else this.routing = sessionRouting(verdict.residency, i.clientRegion);
    }
    if (err === null) return false;
    this.ctx.metrics.residencyDenied('reload');
    this.log.warn({ reason: err.message }, 'residency narrowed by reload: session closed');
    this.close('residency narrowed by reload', err);
    return true;
  }

  // ---- BackendOwner ----

  onServerFrame(b: Backend, code: number, buf: Buffer, start: number, end: number): void {
    try {
      handleServerFrame(this, b, code, buf, start, end);
    } catch (e) {
      this.onHandlerError('server frame', e);
    }
  }

  onServerChunkEnd(b: Backend): void {
    try {
      // Client is slow: stop reading the server (COPY TO, big results) until the client drains.
      if (!this.out.flush() && this.attached === b) b.pause();
      if (this.needsPump) this.afterAsync();
    } catch (e) {
      this.onHandlerError('server data', e);
    }
  }

  onServerLost(b: Backend, reason: string): void {
    this.guard('backend lost', () => onBackendLost(this, b, reason));
  }

  waitBackendDrain(b: Backend): void {
    this.socket.pause();
    b.socket.once('drain', this.onBackendDrain);
  }

  flushAll(): void {
    const b = this.attached;
    if (b !== null && b.out.hasPending && !b.flush()) this.waitBackendDrain(b);
    if (this.out.hasPending && !this.out.flush() && b !== null) b.pause();
    // Replies Meridian made itself (a deferred BEGIN/COMMIT, SET meridian.*, the admin console,
    // errors) for a client that does not read them: stop reading its requests until it drains.
    if (!this.isPausedForBacklog && this.socket.writableLength > MAX_CLIENT_BACKLOG_BYTES && this.phase === Phase.Ready) {
      this.isPausedForBacklog = true;
      this.socket.pause();
    }
  }

  // ---- cancel and close ----

  /** CancelRequest for this session: cancel whatever its backend runs right now. */
  cancelCurrent(): void {
    cancelRequest(this);
  }

  /** The single exit. `err` (if any) is sent to the client before closing. */
  close(reason: string, err?: MeridianError): void {
    if (this.phase === Phase.Closed) return;
    this.phase = Phase.Closed;
    if (err !== undefined) {
      if (err.internal !== null) this.log.info({ reason, err: logText(err) }, 'session closed with an error');
      this.ctx.metrics.error(err.sqlstate);
      this.out.discard();
      try {
        this.socket.write(errorResponse({ severity: err.severity, code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
      } catch {
        /* client already gone */
      }
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
    const backends = new Set<Backend>();
    if (this.attached !== null) backends.add(this.attached);
    if (this.sessionBackends !== null) for (const b of this.sessionBackends.values()) backends.add(b);
    this.attached = null;
    for (const b of backends) this.releaseOnClose(b, reason);
    this.held.clear();
    this.batch.clear();
    this.inflight.clear();
    this.ctx.unregisterSession(this); // in any phase: the client limits count connections still logging in
    this.log.debug({ reason }, 'session closed');
  }

  /**
   * A departing client's backend goes back only if provably clean; otherwise it is closed. In
   * session pooling with pool.session_reuse off it is closed anyway: what DISCARD ALL cannot undo
   * (libraries loaded, a temporary schema, per-session statistics) never reaches the next client.
   */
  private releaseOnClose(b: Backend, reason: string): void {
    b.owner = null;
    const pool = this.ctx.cfg().pool;
    if (this.sessionBackends !== null && !pool.sessionReuse) return b.close('session ended (pool.session_reuse: false)');
    if (b.isClean && !this.state?.isPinned && !b.isStateUncertain && b.pool !== null) return b.pool.release(b);
    b.close(`client gone (${reason}) with the backend busy, in a transaction or pinned`);
  }
}
