// Backends for one (node, user, database): an idle stack, a count of everything open, and a
// FIFO of sessions waiting for a backend (bounded by pool.queue_timeout, swept by the janitor,
// never a timer per wait). Owns backend lifetimes: only the pool opens and closes them, and it
// resets a backend (backend-reset.ts) before another session may see what the last one left.
// In session pooling a backend is opened with its session's startup settings (backend-startup.ts)
// and goes only to a session with the same ones; a backend of other settings is closed to make
// room rather than changed.

import { Backend } from './backend.js';
import { BackendReset, DISCARD_ALL, isDiscardAll } from './backend-reset.js';
import { NO_STARTUP, startupBooks, type BackendStartup } from './backend-startup.js';
import { ConnectError, connectServer, type ConnectedServer, type ConnectOptions } from './server-connect.js';

export type AcquireCallback = (err: ConnectError | PoolTimeoutError | RouteAgainError | PoolClosedError | null, backend: Backend | null) => void;

/** Opens one logged-in server connection (connectServer; unit tests pass in-memory connections). Rejects with a ConnectError. */
export type ServerConnector = (opts: ConnectOptions) => Promise<ConnectedServer>;

export class PoolTimeoutError extends Error {}

/**
 * The pool cannot serve at all (its user was removed by a reload, or the pool limit is reached).
 * `serverError` makes callers answer with its SQLSTATE, as for a node's own refusal; nothing
 * was sent to a node, so it is no health signal.
 */
export class PoolClosedError extends Error {
  readonly serverError: { readonly severity: string; readonly code: string; readonly message: string };
  constructor(sqlstate: string, message: string) {
    super(message);
    this.serverError = { severity: 'ERROR', code: sqlstate, message };
  }
}

/** After a failed min_idle connect, the pool waits this long before opening more by itself. */
const FILL_RETRY_MS = 10_000;

/** No backend was handed out and nothing was sent: the session routes the request again. */
export class RouteAgainError extends Error {}

/** The node started draining before a backend could be handed out: nothing was sent, route again. */
export class NodeDrainingError extends RouteAgainError {}

/** The node went down (probes or live traffic) while the session waited in its queue: route again. */
export class NodeDownError extends RouteAgainError {}

/**
 * A connect in progress and whom it is for. `cb` becomes null when the node went down meanwhile:
 * the caller was sent to route again, and the connection, if it ever completes, is closed.
 */
interface Opening {
  cb: AcquireCallback | null;
}

interface Waiter {
  cb: AcquireCallback;
  deadlineMs: number;
  sessionId: number;
  startup: BackendStartup | null;
}

export interface PoolHooks {
  /** A connect attempt failed (passive health: refused/reset → evict). */
  onConnectError(node: string, err: ConnectError): void;
  onBackendClosed(b: Backend, reason: string): void;
  onBackendOpened(b: Backend): void;
  /** A pool that never opened a backend has none left after a failed connect (e.g. no such database). */
  onNeverConnected?(pool: Pool): void;
  nowMs(): number;
  /** pool.reset_query, or null when unset (session pooling resets with DISCARD ALL then). */
  resetQuery(): string | null;
  /** pool.mode is session: a release is the end of a session, which the backend's reset ends. */
  isSessionMode(): boolean;
  /** How long a reset may take before the backend is closed instead. */
  resetTimeoutMs(): number;
}

export class Pool {
  readonly node: string;
  readonly user: string;
  readonly database: string;
  maxSize: number;
  private readonly idle: Backend[] = [];
  private readonly waiters: Waiter[] = [];
  /** Connects in progress (counted in `connecting`). */
  private readonly openings = new Set<Opening>();
  /** Open + connecting backends. */
  total = 0;
  connecting = 0;
  /** The node was removed from the config: sessions look the pool up again. */
  isRemoved = false;
  /** While draining: no new backends, idle ones close, released ones close. */
  isDraining = false;
  /** pool.min_idle opens nothing before this time (after a failed connect). */
  private fillPausedUntilMs = 0;
  /** A backend was ever opened here (a pool that never connected is dropped when it empties). */
  hasConnected = false;
  /** Bumped when the user's backend credentials change: older backends close when they come back. */
  generation = 0;
  /** When the pool last had no backend and no waiter (0: it has some); the janitor drops old empty pools. */
  emptySinceMs: number;
  /** Backends being reset between sessions (neither idle nor handed out). */
  private readonly resets = new Set<BackendReset>();
  /** Why connects fail at once (user removed by reload), or null. */
  private closedError: PoolClosedError | null = null;
  private readonly connectOpts: () => ConnectOptions | null;
  private readonly hooks: PoolHooks;
  private readonly connect: ServerConnector;

