// One client connection after login, as a state machine (session-phase.ts): one SessionPhase in
// one field, changed only by moveTo(). One request, in the order of this file: frames arrive
// (onClientData → onFrame) and are collected in the Request while the session is idle; a
// complete request is planned and routed (dispatch → routeAndAttach, waiting{route} during
// routing.write_wait), takes a backend (waiting{pool} in the pool's queue), brings the backend's
// session state in line (waiting{sync}), opens a deferred BEGIN (waiting{begin}), and is sent
// (attached). The relay (session-relay.ts) matches the server's answers to the request and calls
// back endRequest at its ReadyForQuery: effects applied, the backend released (idle again). What a
// lost backend means is decided in session-failure.ts, which refused requests are retried in
// refused-retry.ts; both act through retry paths here. Helpers see the session only through the
// interfaces in types.ts. One exit: close(reason).

import { serialize } from 'pg-protocol';
import type { Backend, BackendOwner } from '../backend/backend.js';
import { isNodeUnavailable } from '../backend/connect-failure.js';
import { PoolTimeoutError, RouteAgainError, type Pool } from '../backend/pool.js';
import type { ConnectError } from '../backend/server-connect.js';
import { SpanWriter } from '../backend/span-writer.js';
import type { Classification, RouteHint } from '../classify/types.js';
import { decideResidency, forbiddenHeldNode } from '../config/residency-match.js';
import { Errors, logText, MeridianError, redactAddresses } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Conn } from '../net/conn.js';
import { keepReadBuffer } from '../net/read-slot.js';
import { FrontendCode, TxStatus } from '../protocol/codes.js';
import { errorResponse, parameterStatus, readyForQuery } from '../protocol/encode.js';
import { DecodeResult, FrameDecoder, type FrameSink } from '../protocol/frame-decoder.js';
import { checkFrontendFrame } from '../protocol/frontend-check.js';
import { querySql } from '../protocol/messages.js';
import { serializableReadsNeedMaster } from '../router/reads-need-master.js';
import { MERIDIAN_CAUSAL_TOKEN, MERIDIAN_READ_YOUR_WRITES } from '../classify/meridian-setting.js';
import { decodeCausalToken } from '../router/causal-token.js';
import type { RouteDecision, RouteIntent, WriteMark } from '../router/types.js';
import { waitForRoute } from '../topology/wait-for-route.js';
import { ClientFlow, PauseReason } from './client-flow.js';
import { residencyDenialError, sessionRouting, type ProxyContext, type SessionRouting } from './context.js';
import { ABORT_SQL, tryDeferBegin, tryEndDeferred } from './deferred-begin.js';
import { FrameList } from './frame-list.js';
import { isRetryableWriteRequest } from './refused-retry.js';
import { settleRequest } from './request-end.js';
import { answerMeridianSettings, planRequest } from './request-plan.js';
import { Request } from './request.js';
import { TxRecording } from './tx-replay.js';
import { SessionCausal } from './session-causal.js';
import { traceNowMs } from '../tracing/request-trace.js';
import { requestRelations } from './read-relations.js';
import { adminNonQuery, adminReply } from './session-admin.js';
import { asError, lostBackendAction } from './session-failure.js';
import {
  attached,
  CLOSED,
  describePhase,
  IDLE,
  isLegalMove,
  Phase,
  skipUntilSync,
  STARTUP,
  waiting,
  waitingOn,
  type SessionPhase,
  type WaitFor,
} from './session-phase.js';
import { acceptsOnAttached, forwardClientFrame, handleServerFrame, syncToRelease } from './session-relay.js';
import type { SessionState } from './session-state.js';
import type { DeferHost, DeferredBegin, MeridianSettingsHost, RelayHost, SessionIdentity, SessionRef } from './types.js';

export type { SessionIdentity } from './types.js';

export { Phase };

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

/** While waiting (write_wait), routing is decided again at least this often, change or not. */
const ROUTE_POLL_MS = 250;

/**
 * The backend was lost with a COMMIT in flight, but the server ended it with FATAL 57P01 (its
 * SIGTERM: pg_terminate_backend, a fast shutdown, a switchover's demotion) before answering that
 * COMMIT, a statement of its own. PostgreSQL acts on SIGTERM only between interrupt checks, and
 * there is none between writing a commit record and sending the COMMIT's CommandComplete and
 * ReadyForQuery (one write; a synchronous-replication wait it cuts short says so in a WARNING and
 * sends no FATAL): so the COMMIT had not run and the transaction is rolled back, not of unknown
 * outcome. A crash or immediate shutdown (SIGQUIT: a WARNING, no FATAL) or a cut connection
 * stays unknown (08007).
 */
function isCommitSurelyNotRun(b: Backend): boolean {
  return b.fatalFrame !== null && b.fatalMessage !== null && b.fatalMessage.startsWith('57P01:') && b.ops.pendingCommitsStandAlone();
}

/** Refusals a wait may cure: a failover, a node readmitted, a switchover's hold released (write_wait); a node catching up with a causal token's write (causal_wait). */
const isWorthWaiting = (d: Extract<RouteDecision, { ok: false }>): boolean =>
  d.refusal === 'no-master' || d.refusal === 'no-read-node' || d.refusal === 'writes-held' || d.refusal === 'causal';

/** How long a refused route may wait for a cure (0: not worth waiting). */
function waitBudgetMs(d: Extract<RouteDecision, { ok: false }>, routing: { readonly writeWaitMs: number; readonly causalWaitMs: number }): number {
  if (!isWorthWaiting(d)) return 0;
  return d.refusal === 'causal' ? routing.causalWaitMs : routing.writeWaitMs;
}

