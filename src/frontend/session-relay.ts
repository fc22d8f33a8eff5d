// The relay between one session and its attached backend, frame by frame, both directions.
// Client → server: forwarded as spans, except named prepared statements, which are renamed to
// Meridian-global names and prepared lazily on each backend (ParseComplete answered or swallowed
// so the client sees what a direct server sends). Server → client: every frame is matched to the
// op queue (see op-queue.ts) to know which request it answers, whether to forward it, and where a
// synthetic response goes. ReadyForQuery ends a request (the session's endRequest: effects are
// applied, the backend may return to the pool). A refusal that is safe to retry is held back
// (refused-retry.ts decides) and the session sends the request again. Works on the session
// through RelayHost (types.ts) only.

import { isUnavailableCode } from '../backend/connect-failure.js';
import { serialize } from 'pg-protocol';
import type { Backend } from '../backend/backend.js';
import { Op, OpMode } from '../backend/op-queue.js';
import type { Classification } from '../classify/types.js';
import { BackendCode, FrontendCode, TxStatus } from '../protocol/codes.js';
import { CLOSE_COMPLETE, PARSE_COMPLETE } from '../protocol/encode.js';
import { querySql, readBindStatement, readErrorFields, readParse, readTargetName, rewriteBind, rewriteTarget } from '../protocol/messages.js';
import { mayShareBackend } from '../router/may-share-backend.js';
import { serializableReadsNeedMaster } from '../router/reads-need-master.js';
import { mayRetryRefusedRead, mayRetryRefusedWrite } from './refused-retry.js';
import { kindPlugin } from '../cluster/kinds/index.js';
import { isPlanInvalidated, replayStart } from './plan-invalidated.js';
import { statementClassFor } from './request-plan.js';
import type { StatementRecord } from './session-state.js';
import type { RelayHost } from './types.js';

const STATEMENT = 0x53; // 'S' in Describe/Close

/** Queues a synthetic response; emitted at once when nothing is ahead of it. */
function pushSynth(s: RelayHost, b: Backend, kind: Op, frame: Buffer): void {
  if (b.ops.isEmpty) s.out.frame(frame);
  else b.ops.pushSynth(kind, frame);
}

/** Makes sure `rec` is prepared on `b`, injecting a Parse (and an LRU eviction Close) if not. */
function ensurePrepared(s: RelayHost, b: Backend, rec: StatementRecord): void {
  if (b.touchPrepared(rec.globalName)) return;
  const limit = s.ctx.cfg().pool.preparedStatementsPerBackend;
  // Never below one: the statement about to be bound must stay (a limit of 0 acts as 1).
  while (b.prepared.size >= limit && b.prepared.size > 0) {
    const victim = b.oldestPrepared()!;
    b.prepared.delete(victim);
    b.out.frame(closeStatementFrame(victim));
    b.ops.pushPlain(Op.Close, OpMode.Swallow);
  }
  b.out.frame(rec.parseFrame);
  b.ops.pushStatementOp(Op.Parse, OpMode.Swallow, rec.globalName);
  b.prepared.set(rec.globalName, true);
}

/**
 * SQL DEALLOCATE of a protocol-level statement (psycopg < 3.2 past prepared_max, Rails): backends
 * hold only the Meridian-global name, so the server would answer 26000. Create the client's name
 * on this backend first (swallowed) for the DEALLOCATE to drop, so the client sees what it expects.
 */
function ensureDeallocatable(s: RelayHost, b: Backend, cls: Classification): void {
  for (const e of cls.effects) {
    if (e.type !== 'deallocate' || e.name === null || !s.state.stmts.has(e.name) || s.state.sqlStmts.has(e.name)) continue;
    if (b.sqlPrepared.has(e.name)) continue; // another session's stale one is there: the DEALLOCATE drops it
    b.ops.pushInternal(() => {});
    b.out.frame(serialize.query(`PREPARE "${e.name.replace(/"/g, '""')}" AS SELECT 1`));
  }
}

/**
 * SQL-level statements a request EXECUTEs or PREPAREs, in line on `b` before it runs. planSync
 * does it when a request attaches a backend, not for requests on an attached one (a transaction
 * or pin begun elsewhere than the PREPARE). Recorded only on success (not in an aborted tx).
 */