  constructor(
    node: string,
    user: string,
    database: string,
    maxSize: number,
    connectOpts: () => ConnectOptions | null,
    hooks: PoolHooks,
    connect: ServerConnector = connectServer,
  ) {
    this.node = node;
    this.user = user;
    this.database = database;
    this.maxSize = maxSize;
    this.connectOpts = connectOpts;
    this.hooks = hooks;
    this.connect = connect;
    this.emptySinceMs = hooks.nowMs();
  }

  get resettingCount(): number {
    return this.resets.size;
  }

  /** Empty: nothing open, connecting, resetting or waiting. */
  get isEmpty(): boolean {
    return this.total === 0 && this.waiters.length === 0;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get activeCount(): number {
    return this.total - this.idle.length - this.connecting;
  }

  get waitingCount(): number {
    return this.waiters.length;
  }

  /**
   * An idle backend right now, or null (the caller then uses acquire()). `sessionId` is the
   * session it goes to (0: a caller that runs no SQL of a client, e.g. reading server params): with
   * pool.reset_query in transaction pooling, a backend another session used last is not handed
   * out here, since it must be reset first (acquire does that). `startup` (session pooling): only
   * a backend opened with these startup settings will do.
   */
  tryAcquire(sessionId = 0, startup: BackendStartup | null = null): Backend | null {
    const mustMatch = sessionId !== 0 && this.needsHandOverReset();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const b = this.idle[i]!;
      if (b.isClosed) {
        this.idle.splice(i, 1);
        continue;
      }
      if (mustMatch && b.lastSessionId !== 0 && b.lastSessionId !== sessionId) continue;
      if (startup !== null && b.startup.key !== startup.key) continue;
      this.idle.splice(i, 1);
      if (sessionId !== 0) b.lastSessionId = sessionId;
      return b;
    }
    return null;
  }

  /** Calls back with a backend: idle, newly opened, or released by another session in time. */
  acquire(timeoutMs: number, cb: AcquireCallback, sessionId = 0, startup: BackendStartup | null = null): void {
    if (this.closedError !== null) return cb(this.closedError, null);
    const b = this.tryAcquire(sessionId, startup);
    if (b !== null) return cb(null, b);
    if (this.isDraining) return cb(new NodeDrainingError(`node "${this.node}" is draining`), null);
    // Idle ones that another session used last (tryAcquire passed them over): reset one for this session.
    const other = sessionId !== 0 && startup === null ? this.idle.pop() : undefined;
    if (other !== undefined) {
      this.reset(other, this.hooks.resetQuery() ?? DISCARD_ALL, (ok) => {
        if (!ok) return this.acquire(timeoutMs, (e, got) => this.callBack(cb, e, got), sessionId); // it closed: try again
        other.lastSessionId = sessionId;
        this.callBack(cb, null, other); // called from the backend's socket data: must not throw
      });
      return;
    }
    // Full, with idle backends of other startup settings only: the least recently used makes room.
    if (this.total >= this.maxSize && startup !== null && this.idle.length > 0) this.idle[0]!.close('replaced by one of other startup settings');
    if (this.total < this.maxSize) {
      this.open(cb, sessionId, startup);
      return;
    }
    this.waiters.push({ cb, deadlineMs: this.hooks.nowMs() + timeoutMs, sessionId, startup });
  }

  /** pool.reset_query is set and backends change hands per transaction: reset at hand-over. */
  private needsHandOverReset(): boolean {
    return this.hooks.resetQuery() !== null && !this.hooks.isSessionMode();
  }