export class Session implements FrameSink, BackendOwner, RelayHost, DeferHost, MeridianSettingsHost, SessionRef {
  readonly id: number;
  /** The cancel key's secret (BackendKeyData); drawn again if the key is taken (server.ts registerSession). */
  secret: number;
  /**
   * The cancel key's process id: the session id, or in session pooling its first backend's
   * real pid (a driver compares it with a notification's sender).
   */
  cancelPid: number;
  readonly ctx: ProxyContext;
  socket: Conn;
  readonly log: Logger;
  /** The one state field; changed only by moveTo(). */
  private st: SessionPhase = STARTUP;
  private lastAttached: SessionPhase | null = null;
  ident: SessionIdentity;
  routing: SessionRouting = sessionRouting(null, null);
  state!: SessionState;
  isAdmin = false;
  readonly connectedAtMs = Date.now();
  /** Bytes to the client, batched per read. */
  readonly out = new SpanWriter();
  decoder: FrameDecoder;
  /** The request being collected, or in flight (one object, reset per request). */
  readonly req = new Request();
  /** This session's pool per node (the pool manager's lookup builds a key string). */
  private readonly pools = new Map<string, Pool>();
  /** pool.mode session: one backend per node used, kept for the session's life. */
  sessionBackends: Map<string, Backend> | null = null;
  /** Frames that arrived while the session was waiting, or that need another node. */
  readonly held = new FrameList();
  /** Statement class of the portal bound last (its Execute applies the effects). */
  portalCls: Classification | null = null;
  /** The request a cancel was last forwarded for, and when (cancel-limits.ts). */
  cancelledSeq = -1;
  cancelledAtMs = 0;
  /** Frames held meanwhile are taken once the current callback returns. */
  private needsPump = false;
  routedReads = 0;
  routedWrites = 0;
  /** The session's last write while some node may still lack it (read-your-writes). */
  writeMark: WriteMark | null = null;
  /** Causal tokens: the last write's, and the mark of the one presented. */
  readonly causal = new SessionCausal();
  /** A BEGIN Meridian answered, not yet sent to a server (deferred-begin.ts). */
  deferredBegin: DeferredBegin | null = null;
  /** Transaction replay's recording of the open transaction (routing.transaction_replay), else null. */
  private rec: TxRecording | null = null;
  /** The node whose loss the transaction being replayed follows (for its error). */
  private replayLostNode = '';
  /** Why reading from the client is paused (each reason its own bit). */
  private readonly flow: ClientFlow;
  private readonly onClientDrain = () => {
    this.attached?.resume();
    if (this.flow.isHeld(PauseReason.ClientBacklog)) {
      this.flow.release(PauseReason.ClientBacklog);
      this.guard('client drain', () => this.afterAsync()); // frames held meanwhile
    }
  };

  constructor(id: number, secret: number, socket: Conn, ctx: ProxyContext) {
    this.id = id;
    this.secret = secret;
    this.cancelPid = id;
    this.socket = socket;
    this.ctx = ctx;
    this.log = ctx.logger.child({ sid: id });
    this.decoder = new FrameDecoder(Math.min(MAX_LOGIN_FRAME_BYTES, ctx.cfg().limits.maxFrameBytes));
    this.ident = { user: '', database: '', applicationName: '', tenant: null, clientRegion: null, remoteAddress: socket.remoteAddress ?? '' };
    this.flow = new ClientFlow(socket);
  }

  // ---- the state ----

  get phase(): Phase {
    const k = this.st.kind;
    return k === 'startup' ? Phase.Startup : k === 'closed' ? Phase.Closed : Phase.Ready;
  }

  /** Taking requests: past the startup reply, not closed. */
  private get isReady(): boolean {
    const k = this.st.kind;
    return k !== 'startup' && k !== 'closed';
  }

  /** The backend the session holds now (attached, or waiting on it), if any. */
  get attached(): Backend | null {
    return this.st.backend;
  }

  /** Waiting for something (route, pool, state sync, BEGIN, a re-probe, an admin command): frames are held. */
  get isBusy(): boolean {
    return this.st.kind === 'waiting';
  }

  get isSessionPooled(): boolean {
    return this.sessionBackends !== null;
  }

  get allowedRegions(): ReadonlySet<string> | null {
    return this.routing.routeContext.allowedRegions;
  }

  /** Requests sent to a backend so far (cancel-limits.ts tells one request from the next by it). */
  get requestSeq(): number {
    return this.req.seq;
  }

  /** The attached state for `b`: reused while the pool hands back the same backend (one allocation per backend, not per request). */
  private attachedTo(b: Backend): SessionPhase {
    const last = this.lastAttached;
    if (last !== null && last.backend === b) return last;
    return (this.lastAttached = attached(b));
  }

  private isWaiting(what: WaitFor, b: Backend | null = null): boolean {
    const st = this.st;
    return st.kind === 'waiting' && st.for === what && st.backend === b;
  }

  /**
   * The one way the state changes. An illegal move is a bug: it is logged and the session closes
   * with XX000 (onHandlerError); it never throws. Moves of a closed session are ignored (late
   * callbacks of a pool, a timer, a promise).
   */
  private moveTo(next: SessionPhase): boolean {
    const from = this.st;
    if (from.kind === 'closed') return false;
    if (!isLegalMove(from, next)) {
      this.onHandlerError('state machine', new Error(`illegal session state change ${describePhase(from)} → ${describePhase(next)}`));
      return false;
    }
    this.st = next;
    return true;
  }

  /** Switches to taking requests (after authentication and the startup reply). */
  beginRequests(socket: Conn): void {
    this.socket = socket;
    this.out.socket = socket;
    this.flow.setSocket(socket);
    this.moveTo(IDLE);
    this.decoder.maxFrameBytes = this.ctx.cfg().limits.maxFrameBytes;
    socket.on('drain', this.onClientDrain);
    this.setUpReplay();
  }

  /**
   * routing.transaction_replay, at login and after a reload: transaction pooling records its
   * transactions (session pooling's state lives on its backend; the admin console has none).
   * A replay in progress finishes under the settings it began with.
   */
  private setUpReplay(): void {
    const r = this.ctx.cfg().routing;
    if (r.transactionReplay && !this.isAdmin && this.sessionBackends === null) {
      if (this.rec === null) {
        this.rec = new TxRecording(r.transactionReplayMaxBytes, {
          caughtUp: () => this.onReplayCaughtUp(),
          mismatch: (why) => this.onReplayMismatch(why),
        });
      }
      this.rec.maxBytes = r.transactionReplayMaxBytes;
      this.out.tap = this.rec;
    } else if (this.rec !== null && !this.rec.isCatchingUp) {
      this.rec = null;
      this.out.tap = null;
    }
  }

  // ---- frames in ----

  readonly onClientDataBound = (chunk: Buffer): void => this.onClientData(chunk);