function ensureSqlStatements(s: RelayHost, b: Backend, cls: Classification): void {
  if (cls.effects.length === 0) return; // the common case: nothing to prepare, nothing allocated
  const parts: string[] = [];
  const after = new Map<string, string | undefined>();
  for (const e of cls.effects) {
    const name = e.type === 'execute' || e.type === 'prepare' || (e.type === 'deallocate' && e.name !== null) ? e.name : null;
    if (name === null) continue;
    // As before a request on a new backend (SessionState.planSync): the session's own statement
    // there, another session's gone.
    const before = parts.length;
    s.state.planSqlStatement(b, name, parts);
    if (parts.length > before) after.set(name, s.state.sqlStmts.get(name)?.sql);
  }
  if (parts.length === 0) return;
  b.ops.pushInternal((err) => {
    if (err !== null) return;
    for (const [name, sql] of after) {
      if (sql === undefined) b.sqlPrepared.delete(name);
      else b.sqlPrepared.set(name, sql);
    }
  });
  b.out.frame(serialize.query(parts.join('; ')));
}

function closeStatementFrame(name: string): Buffer {
  const n = Buffer.byteLength(name);
  const f = Buffer.allocUnsafe(1 + 4 + 1 + n + 1);
  f[0] = FrontendCode.Close;
  f.writeInt32BE(4 + 1 + n + 1, 1);
  f[5] = STATEMENT;
  f.write(name, 6, 'utf8');
  f[6 + n] = 0;
  return f;
}

const SYNC = Buffer.from([FrontendCode.Sync, 0, 0, 0, 4]);

/**
 * While attached outside a transaction (a request still in flight), a new request may share the
 * backend only if the router says that node may serve it now (router/may-share-backend.ts).
 * Leaves the frame's classification in req.pendingCls for forwardClientFrame.
 */
export function acceptsOnAttached(s: RelayHost, b: Backend, code: number, buf: Buffer, start: number, end: number): boolean {
  const req = s.req;
  req.pendingCls = null;
  if (code !== FrontendCode.Query && code !== FrontendCode.Parse && code !== FrontendCode.Bind) return true;
  const cls =
    code === FrontendCode.Query
      ? s.ctx.classify(querySql(buf, start, end))
      : code === FrontendCode.Parse
        ? s.ctx.classify(readParse(buf, start, end).sql)
        : statementClassFor(s.state, readBindStatement(buf, start, end).name);
  req.pendingCls = cls;
  if (b.txStatus !== TxStatus.Idle || s.state.isPinned || cls === null) return true;
  const isWrite = cls.isWrite || (s.state.defaultsToSerializable && serializableReadsNeedMaster(s.ctx.cfg().cluster.kind));
  return mayShareBackend(s.ctx.snapshot().byName.get(b.node), b.node, isWrite, cls.hint, s.allowedRegions);
}

/**
 * A request that ended with Flush, not Sync (asyncpg prepares with Parse/Describe/Flush, then
 * sends a Query), gets no ReadyForQuery to release its backend; a frame held for another node
 * would wait forever. Sync it ourselves (swallowed) so the backend is released and the held
 * frames route anew. Only reads get here (a master accepts everything), so ending the implicit
 * transaction early changes nothing the client can see.
 */
export function syncToRelease(s: RelayHost, b: Backend): void {
  if (b.txStatus !== TxStatus.Idle || s.state.isPinned || b.ops.countSyncPoints() > 0) return;
  b.ops.pushInternal(() => {
    s.detachIfIdle(b);
    s.requestPump();
  });
  b.out.frame(SYNC);
  if (!b.flush()) s.waitBackendDrain(b);
}