  /** Starts a connect; false (and `cb` called with the reason) when there is nothing to connect with. */
  private open(cb: AcquireCallback, sessionId = 0, startup: BackendStartup | null = null): boolean {
    const base = this.closedError === null ? this.connectOpts() : null;
    const withStartup = startup ?? NO_STARTUP;
    // The client's settings first: Meridian's own parameters (if any) are not for it to change.
    const opts =
      base === null || withStartup.params.size === 0 ? base : { ...base, params: { ...Object.fromEntries(withStartup.params), ...(base.params ?? {}) } };
    if (opts === null) {
      // The user (or node) is gone from the config.
      this.callBack(cb, this.closedError ?? new PoolClosedError('08001', `no configuration for user "${this.user}" on node "${this.node}"`), null);
      return false;
    }
    this.total++;
    this.connecting++;
    this.emptySinceMs = 0;
    const generation = this.generation;
    const opening: Opening = { cb };
    this.openings.add(opening);
    this.connect(opts).then(
      (conn) => {
        this.connecting--;
        this.openings.delete(opening);
        const b = new Backend(this.node, this.user, this.database, conn, this.hooks.nowMs());
        b.onLost = (lostB, reason) => this.onClosed(lostB, reason);
        b.pool = this;
        b.generation = generation;
        b.startup = withStartup;
        startupBooks(withStartup, b.settings);
        b.lastSessionId = sessionId; // 0 for a fresh one: nothing to reset
        this.hasConnected = true;
        this.hooks.onBackendOpened(b);
        if (opening.cb === null) b.close('node went down while it was connecting');
        else this.callBack(opening.cb, null, b);
      },
      (err: ConnectError) => {
        this.connecting--;
        this.total--;
        this.openings.delete(opening);
        this.hooks.onConnectError(this.node, err);
        if (opening.cb !== null) this.callBack(opening.cb, err, null);
        // The slot is free again: let the next waiter try (it will likely fail fast too).
        this.serveWaiter();
        this.noteIfEmpty();
        if (!this.hasConnected && this.isEmpty) this.hooks.onNeverConnected?.(this);
      },
    );
    return true;
  }

  /** A callback that throws is a bug in its caller; inside a promise it must not become an unhandled rejection. */
  private callBack(cb: AcquireCallback, err: Parameters<AcquireCallback>[0], b: Backend | null): void {
    try {
      cb(err, b);
    } catch (e) {
      b?.close(`internal error: ${(e as Error).message}`);
    }
  }

  /** Returns a backend. Clean ones are reused (after a reset when one is due); anything else is closed. */
  release(b: Backend): void {
    b.owner = null;
    if (b.isClosed) return;
    if (!b.isClean || this.isDraining) {
      b.close(this.isDraining ? 'node draining' : 'released dirty');
      return;
    }
    if (b.generation !== this.generation) {
      b.close('backend credentials changed by reload');
      return;
    }
    const resetQuery = this.hooks.resetQuery();
    // A request ran whose effect on session state is unknown (DO, CALL, a volatile user
    // function), or a session ended under session pooling: the next client must not see what
    // this one left (settings, prepared statements, temp tables…), as PgBouncer's
    // server_reset_query (DISCARD ALL unless pool.reset_query says otherwise).
    if (b.needsReset || this.hooks.isSessionMode()) {
      this.reset(b, resetQuery ?? DISCARD_ALL, (ok) => {
        if (ok) this.putBack(b);
      });
      return;
    }
    this.putBack(b);
  }

  /** A clean backend goes to the first waiter, else onto the idle stack. */
  private putBack(b: Backend): void {
    b.lastUsedAtMs = this.hooks.nowMs();
    const w = this.waiters.shift();
    if (w !== undefined) {
      if (w.startup !== null && w.startup.key !== b.startup.key) {
        // Opened for other startup settings: closed, and the freed slot opens one for the waiter.
        this.waiters.unshift(w);
        b.close('replaced by one of other startup settings');
        return;
      }
      if (w.sessionId !== 0 && this.needsHandOverReset() && b.lastSessionId !== 0 && b.lastSessionId !== w.sessionId) {
        this.waiters.unshift(w);
        this.reset(b, this.hooks.resetQuery() ?? DISCARD_ALL, (ok) => {
          if (ok) this.putBack(b);
        });
        return;
      }
      if (w.sessionId !== 0) b.lastSessionId = w.sessionId;
      this.callBack(w.cb, null, b);
      return;
    }
    this.idle.push(b);
  }

  /**
   * Resets `b` with `sql`; `then(true)` when it is clean and Meridian's books of it are cleared,
   * `then(false)` when it failed (the backend is closed then). Never throws.
   */
  private reset(b: Backend, sql: string, then: (ok: boolean) => void): void {
    const r = new BackendReset(b, sql, this.hooks.nowMs() + this.hooks.resetTimeoutMs(), (err) => {
      this.resets.delete(r);
      if (err !== null || b.isClosed) {
        b.close(`reset failed: ${err ?? b.closeReason ?? 'closed'}`);
        then(false);
        return;
      }
      // DISCARD ALL dropped every prepared statement and setting: forget what we knew of them.
      b.forgetSessionState();
      b.needsReset = false;
      // Another reset query may leave settings Meridian cannot know: the next sync resets them all.
      b.isStateUncertain = !isDiscardAll(sql);
      b.lastSessionId = 0;
      then(true);
    });
    this.resets.add(r);
  }