  onClientData(chunk: Buffer): void {
    if (!this.isReady) return;
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
      if (this.req.frames.length > 0 && !this.req.frames.copyIn()) keepReadBuffer();
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
      this.st = CLOSED; // the last resort: close() itself failed
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
    if (!this.isReady || this.isAdmin) return;
    const limits = this.ctx.cfg().limits;
    const st = this.state;
    const stmts = st.stmts.size + st.sqlStmts.size;
    if (stmts > limits.maxPreparedStatements) {
      this.close(
        'too many prepared statements',
        Errors.sessionLimitExceeded(
          `too many prepared statements in this session (${stmts}; limits.max_prepared_statements = ${limits.maxPreparedStatements})`,
        ),
      );
    } else if (st.settings.size > limits.maxSessionSettings) {
      this.close(
        'too many settings',
        Errors.sessionLimitExceeded(`too many settings in this session (${st.settings.size}; limits.max_session_settings = ${limits.maxSessionSettings})`),
      );
    }
  }

  onFrame(code: number, buf: Buffer, start: number, end: number): void {
    if (!this.isReady) return;
    const bad = checkFrontendFrame(code, buf, start, end);
    if (bad !== null) {
      this.close('protocol violation', Errors.protocolViolation(bad));
      return;
    }
    if (this.st.kind === 'waiting' || this.held.length > 0 || this.flow.isHeld(PauseReason.ClientBacklog)) {
      this.hold(code, buf, start, end);
      return;
    }
    if (!this.takeFrame(code, buf, start, end)) this.hold(code, buf, start, end);
  }

  private hold(code: number, buf: Buffer, start: number, end: number): void {
    this.held.push(code, buf, start, end);
    // Bound what a client can queue while it waits: stop reading until the queue drains.
    if (this.held.bytes > MAX_HELD_BYTES) this.flow.hold(PauseReason.HeldFull);
  }

  /** Processes held frames once nothing is in the way. */
  pumpHeld(): void {
    this.needsPump = false;
    const held = this.held;
    while (held.length > 0 && this.st.kind !== 'waiting' && !this.flow.isHeld(PauseReason.ClientBacklog) && this.isReady) {
      const i = held.head;
      if (!this.takeFrame(held.codes[i]!, held.bufs[i]!, held.starts[i]!, held.ends[i]!)) break;
      held.shift();
    }
    if (held.length === 0) held.clear();
    // Only the held-frames reason ends here: a full backend or an unread backlog keeps the client paused.
    if (held.bytes <= MAX_HELD_BYTES) this.flow.release(PauseReason.HeldFull);
  }

  /**
   * One frame, by state. Returns false when it must wait (it needs a different node). With
   * transaction replay on, a frame taken is recorded; one taken outside a transaction starts a
   * new recording.
   */
  private takeFrame(code: number, buf: Buffer, start: number, end: number): boolean {
    const rec = this.rec;
    if (rec === null) return this.takeFrameNow(code, buf, start, end);
    if (this.st.kind === 'idle' && this.req.frames.length === 0 && this.deferredBegin === null) rec.restart();
    if (!this.takeFrameNow(code, buf, start, end)) return false;
    rec.recordInput(code, buf, start, end);
    return true;
  }

  private takeFrameNow(code: number, buf: Buffer, start: number, end: number): boolean {
    if (code === FrontendCode.Terminate) {
      this.close('client terminated');
      return true;
    }
    if (this.isAdmin) return this.takeAdminFrame(code, buf, start, end);
    const st = this.st;
    switch (st.kind) {
      case 'skipUntilSync':
        // A request already failed inside Meridian; like a server, ignore until Sync.
        if (code === FrontendCode.Sync) {
          this.out.frame(readyForQuery(TxStatus.Idle));
          this.moveTo(st.backend !== null ? this.attachedTo(st.backend) : IDLE);
        }
        return true;
      case 'attached':
        // A request still in flight (or a transaction) holds the backend: pipelined frames go
        // there if the router lets this request share it, else they wait for it to be released.
        if (!acceptsOnAttached(this, st.backend, code, buf, start, end)) {
          syncToRelease(this, st.backend);
          return false;
        }
        if (this.req.trace === null) this.traceAttached();
        forwardClientFrame(this, st.backend, code, buf, start, end);
        return true;
      case 'idle':
        return this.collect(code, buf, start, end);
      default:
        return false;
    }
  }