export function forwardClientFrame(s: RelayHost, b: Backend, code: number, buf: Buffer, start: number, end: number): void {
  switch (code) {
    case FrontendCode.Query: {
      const cls = s.req.pendingCls ?? s.ctx.classify(querySql(buf, start, end));
      if (cls.resetsBackend) b.needsReset = true; // DO / CALL / user function: reset before another session
      ensureDeallocatable(s, b, cls);
      ensureSqlStatements(s, b, cls);
      b.ops.pushQuery(cls);
      b.out.span(buf, start, end);
      return;
    }
    case FrontendCode.Parse: {
      const p = readParse(buf, start, end);
      const cls = s.req.pendingCls ?? s.ctx.classify(p.sql);
      if (p.name === '') {
        ensureDeallocatable(s, b, cls);
        ensureSqlStatements(s, b, cls);
        b.unnamedKey = s.state.registerUnnamed(buf, start, end, cls);
        b.ops.pushPlain(Op.Parse, OpMode.Forward);
        b.out.span(buf, start, end);
        return;
      }
      const rec = s.state.registerStatement(p.name, buf, start, end, p.nameEnd, cls);
      if (b.touchPrepared(rec.globalName)) {
        pushSynth(s, b, Op.Parse, PARSE_COMPLETE); // already on this backend: answer ourselves
        return;
      }
      ensurePrepared(s, b, rec);
      // ensurePrepared queued a swallowed Parse; the client expects a ParseComplete for its own.
      b.ops.pushSynth(Op.Parse, PARSE_COMPLETE);
      return;
    }
    case FrontendCode.Bind: {
      const { name } = readBindStatement(buf, start, end);
      if (name === '') {
        ensureUnnamed(s, b);
        s.portalCls = s.state.unnamed?.cls ?? null;
        b.ops.pushPlain(Op.Bind, OpMode.Forward);
        b.out.span(buf, start, end);
        return;
      }
      const rec = s.state.stmts.get(name);
      if (rec === undefined) {
        s.portalCls = null;
        b.ops.pushPlain(Op.Bind, OpMode.Forward); // the server reports the unknown statement
        b.out.span(buf, start, end);
        return;
      }
      ensurePrepared(s, b, rec);
      s.portalCls = rec.cls;
      s.req.boundShared = true;
      b.ops.pushStatementOp(Op.Bind, OpMode.Forward, rec.globalName); // the name: a stale plan is prepared again (plan-invalidated.ts)
      b.out.frame(rewriteBind(buf, start, end, rec.globalName));
      return;
    }
    case FrontendCode.Describe: {
      const t = readTargetName(buf, start, end);
      const rec = t.kind === STATEMENT && t.name !== '' ? s.state.stmts.get(t.name) : undefined;
      if (rec !== undefined) {
        ensurePrepared(s, b, rec);
        b.ops.pushStatementOp(Op.Describe, OpMode.Forward, rec.globalName);
        b.out.frame(rewriteTarget(buf, start, end, rec.globalName));
        return;
      }
      if (t.kind === STATEMENT) ensureUnnamed(s, b);
      b.ops.pushPlain(Op.Describe, OpMode.Forward);
      b.out.span(buf, start, end);
      return;
    }
    case FrontendCode.Execute:
      if (s.portalCls?.resetsBackend === true) b.needsReset = true;
      b.ops.pushExecute(s.portalCls);
      b.out.span(buf, start, end);
      return;
    case FrontendCode.Close: {
      const t = readTargetName(buf, start, end);
      if (t.kind === STATEMENT && t.name !== '') {
        // Meridian-global statements stay on the backends (others may share them); the
        // client's name is forgotten, and the CloseComplete is ours.
        s.state.stmts.delete(t.name);
        pushSynth(s, b, Op.Close, CLOSE_COMPLETE);
        return;
      }
      b.ops.pushPlain(Op.Close, OpMode.Forward);
      b.out.span(buf, start, end);
      return;
    }
    case FrontendCode.Sync:
      b.ops.pushPlain(Op.Sync, OpMode.Forward);
      b.out.span(buf, start, end);
      return;
    case FrontendCode.FunctionCall:
      b.ops.pushPlain(Op.FunctionCall, OpMode.Forward);
      b.out.span(buf, start, end);
      return;
    default:
      // Flush, CopyData, CopyDone, CopyFail: no response of their own.
      b.out.span(buf, start, end);
  }
}

/** Re-parses the session's unnamed statement on `b` if it was parsed on another backend. */
function ensureUnnamed(s: RelayHost, b: Backend): void {
  const un = s.state.unnamed;
  if (un === null || b.unnamedKey === un.key) return;
  b.out.frame(un.parseFrame);
  b.ops.pushPlain(Op.Parse, OpMode.Swallow);
  b.unnamedKey = un.key;
}

/** After an op completes: emit the synthetic responses now at the head of the queue. */
function popAndEmitSynth(s: RelayHost, b: Backend): void {
  b.ops.shift();
  while (b.ops.headKind() !== 0 && b.ops.headMode() === OpMode.Synth) {
    s.out.frame(b.ops.headFrame()!);
    b.ops.shift();
  }
}

/** Forward unless the op at the head is Meridian's own. */
function relay(s: RelayHost, b: Backend, buf: Buffer, start: number, end: number): void {
  if (b.ops.headKind() === Op.Internal || b.ops.headMode() === OpMode.Swallow) return;
  s.req.responseStarted = true;
  s.out.span(buf, start, end);
}