  private onClosed(b: Backend, reason: string): void {
    this.total--;
    const i = this.idle.indexOf(b);
    if (i >= 0) this.idle.splice(i, 1);
    this.hooks.onBackendClosed(b, reason);
    this.serveWaiter();
    this.noteIfEmpty();
  }

  private noteIfEmpty(): void {
    if (this.isEmpty && this.emptySinceMs === 0) this.emptySinceMs = this.hooks.nowMs();
  }

  private serveWaiter(): void {
    if (this.waiters.length === 0 || this.isDraining) return;
    if (this.total < this.maxSize) {
      const w = this.waiters.shift()!;
      this.open(w.cb, w.sessionId, w.startup);
    }
  }

  /**
   * Janitor tick: expire waiters, close idle backends past max lifetime, and past idle timeout
   * while more than `minIdle` are idle (the least recently used go first).
   */
  sweep(nowMs: number, idleTimeoutMs: number, maxLifetimeMs: number, queueTimeoutMs: number, minIdle = 0): void {
    // Every waiter, not only the head: after a reload changed pool.queue_timeout the deadlines are
    // not in queue order. One pass; the waiters that stay keep their order.
    let expired: Waiter[] | null = null;
    let kept = 0;
    for (const w of this.waiters) {
      if (w.deadlineMs > nowMs) this.waiters[kept++] = w;
      else (expired ??= []).push(w);
    }
    this.waiters.length = kept;
    for (const w of expired ?? []) this.callBack(w.cb, new PoolTimeoutError(`timed out after ${queueTimeoutMs} ms waiting for a server connection`), null);
    for (const r of this.resets) if (r.deadlineMs <= nowMs) r.fail('reset timed out');
    this.noteIfEmpty();
    // idle is a stack: index 0 was used least recently. Closing removes it (onClosed), so walk a copy.
    let idleLeft = this.idle.length;
    for (const b of this.idle.slice()) {
      if (nowMs - b.createdAtMs > maxLifetimeMs) {
        b.close('max lifetime');
        idleLeft--;
      } else if (nowMs - b.lastUsedAtMs > idleTimeoutMs && idleLeft > minIdle) {
        b.close('idle timeout');
        idleLeft--;
      }
    }
  }

  /**
   * Janitor tick (pool.min_idle): opens backends until `minIdle` are idle or being opened, never
   * past the pool size, and not while draining. A new backend goes to a waiter if one is queued.
   * Returns how many connects were started.
   */
  fill(minIdle: number, nowMs: number): number {
    if (this.isDraining || this.isRemoved || this.closedError !== null || nowMs < this.fillPausedUntilMs) return 0;
    let started = 0;
    while (this.idle.length + this.connecting < minIdle && this.total < this.maxSize) {
      const isStarted = this.open((err, b) => {
        if (b !== null) this.release(b);
        // A node that refuses us (auth, too many connections) is not retried every second.
        else if (err !== null) this.fillPausedUntilMs = this.hooks.nowMs() + FILL_RETRY_MS;
      });
      if (!isStarted) break;
      started++;
    }
    return started;
  }

  /** Closes every idle backend (drain, shutdown, node removed). */
  closeIdle(reason: string): void {
    for (const b of this.idle.splice(0)) b.close(reason);
  }

  /** Fails every waiter (node removed / drained / down). */
  failWaiters(err: RouteAgainError | PoolClosedError): void {
    for (const w of this.waiters.splice(0)) this.callBack(w.cb, err, null);
  }

  /**
   * The node went down: whoever waits for a connect in progress is sent to route again now, not
   * when the connect gives up (a hung node accepts TCP and never answers the startup, so that
   * would be pool.connect_timeout). The connects go on; one that completes is closed.
   */
  abandonConnects(err: RouteAgainError): void {
    for (const o of this.openings) {
      const cb = o.cb;
      if (cb === null) continue;
      o.cb = null;
      this.callBack(cb, err, null);
    }
  }

  /**
   * The pool will not serve again (its user was removed by a reload): every waiter and every later
   * acquire gets `err`, idle backends close now, busy ones when they come back.
   */
  shutDown(err: PoolClosedError, reason: string): void {
    this.closedError = err;
    this.isRemoved = true;
    this.isDraining = true;
    this.closeIdle(reason);
    for (const r of [...this.resets]) r.fail(reason);
    this.failWaiters(err);
  }

  /** Backend credentials changed: idle backends close now, busy ones when they come back. */
  recycle(reason: string): void {
    this.generation++;
    this.closeIdle(reason);
  }
}