  /** Idle: frames are collected into the request until it is complete (Query, Sync, Flush). */
  private collect(code: number, buf: Buffer, start: number, end: number): boolean {
    switch (code) {
      case FrontendCode.Query:
      case FrontendCode.FunctionCall:
      case FrontendCode.Sync:
      case FrontendCode.Flush:
        this.req.frames.push(code, buf, start, end);
        this.dispatch();
        return true;
      case FrontendCode.Parse:
      case FrontendCode.Bind:
      case FrontendCode.Describe:
      case FrontendCode.Execute:
      case FrontendCode.Close:
        this.req.frames.push(code, buf, start, end);
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
    const list = this.req.frames;
    const held = list.bytes + list.length * FRAME_OVERHEAD_BYTES;
    const max = this.ctx.cfg().limits.maxRequestBytes;
    if (held <= max) return;
    this.failBatch(Errors.limitExceeded(`request too large: more than ${max} bytes without Sync (limits.max_request_bytes)`), null, true);
  }

  // ---- a complete request: plan, route, take a backend, sync, send ----

  /** A complete request (or a Flush-ended part of one) with no backend attached: route it. */
  private dispatch(): void {
    const req = this.req;
    const list = req.frames;
    const plan = req.plan;
    const trace = (req.trace ??= this.ctx.tracer.begin(this.id));
    planRequest(this.ctx, this.state, list, req.cls, plan);
    if (trace !== null) {
      trace.classifiedMs = traceNowMs();
      trace.statementClass = req.cls[0]?.class ?? null;
      trace.classReason = req.cls[0]?.reason ?? null;
    }
    if (plan.onlyMeridian && list.length === 1 && list.codes[0] === FrontendCode.Query) {
      const err = answerMeridianSettings(this, list);
      if (err !== null) this.failBatch(err, null);
      else {
        this.endTrace(TxStatus.Idle, null);
        req.reset(TxStatus.Idle);
      }
      return;
    }
    // A transaction whose BEGIN Meridian answered routes by the BEGIN's modes and hint too.
    const begin = this.deferredBegin?.cls ?? null;
    if (begin === null ? tryDeferBegin(this, list, req.cls[0] ?? null) : tryEndDeferred(this, list, req.cls[0] ?? null)) {
      this.endTrace(this.readyForQueryNow()[5]!, null);
      req.reset(TxStatus.Idle);
      return;
    }
    const needsMaster = this.state.defaultsToSerializable && serializableReadsNeedMaster(this.ctx.cfg().cluster.kind);
    const intent: RouteIntent = plan.isWrite || begin?.isWrite || needsMaster || req.isForcedWrite ? 'write' : 'read';
    req.isForcedWrite = false;
    const hint = plan.hint ?? begin?.hint ?? this.state.localRouteHint ?? this.state.routeHint;
    this.routeAndAttach(intent, hint, Date.now());
  }

  /**
   * A write request ended outside a transaction (committed) on `b`, its ReadyForQuery not yet
   * relayed: its causal token is known, and goes to the client as a ParameterStatus first when
   * routing.report_causal_token is on.
   */
  writeAcknowledged(b: Backend): void {
    const token = this.causal.wrote(b.node, Date.now());
    if (this.ctx.cfg().routing.reportCausalToken) this.out.frame(parameterStatus(MERIDIAN_CAUSAL_TOKEN, token));
  }

  /** What this request reads, as qualified names (frontend/read-relations.ts). */
  readRelations(relationsOf: (sql: string) => readonly string[] | null): readonly string[] {
    const users = [this.ident.user];
    const backendUser = this.ctx.cfg().users.find((u) => u.name === this.ident.user)?.backendUser;
    if (backendUser !== undefined && backendUser !== this.ident.user) users.push(backendUser);
    return requestRelations(this.req.frames, this.req.cls, this.state, users, relationsOf);
  }

  /** The write the presented causal token names (SET meridian.causal_token, the startup option), or null. */
  causalMark(): WriteMark | null {
    return this.causal.markFor(this.state.causalToken, () => this.nodeNames(), Date.now());
  }

  /** Why `token` cannot be presented here (22023's words), or null. */
  causalTokenProblem(token: string): string | null {
    const d = decodeCausalToken(token, this.nodeNames(), Date.now());
    return d.ok ? null : d.reason;
  }

  private nodeNames(): string[] {
    return this.ctx.cfg().cluster.nodes.map((n) => n.name);
  }

  /** SHOW meridian.<name>. */
  meridianSettingText(name: string): string {
    switch (name) {
      case MERIDIAN_CAUSAL_TOKEN:
        return this.causal.shown(this.state.causalToken);
      case MERIDIAN_READ_YOUR_WRITES:
        return this.isReadYourWrites() ? 'on' : 'off';
      default: {
        const h = this.state.routeHint;
        return h === null ? 'default' : 'node' in h ? `node=${h.node}` : h.route;
      }
    }
  }

  /** A request that goes to the backend the session holds (no routing): traced from its first frame. */
  private traceAttached(): void {
    const t = this.ctx.tracer.begin(this.id);
    if (t === null) return;
    t.sentMs = t.startMs;
    t.node = this.attached?.node ?? null;
    t.routeReason = 'the backend the session holds (transaction, pin or pipeline)';
    this.req.trace = t;
  }

  /** The request's trace ends (tracing.enabled): its spans go to the tracer. */
  private endTrace(txStatus: number, error: string | null, sqlstate: string | null = null): void {
    const t = this.req.trace;
    if (t === null) return;
    this.req.trace = null;
    this.ctx.tracer.end(t, { endMs: traceNowMs(), txStatus: String.fromCharCode(txStatus), sqlstate, error });
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

  private routeAndAttach(intent: RouteIntent, hint: RouteHint | null, startedMs: number): void {
    const decision = this.ctx.route(intent, hint, this);
    if (!decision.ok) {
      const waitMs = waitBudgetMs(decision, this.ctx.cfg().routing) - (Date.now() - startedMs);
      if (waitMs > 0) return this.waitForNode(intent, hint, startedMs, waitMs);
    }
    this.onRouted(decision, intent, hint, startedMs);
  }

  /**
   * Bounded wait (routing.write_wait; routing.causal_wait for a causal token's write) for an
   * eligible node to appear — a failover, a readmission, a standby catching up — instead of an
   * instant error (topology/wait-for-route.ts).
   */
  private waitForNode(intent: RouteIntent, hint: RouteHint | null, startedMs: number, waitMs: number): void {
    if (!this.moveTo(waiting('route'))) return;
    const decide = (): RouteDecision => this.ctx.route(intent, hint, this);
    const isCancelled = (): boolean => !this.isWaiting('route');
    waitForRoute(this.ctx.health, decide, waitMs, { isCurable: isWorthWaiting, pollMs: ROUTE_POLL_MS, isCancelled }).then(
      (d) =>
        this.guard('route wait', () => {
          if (!this.isWaiting('route')) return;
          this.onRouted(d, intent, hint, startedMs);
          this.afterAsync();
        }),
      (e: unknown) => this.onHandlerError('route wait', e),
    );
  }

  private onRouted(decision: RouteDecision, intent: RouteIntent, hint: RouteHint | null, startedMs: number): void {
    if (!decision.ok) {
      const rule = this.routing.residency;
      if (decision.refusal === 'residency' && rule !== null) {
        this.ctx.metrics.residencyRefused(rule.name);
        this.log.warn({ rule: rule.name, reason: decision.reason }, 'residency refusal');
        return this.failBatch(Errors.residencyRefused(rule.name, decision.reason), null);
      }
      if (decision.refusal === 'causal') return this.failBatch(Errors.causalUnavailable(decision.reason), null);
      return this.failBatch(Errors.noRoute(decision.reason), null);
    }
    const node = decision.node;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ node, intent, reason: decision.reason }, 'route');
    const trace = this.req.trace;
    if (trace !== null) {
      trace.routedMs = traceNowMs();
      trace.node = node;
      trace.intent = intent;
      trace.routeReason = decision.reason;
      trace.routes++;
    }
    this.ctx.metrics.routed(node, intent);
    if (intent === 'write') this.routedWrites++;
    else this.routedReads++;
    this.req.intent = intent;
    const kept = this.sessionBackends?.get(node);
    if (kept !== undefined && !kept.isClosed) return this.attach(kept);
    let pool = this.pools.get(node);
    if (pool === undefined || pool.isRemoved) {
      const p = this.ctx.pools.pool(node, this.ident.user, this.ident.database);
      if (p === null) return this.failBatch(Errors.noRoute(`node "${node}" is not configured`), null);
      this.pools.set(node, (pool = p));
    }
    // Session pooling: a backend opened with this client's startup settings (pool.ts).
    const startup = this.sessionBackends !== null ? this.state.backendStartup : null;
    const b = pool.tryAcquire(this.id, startup);
    if (b !== null) return this.attach(b);
    if (!this.moveTo(waiting('pool'))) return;
    const t0 = Date.now();
    const queued = pool;
    queued.acquire(
      this.ctx.cfg().pool.queueTimeoutMs,
      (err, got) =>
        this.guard('pool acquire', () => {
          this.ctx.metrics.poolWait((Date.now() - t0) / 1000);
          if (!this.isWaiting('pool')) {
            if (got !== null) queued.release(got);
            return;
          }
          if (got !== null) this.attach(got);
          else if (err instanceof RouteAgainError) this.routeAndAttach(intent, hint, startedMs);
          else if (isNodeUnavailable(err) && this.req.mayRouteAgain()) this.routeAgain(node, err, intent, hint, startedMs);
          else this.failBatch(this.acquireError(node, err), null);
          this.afterAsync();
        }),
      this.id,
      startup,
    );
  }