export function handleServerFrame(s: RelayHost, b: Backend, code: number, buf: Buffer, start: number, end: number): void {
  const head = b.ops.headKind();
  switch (code) {
    case BackendCode.DataRow:
    case BackendCode.CopyData:
      relay(s, b, buf, start, end);
      return;
    case BackendCode.ReadyForQuery:
      return onReady(s, b, buf, start, end);
    case BackendCode.CommandComplete:
      if (head === Op.Internal) return;
      if (head === Op.Query) s.req.statementsDone++; // where a failed multi-statement Query stopped
      relay(s, b, buf, start, end);
      if (head === Op.Execute) {
        const cls = b.ops.headCls();
        if (cls !== null && cls.effects.length > 0) s.req.doneEffects.push(cls);
        popAndEmitSynth(s, b);
      }
      return;
    case BackendCode.EmptyQueryResponse:
    case BackendCode.PortalSuspended:
      relay(s, b, buf, start, end);
      if (head === Op.Execute) popAndEmitSynth(s, b);
      return;
    case BackendCode.ParseComplete:
    case BackendCode.BindComplete:
    case BackendCode.CloseComplete:
      relay(s, b, buf, start, end);
      popAndEmitSynth(s, b);
      return;
    case BackendCode.RowDescription:
    case BackendCode.NoData:
      relay(s, b, buf, start, end);
      if (head === Op.Describe) popAndEmitSynth(s, b);
      return;
    case BackendCode.ErrorResponse:
      return onError(s, b, head, buf, start, end);
    case BackendCode.ParameterStatus:
      if (head !== Op.Internal) relay(s, b, buf, start, end);
      return;
    default:
      // NoticeResponse, NotificationResponse, ParameterDescription, Copy*Response, CopyDone,
      // FunctionCallResponse: part of the current op's answer (or asynchronous).
      if (head === Op.Internal) return;
      s.out.span(buf, start, end);
      // A notice or a notification is not the answer: a read whose backend is lost after one may
      // still be sent again. An immediate shutdown or a crash restart warns every backend's client
      // ("terminating connection because of …", a WARNING) just before closing it.
      if (code !== BackendCode.NoticeResponse && code !== BackendCode.NotificationResponse) s.req.responseStarted = true;
  }
}

function onError(s: RelayHost, b: Backend, head: number, buf: Buffer, start: number, end: number): void {
  const e = readErrorFields(buf, start, end);
  s.ctx.metrics.error(e.code);
  if (isUnavailableCode(e.code)) s.ctx.reportNodeFailure(b.node, `server said ${e.code}: ${e.message}`);
  if (e.severity === 'FATAL' || e.severity === 'PANIC') {
    // The server is about to close this connection. Kept, as sent, until the socket closes:
    // what the client then sees of it depends on the pooling mode (session-failure.ts).
    b.fatalMessage = `${e.code}: ${e.message}`;
    b.fatalFrame = Buffer.from(buf.subarray(start, end));
    return;
  }
  const req = s.req;
  if (head === Op.Internal) {
    req.syncError = e.message;
    return;
  }
  if (e.code === '25006' && req.intent === 'write') {
    // A node routed a write as a master refused it as read-only: its role may have changed
    // since the last probe. Check now, so the next writes go elsewhere; maybe retry this one.
    if (mayRetryRefusedWrite(s, b)) {
      req.refusal = Buffer.from(buf.subarray(start, end)); // held back until its ReadyForQuery
      if (req.responseStarted) s.out.discard(); // ParseComplete, BindComplete …, all still unsent
      return skipToSync(b, head);
    }
    void s.ctx.recheckNode(b.node);
  }
  if (req.intent === 'read' && kindPlugin(s.ctx.cfg().cluster.kind).standbyRefusals.has(e.code) && mayRetryRefusedRead(s, b)) {
    // A hot standby cannot serve this read (an unlogged table, pg_current_wal_lsn(), a function
    // that writes …): run it on a master instead.
    req.refusal = Buffer.from(buf.subarray(start, end));
    req.isRefusedRead = true;
    if (req.responseStarted) s.out.discard(); // a RowDescription, ParseComplete …, all still unsent
    return skipToSync(b, head);
  }
  if ((head === Op.Bind || head === Op.Describe) && isPlanInvalidated(e.code, e.message) && holdForReplan(s, b, buf, start, end)) {
    return skipToSync(b, head);
  }
  req.isFailed = true;
  req.responseStarted = true;
  s.out.span(buf, start, end); // errors reach the client even for Meridian's swallowed messages
  skipToSync(b, head);
}

/**
 * A shared statement's plan went stale (plan-invalidated.ts): the refusal is held back until its
 * ReadyForQuery, to prepare the statement again and replay, when this is the request's first
 * use of a statement, outside a transaction, once, with nothing pipelined behind it.
 */
function holdForReplan(s: RelayHost, b: Backend, buf: Buffer, start: number, end: number): boolean {
  const global = b.ops.headStatement();
  const req = s.req;
  if (global === null || req.hasRetried || req.wasInTx || b.txStatus !== TxStatus.Idle || req.refusal !== null) return false;
  if (req.sent.length === 0 || req.sent.syncPoints() !== 1 || b.ops.countSyncPoints() !== 1) return false;
  const from = replayStart(req.sent, global, (name) => s.state.stmts.get(name)?.globalName);
  if (from < 0) return false;
  req.replan = { global, from, error: Buffer.from(buf.subarray(start, end)) };
  return true;
}

/** Prepares the stale statement again under its name on `b` and sends the request from the refused message on. */
function replan(s: RelayHost, b: Backend, global: string, from: number): void {
  s.req.hasRetried = true;
  s.log.info({ node: b.node, statement: global }, "prepared statement's plan changed result type: prepared again, request replayed");
  b.prepared.delete(global);
  b.out.frame(closeStatementFrame(global));
  b.ops.pushPlain(Op.Close, OpMode.Swallow);
  const list = s.req.sent;
  for (let i = list.head + from; i < list.tail; i++) {
    s.req.pendingCls = null;
    forwardClientFrame(s, b, list.codes[i]!, list.bufs[i]!, list.starts[i]!, list.ends[i]!);
  }
  if (!b.flush()) s.waitBackendDrain(b);
}

/** After an error the server skips the extended protocol's messages up to the next Sync. */
function skipToSync(b: Backend, head: number): void {
  if (head === Op.Query || head === Op.Sync || head === Op.FunctionCall || head === 0) return; // ReadyForQuery follows
  if (head === Op.Parse) {
    const g = b.ops.headStatement();
    if (g !== null) b.prepared.delete(g);
  }
  while (b.ops.headKind() !== 0 && b.ops.headKind() !== Op.Sync) {
    const g = b.ops.headKind() === Op.Parse ? b.ops.headStatement() : null;
    if (g !== null) b.prepared.delete(g);
    b.ops.shift();
  }
}

/**
 * ReadyForQuery: the end of Meridian's own query (its callback runs), of a refused request to
 * replay or retry (held back so far), or of a client-visible request (the session's endRequest).
 */
function onReady(s: RelayHost, b: Backend, buf: Buffer, start: number, end: number): void {
  const status = buf[start + 5]!;
  b.txStatus = status;
  const head = b.ops.headKind();
  const req = s.req;
  if (head === Op.Internal) {
    const cb = b.ops.headInternal()!;
    const err = req.syncError;
    req.syncError = null;
    popAndEmitSynth(s, b);
    cb(err);
    return;
  }
  if (req.replan !== null) {
    const r = req.replan;
    req.replan = null;
    if (b.ops.size === 1 && status === TxStatus.Idle) {
      b.ops.shift(); // its ReadyForQuery is the replay's to send
      return replan(s, b, r.global, r.from);
    }
    req.isFailed = true; // the client sent more meanwhile: the refusal goes out after all
    req.responseStarted = true;
    s.out.frame(r.error);
  }
  if (req.refusal !== null) {
    const refusal = req.refusal;
    req.refusal = null;
    const isRead = req.isRefusedRead;
    req.isRefusedRead = false;
    if (b.ops.size === 1 && status === TxStatus.Idle) {
      popAndEmitSynth(s, b);
      s.retryRefused(b, isRead);
      return;
    }
    // The client sent more after it meanwhile: no retry, the error goes out after all.
    req.isFailed = true;
    req.responseStarted = true;
    s.out.frame(refusal);
    if (!isRead) void s.ctx.recheckNode(b.node);
  }
  let query: Classification | null = null;
  if (head === Op.Query) {
    query = b.ops.headCls();
    if (query !== null && query.effects.length > 0) req.doneEffects.push(query);
  }
  if (status === TxStatus.Idle && req.intent === 'write') s.writeAcknowledged(b);
  s.out.span(buf, start, end);
  popAndEmitSynth(s, b);
  s.endRequest(b, status, query);
}