  /**
   * The node could not be connected to and nothing of the request ran there (refused, reset,
   * closed during startup, shutting down): the node is out of routing now (the pool reported it),
   * so the request routes again, to another eligible node or, within routing.write_wait from its
   * start, to one that appears (a failover). The client sees an error only when none does.
   */
  private routeAgain(node: string, err: Error | null, intent: RouteIntent, hint: RouteHint | null, startedMs: number): void {
    this.log.info({ node, err: err?.message ?? 'unknown error', intent }, 'backend connect failed: routing the request again');
    this.ctx.metrics.routedAgain(intent);
    this.routeAndAttach(intent, hint, startedMs);
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

  /** Binds a backend to this session and sends the collected request, after a state sync if needed. */
  private attach(b: Backend): void {
    b.owner = this;
    if (this.req.trace !== null) this.req.trace.attachedMs = traceNowMs();
    if (this.sessionBackends !== null) this.sessionBackends.set(b.node, b);
    const plan = this.req.plan;
    const sql = this.state.planSync(b, plan.needSql, plan.willPrepare);
    if (sql === null) return this.sendOrOpen(b);
    if (!this.moveTo(waitingOn('sync', b))) return;
    b.ops.pushInternal((err) => this.onSynced(b, err));
    b.out.frame(serialize.query(sql));
    if (!b.flush()) this.waitBackendDrain(b);
  }

  private onSynced(b: Backend, err: string | null): void {
    if (!this.isWaiting('sync', b)) return; // closed, or the backend was lost meanwhile
    const plan = this.req.plan;
    if (err !== null) {
      b.isStateUncertain = true;
      this.failBatch(Errors.adminFailed(`could not apply session state on node "${b.node}": ${err}`), b);
    } else {
      this.state.markSynced(b, plan.needSql, plan.willPrepare);
      this.sendOrOpen(b);
    }
    this.needsPump = true;
  }

  /** Sends the request; first opens a transaction whose BEGIN Meridian answered (deferred-begin.ts). */
  private sendOrOpen(b: Backend): void {
    if (this.deferredBegin === null) this.sendBatch(b);
    else this.openDeferred(b, this.deferredBegin);
  }

  /**
   * On the backend the transaction's first request got: BEGIN (and, when the block already failed,
   * a statement that fails it), then the request. A BEGIN the server refuses fails the request.
   * The BEGIN stays pending until the server accepted it: a backend lost meanwhile has the request
   * dispatched again, and it must open the block on the next backend too.
   */
  private openDeferred(b: Backend, pending: DeferredBegin): void {
    if (!this.moveTo(waitingOn('begin', b))) return;
    b.ops.pushInternal((err) => {
      if (!this.isWaiting('begin', b)) return;
      if (err !== null) return this.failToBegin(b, err); // still pending: the client sees the error inside its block
      if (!pending.failed) return this.opened(b, pending);
      b.ops.pushInternal((abortErr) => {
        if (!this.isWaiting('begin', b)) return;
        if (abortErr !== null) return this.opened(b, pending);
        this.deferredBegin = null; // open on the server but not failed: fail it as the client was told
        this.failToBegin(b, 'the transaction could not be marked as failed');
      });
      b.out.frame(serialize.query(ABORT_SQL));
      b.flush();
    });
    b.out.frame(serialize.query(pending.sql));
    if (!b.flush()) this.waitBackendDrain(b);
  }

  private opened(b: Backend, pending: DeferredBegin): void {
    this.deferredBegin = null;
    this.req.wasInTx = true;
    this.req.wasInFailedTx = pending.failed;
    this.sendBatch(b);
    this.needsPump = true;
  }

  private failToBegin(b: Backend, err: string): void {
    this.failBatch(Errors.adminFailed(`could not begin the transaction on node "${b.node}": ${err}`), b);
    this.needsPump = true;
  }

  /** The collected request goes to `b` (attached from now on); the relay takes its answers. */
  private sendBatch(b: Backend): void {
    const req = this.req;
    if (req.isCancelRequested) {
      req.isCancelRequested = false;
      return this.failBatch(Errors.queryCanceled(), b);
    }
    if (!this.moveTo(this.attachedTo(b))) return;
    const batch = req.frames;
    const known = req.cls;
    const outWasEmpty = !this.out.hasPending;
    const outFlushes = this.out.flushes;
    req.boundShared = false;
    for (let i = 0; i < batch.length; i++) {
      const code = batch.codes[i]!;
      // Reuse dispatch's classification of a Query/Parse (a Bind's is the statement's, not needed).
      req.pendingCls = code === FrontendCode.Query || code === FrontendCode.Parse ? (known[i] ?? null) : null;
      forwardClientFrame(this, b, code, batch.bufs[i]!, batch.starts[i]!, batch.ends[i]!);
    }
    req.pendingCls = null; // req.cls is left as is: dispatch sets every entry the next request reads
    // Keep the request for a possible retry (read, nothing received yet). Its frames are views of
    // the client's read buffer, so they are copied (small) or the buffer kept. A plain autocommit
    // write is kept too, for a retry after a read-only refusal (25006).
    const routing = this.ctx.cfg().routing;
    req.isRetryableWrite = req.intent === 'write' && routing.retryRefusedWrites && isRetryableWriteRequest(batch, known);
    const keep = req.boundShared || req.isRetryableWrite || (req.intent === 'read' && routing.retryReads);
    if (keep && !batch.copyIn()) keepReadBuffer();
    req.markSent(this.ctx.pools.nowMs, outWasEmpty, outFlushes, keep);
    if (req.trace !== null) req.trace.sentMs = traceNowMs();
  }

  // ---- the relay's callbacks: ReadyForQuery out, retries ----

  /** A ReadyForQuery ended a client-visible request: apply its effects, maybe release the backend. */
  endRequest(b: Backend, status: number, query: Classification | null): void {
    const req = this.req;
    const inTx = status !== TxStatus.Idle;
    if (req.doneEffects.length > 0 || (req.wasInTx && !inTx)) {
      const outcome = {
        done: req.doneEffects,
        query,
        wasInTx: req.wasInTx,
        wasInFailedTx: req.wasInFailedTx,
        failed: req.isFailed,
        statementsDone: req.statementsDone,
      };
      if (settleRequest(this.state, b, outcome, inTx)) this.ctx.onCatalogChanged();
    }
    // Read-your-writes: a request routed as a write finished on this node (failed ones too: some
    // of it may have been written). The mark's time is taken after the server's acknowledgement.
    if (req.intent === 'write' && this.isReadYourWrites()) this.writeMark = { node: b.node, atMs: Date.now(), isSyncApplied: !this.state.lowersSyncCommit() };
    this.ctx.metrics.requestDone((this.ctx.pools.nowMs - req.startMs) / 1000);
    if (req.trace !== null) this.endTrace(status, req.isFailed ? 'the server answered an error' : null);
    req.reset(status);
    if (!inTx) this.detachIfIdle(b);
  }

  /**
   * A request refused before any of it ran, its error held back (refused-retry.ts): release the
   * backend and send it once more. `isRead`: a hot standby refused a read, which now runs as a
   * write (on a master). Otherwise a node refused an autocommit write as read-only (25006):
   * re-probe it (its role has probably changed) first, then route the write again (after
   * write_wait with no master: 57P03).
   */
  retryRefused(b: Backend, isRead: boolean): void {
    this.req.retry(isRead ? 'refused-read' : 'refused-write');
    this.detachIfIdle(b);
    this.ctx.metrics.retried(isRead ? 'standby-refused' : 'read-only');
    if (isRead) {
      this.log.info({ node: b.node }, 'read refused by a standby: retried on a master');
      this.dispatch();
      this.afterAsync();
      return;
    }
    this.log.info({ node: b.node }, 'write refused as read-only (25006): node re-probed, write retried');
    if (!this.moveTo(waiting('recheck'))) return;
    this.ctx.recheckNode(b.node).then(
      () =>
        this.guard('recheck', () => {
          if (!this.isWaiting('recheck') || !this.moveTo(IDLE)) return;
          this.dispatch();
          this.afterAsync();
        }),
      (e: unknown) => this.onHandlerError('recheck', e),
    );
  }

  requestPump(): void {
    this.needsPump = true;
  }

  // ---- requests that end in Meridian ----

  /**
   * Answers the collected request with `err` (an error, then ReadyForQuery per Sync/Query) and
   * goes back to taking requests: on `b` when it stays attached (a transaction, a pin), else idle;
   * skipping to Sync when the client has not sent it yet (`skip`, or a request that ended with Flush).
   */
  failBatch(err: MeridianError, b: Backend | null, skip = false): void {
    const list = this.req.frames;
    const syncPoints = list.syncPoints();
    const endsWithFlush = list.lastCode === FrontendCode.Flush;
    list.clear();
    this.ctx.metrics.error(err.sqlstate);
    this.out.frame(errorResponse({ severity: err.severity, code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
    if (this.req.trace !== null) this.endTrace(b?.txStatus ?? TxStatus.Idle, err.message, err.sqlstate);
    // Inside a transaction whose BEGIN Meridian answered, the error fails the block, as on a server.
    if (this.deferredBegin !== null) this.deferredBegin.failed = true;
    const ready = this.readyForQueryNow();
    for (let i = 0; i < syncPoints; i++) this.out.frame(ready);
    this.req.reset(b === null ? TxStatus.Idle : b.txStatus);
    let keep = b;
    if (b !== null && this.mayRelease(b)) {
      this.release(b);
      keep = null;
    }
    const next = skip || (syncPoints === 0 && endsWithFlush) ? skipUntilSync(keep) : keep !== null ? this.attachedTo(keep) : IDLE;
    if (this.moveTo(next) && keep === null && this.held.length > 0) this.needsPump = true;
  }

  // ---- releasing the backend ----

  private mayRelease(b: Backend): boolean {
    return b.txStatus === TxStatus.Idle && b.ops.isEmpty && !this.state.isPinned;
  }

  /** The session lets go of `b`: back to its pool (session pooling: kept, idle, for the session). */
  private release(b: Backend): void {
    this.flow.forgetBackend(b.socket);
    if (this.sessionBackends === null) {
      b.owner = null;
      if (b.pool !== null) b.pool.release(b);
      else b.close('pool gone');
    } // session pooling: still ours while idle (its FATAL, notifications: onBackendLost)
  }

  /** At a ReadyForQuery: release the backend when nothing keeps the session on it. */
  detachIfIdle(b: Backend): void {
    if (this.attached !== b || !this.mayRelease(b)) return;
    this.release(b);
    this.moveTo(IDLE);
    // Everything taken so far was answered outside a transaction: nothing to keep for a replay
    // (an idle session must not hold a copy of its last request).
    if (this.rec !== null && this.deferredBegin === null) this.rec.restart();
    if (this.held.length > 0) this.needsPump = true;
    else if (this.ctx.isShuttingDown()) this.closeOnceAnswered();
  }

  /**
   * Meridian is shutting down and this session's transaction (or request) has just ended: it
   * closes (57P01) once the answer is out, before the client can start another transaction.
   */
  private closeOnceAnswered(): void {
    queueMicrotask(() =>
      this.guard('shutdown', () => {
        if (this.hasWorkInFlight || this.attached !== null || !this.isReady) return;
        this.out.flush();
        this.close('shutting down', Errors.shuttingDown());
      }),
    );
  }

  /**
   * What a shutdown lets finish: a request in flight or waiting, frames held, an open
   * transaction (one whose BEGIN Meridian answered included).
   */
  get hasWorkInFlight(): boolean {
    const b = this.st.backend;
    return this.isBusy || this.held.length > 0 || this.deferredBegin !== null || (b !== null && (!b.ops.isEmpty || b.txStatus !== TxStatus.Idle));
  }

  // ---- a lost backend (session-failure.ts decides) ----

  private onBackendLost(b: Backend, reason: string): void {
    this.ctx.reportNodeFailure(b.node, reason);
    const isSessionPooled = this.sessionBackends !== null && this.sessionBackends.get(b.node) === b;
    this.sessionBackends?.delete(b.node);
    const fatal = b.fatalFrame;
    if (!this.isReady) return;
    // Session pooling: the client's session was this server session, busy or idle.
    if (fatal !== null && isSessionPooled) return this.endAsServerDid(b, fatal);
    const st = this.st;
    if (st.backend !== b) return;
    this.flow.forgetBackend(b.socket);
    const req = this.req;
    const syncPoints = b.ops.countSyncPoints() - b.ops.countInternal();
    const commitInFlight = b.ops.hasPendingCommit() && !isCommitSurelyNotRun(b);
    const isUnsent = st.kind === 'waiting' && (st.for === 'sync' || st.for === 'begin') && req.frames.length > 0;
    const action = lostBackendAction({
      hasFatal: fatal !== null,
      isSessionPooled,
      isPinned: this.state.isPinned,
      wasInTx: b.txStatus !== TxStatus.Idle,
      isUnsent,
      hasRetried: req.hasRetried,
      // An autocommit read that received nothing yet, and nothing was sent after it (a request
      // pipelined behind it would be lost: it gets 08006).
      isRetryableRead:
        !req.responseStarted && req.intent === 'read' && this.ctx.cfg().routing.retryReads && req.sent.length > 0 && syncPoints === req.sent.syncPoints(),
      isTerminatedWrite:
        fatal !== null &&
        b.fatalMessage?.startsWith('57P01:') === true &&
        req.isRetryableWrite &&
        this.ctx.cfg().routing.transactionReplay &&
        !req.responseStarted &&
        req.sent.length > 0 &&
        syncPoints === req.sent.syncPoints(),
      syncPoints,
    });
    b.ops.clear();
    const isLostInTx = (action === 'close-in-tx' || (action === 'end-as-server' && !isSessionPooled)) && !isUnsent;
    // A transaction lost with its COMMIT in flight: the server may have committed it or not.
    if (isLostInTx && commitInFlight) {
      this.log.warn({ node: b.node, reason }, 'backend lost after COMMIT was sent: outcome unknown');
      return this.close('backend lost after COMMIT', Errors.commitOutcomeUnknown(b.node, fatal !== null ? (b.fatalMessage ?? reason) : reason));
    }
    // Transaction replay: a transaction lost before its COMMIT was sent (or its replay lost again).
    const rec = this.rec;
    if (rec !== null && !commitInFlight && !this.state.isPinned && (isLostInTx || rec.isCatchingUp)) {
      if (this.replayTransaction(b, fatal !== null ? (b.fatalMessage ?? reason) : reason)) return this.afterAsync();
    }
    switch (action) {
      case 'end-as-server':
        return this.endAsServerDid(b, fatal!);
      case 'close-pinned':
        return this.close('pinned node lost', Errors.pinnedNodeLost(b.node));
      case 'close-in-tx':
        return this.close('backend lost in transaction', Errors.backendLost(b.node, reason));
      case 'retry':
        this.log.info(
          { node: b.node, reason },
          isUnsent
            ? 'request resent: backend lost before it was sent'
            : req.intent === 'write'
              ? 'write sent again: the server ended its backend before it ran'
              : 'read retried on another node',
        );
        this.ctx.metrics.retried('backend-lost');
        if (!this.moveTo(IDLE)) return;
        req.retry('backend-lost');
        this.dispatch();
        break;
      case 'fail':
        // Never sent (lost during Meridian's own query, after the one retry): the server's words
        // were not about this request; it gets 08006.
        if (isUnsent) this.failBatch(Errors.backendLostInRequest(b.node, reason), null);
        else this.failLost(b, reason, fatal, syncPoints);
        break;
    }
    this.afterAsync();
  }

  /**
   * The transaction's backend was lost before COMMIT: its recorded frames go through the session
   * again, ahead of anything the client sent meanwhile, to the node routing picks now, while the
   * recording's tap swallows and compares what they produce (tx-replay.ts). Returns false when it
   * cannot be replayed (too large): the loss is handled as without replay. A replay lost too
   * often closes the session with 08006, the transaction rolled back.
   */
  private replayTransaction(b: Backend, reason: string): boolean {
    const rec = this.rec!;
    const wasReplaying = rec.isCatchingUp;
    const r = rec.beginReplay();
    if (typeof r === 'string') {
      this.ctx.metrics.txReplay('refused');
      this.log.warn({ node: b.node, reason, why: r }, 'backend lost in a transaction: not replayed');
      if (!wasReplaying) return false; // the client sees the loss as without replay
      this.close('transaction replay lost its backend too often', Errors.backendLost(b.node, reason));
      return true;
    }
    this.ctx.metrics.txReplay('started');
    this.log.info({ node: b.node, reason, frames: r.frames.length, received: rec.expectedFrames }, 'backend lost in a transaction: replaying it');
    if (!wasReplaying) this.replayLostNode = b.node;
    const req = this.req;
    req.frames.clear();
    req.reset(TxStatus.Idle);
    this.deferredBegin = null;
    this.portalCls = null;
    this.state.tx.rollback(); // the block is gone with the backend; the replay records its effects again
    // A replay lost again: what it had not fed through yet is dropped, or it would run twice.
    for (let i = 0; i < r.untaken && this.held.length > 0; i++) this.held.shift();
    this.held.prepend(r.codes, r.frames);
    if (this.moveTo(IDLE)) this.needsPump = true;
    return true;
  }

  private onReplayCaughtUp(): void {
    this.ctx.metrics.txReplay('succeeded');
    this.log.info({ lost: this.replayLostNode, node: this.attached?.node }, 'transaction replayed: every result the same, it goes on');
  }

  /** Called from the client writer's tap: the session closes once the current callback returns. */
  private onReplayMismatch(why: string): void {
    this.ctx.metrics.txReplay('mismatched');
    this.log.warn({ lost: this.replayLostNode, node: this.attached?.node, why }, 'transaction replay gave different results: rolled back');
    queueMicrotask(() => this.guard('replay mismatch', () => this.close('transaction replay mismatch', Errors.replayMismatch(this.replayLostNode, why))));
  }

  /** The request in flight on a lost backend gets the server's error (or 08006) and its ReadyForQuery. */
  private failLost(b: Backend, reason: string, fatal: Buffer | null, syncPoints: number): void {
    if (syncPoints > 0) {
      if (fatal !== null)
        this.out.frame(asError(fatal)); // counted in metrics when it arrived
      else {
        const err = Errors.backendLostInRequest(b.node, reason);
        this.ctx.metrics.error(err.sqlstate);
        this.out.frame(errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message }));
      }
      for (let i = 0; i < syncPoints; i++) this.out.frame(readyForQuery(TxStatus.Idle));
    }
    this.req.reset(TxStatus.Idle);
    this.moveTo(IDLE);
  }

  /** Ends the client's connection as the server ended its backend: what was relayed, then the FATAL. */
  private endAsServerDid(b: Backend, fatal: Buffer): void {
    this.log.info({ node: b.node, reason: b.fatalMessage }, "server ended the session's backend: client connection ended");
    this.out.frame(fatal);
    this.out.flush();
    this.close(`server ended the backend (${b.fatalMessage ?? 'FATAL'})`);
  }

  // ---- the admin console ----

  private takeAdminFrame(code: number, buf: Buffer, start: number, end: number): boolean {
    if (code !== FrontendCode.Query) {
      const reply = adminNonQuery(code);
      if (reply !== null) this.out.frame(reply);
      return true;
    }
    if (!this.moveTo(waiting('admin'))) return true;
    adminReply(this.ctx, querySql(buf, start, end), this).then(
      (frames) =>
        this.guard('admin reply', () => {
          if (!this.isWaiting('admin')) return;
          for (const f of frames) this.out.frame(f);
          this.moveTo(IDLE);
          this.afterAsync();
        }),
      (e: unknown) => this.onHandlerError('admin reply', e),
    );
    return true;
  }

  /**
   * After a reload, residency is decided again. A session the new config would refuse at login
   * is closed with that error (28000 / 57M01); one holding a backend on a node its new residency
   * forbids (a transaction, a pin, a session-pooled backend) is closed with 57M01, its transaction
   * rolled back with the backend; any other routes under the new rules from its next request.
   * Returns true when it closed the session.
   */
  refreshRouting(): boolean {
    if (this.isAdmin || !this.isReady) return false;
    const cfg = this.ctx.cfg();
    const i = this.ident;
    const verdict = decideResidency(cfg, {
      user: i.user,
      database: i.database,
      applicationName: i.applicationName,
      tenant: i.tenant,
      clientAddress: i.remoteAddress,
    });
    let err: MeridianError | null = null;
    if (!verdict.ok) err = residencyDenialError(verdict);
    else {
      const held = this.sessionBackends === null ? [] : [...this.sessionBackends.keys()];
      const b = this.attached;
      if (b !== null) held.push(b.node);
      const node = forbiddenHeldNode(verdict.residency, held, (n) => cfg.cluster.nodes.find((x) => x.name === n)?.region);
      if (node !== null && verdict.residency !== null) err = Errors.residencyNarrowed(node, verdict.residency.name);
      else this.routing = sessionRouting(verdict.residency, i.clientRegion);
    }
    if (err === null) {
      this.setUpReplay();
      return false;
    }
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
    this.guard('backend lost', () => this.onBackendLost(b, reason));
  }

  // ---- flow control: each pause reason its own (client-flow.ts) ----

  waitBackendDrain(b: Backend): void {
    this.flow.waitForDrain(b.socket);
  }

  flushAll(): void {
    const b = this.attached;
    if (b !== null && b.out.hasPending && !b.flush()) this.waitBackendDrain(b);
    if (this.out.hasPending && !this.out.flush() && b !== null) b.pause();
    // Replies Meridian made itself (a deferred BEGIN/COMMIT, SET meridian.*, the admin console,
    // errors) for a client that does not read them: stop reading its requests until it drains.
    if (!this.flow.isHeld(PauseReason.ClientBacklog) && this.socket.writableLength > MAX_CLIENT_BACKLOG_BYTES && this.isReady) {
      this.flow.hold(PauseReason.ClientBacklog);
    }
  }

  // ---- cancel and close ----

  /**
   * CancelRequest for this session: cancel whatever its backend runs right now, through the
   * cancel limits (cancel-limits.ts: one in flight per session, a global cap, and sent only if
   * the same request still runs on that backend once the node answers).
   */
  cancelCurrent(): void {
    const b = this.attached;
    if (b === null || b.ops.isEmpty) {
      // Still waiting for a backend (pool queue, write_wait, state sync): the client already
      // sent the request, so cancel it before it reaches a server.
      if (this.st.kind === 'waiting' || this.req.frames.length > 0) this.req.isCancelRequested = true;
      this.ctx.cancels.note('idle');
      return;
    }
    const node = this.ctx.cfg().cluster.nodes.find((n) => n.name === b.node);
    if (node === undefined) return this.ctx.cancels.note('failed');
    this.ctx.cancels.forward(this, b, node.host, node.port);
  }

  /** The single exit. `err` (if any) is sent to the client before closing. */
  close(reason: string, err?: MeridianError): void {
    const held = this.attached;
    if (!this.moveTo(CLOSED)) return;
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
    this.flow.forgetBackend();
    this.lastAttached = null;
    const backends = new Set<Backend>();
    if (held !== null) backends.add(held);
    if (this.sessionBackends !== null) for (const b of this.sessionBackends.values()) backends.add(b);
    for (const b of backends) this.releaseOnClose(b, reason);
    this.held.clear();
    this.req.frames.clear();
    this.req.sent.clear();
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
