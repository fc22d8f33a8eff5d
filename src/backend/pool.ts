// Backends for one (node, user, database): an idle stack, a count of everything open, and a
// FIFO of sessions waiting for a backend (bounded by pool.queue_timeout, swept by the janitor,
// never a timer per wait). Owns backend lifetimes: only the pool opens and closes them.

import { Backend } from './backend.js';
import { ConnectError, connectServer, type ConnectOptions } from './server-connect.js';

export type AcquireCallback = (err: ConnectError | PoolTimeoutError | NodeDrainingError | null, backend: Backend | null) => void;

export class PoolTimeoutError extends Error {}

/** After a failed min_idle connect, the pool waits this long before opening more by itself. */
const FILL_RETRY_MS = 10_000;

/** The node started draining before a backend could be handed out: nothing was sent, route again. */
export class NodeDrainingError extends Error {}

interface Waiter {
  cb: AcquireCallback;
  deadlineMs: number;
}

export interface PoolHooks {
  /** A connect attempt failed (passive health: refused/reset → evict). */
  onConnectError(node: string, err: ConnectError): void;
  onBackendClosed(b: Backend, reason: string): void;
  onBackendOpened(b: Backend): void;
  nowMs(): number;
}

export class Pool {
  readonly node: string;
  readonly user: string;
  readonly database: string;
  maxSize: number;
  private readonly idle: Backend[] = [];
  private readonly waiters: Waiter[] = [];
  /** Open + connecting backends. */
  total = 0;
  connecting = 0;
  /** The node was removed from the config: sessions look the pool up again. */
  isRemoved = false;
  /** While draining: no new backends, idle ones close, released ones close. */
  isDraining = false;
  /** pool.min_idle opens nothing before this time (after a failed connect). */
  private fillPausedUntilMs = 0;
  private readonly connectOpts: () => ConnectOptions;
  private readonly hooks: PoolHooks;

  constructor(node: string, user: string, database: string, maxSize: number, connectOpts: () => ConnectOptions, hooks: PoolHooks) {
    this.node = node;
    this.user = user;
    this.database = database;
    this.maxSize = maxSize;
    this.connectOpts = connectOpts;
    this.hooks = hooks;
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

  /** An idle backend right now, or null (the caller then uses acquire()). */
  tryAcquire(): Backend | null {
    while (this.idle.length > 0) {
      const b = this.idle.pop()!;
      if (!b.isClosed) return b;
    }
    return null;
  }

  /** Calls back with a backend: idle, newly opened, or released by another session in time. */
  acquire(timeoutMs: number, cb: AcquireCallback): void {
    const b = this.tryAcquire();
    if (b !== null) return cb(null, b);
    if (this.isDraining) return cb(new NodeDrainingError(`node "${this.node}" is draining`), null);
    if (this.total < this.maxSize) {
      this.open(cb);
      return;
    }
    this.waiters.push({ cb, deadlineMs: this.hooks.nowMs() + timeoutMs });
  }

  private open(cb: AcquireCallback): void {
    this.total++;
    this.connecting++;
    connectServer(this.connectOpts()).then(
      (conn) => {
        this.connecting--;
        const b = new Backend(this.node, this.user, this.database, conn, this.hooks.nowMs());
        b.onLost = (lostB, reason) => this.onClosed(lostB, reason);
        b.pool = this;
        this.hooks.onBackendOpened(b);
        cb(null, b);
      },
      (err: ConnectError) => {
        this.connecting--;
        this.total--;
        this.hooks.onConnectError(this.node, err);
        cb(err, null);
        // The slot is free again: let the next waiter try (it will likely fail fast too).
        this.serveWaiter();
      },
    );
  }

  /** Returns a backend. Clean ones are reused; anything else is closed. */
  release(b: Backend): void {
    b.owner = null;
    if (b.isClosed) return;
    if (!b.isClean || this.isDraining) {
      b.close(this.isDraining ? 'node draining' : 'released dirty');
      return;
    }
    b.lastUsedAtMs = this.hooks.nowMs();
    const w = this.waiters.shift();
    if (w !== undefined) {
      w.cb(null, b);
      return;
    }
    this.idle.push(b);
  }

  private onClosed(b: Backend, reason: string): void {
    this.total--;
    const i = this.idle.indexOf(b);
    if (i >= 0) this.idle.splice(i, 1);
    this.hooks.onBackendClosed(b, reason);
    this.serveWaiter();
  }

  private serveWaiter(): void {
    if (this.waiters.length === 0 || this.isDraining) return;
    if (this.total < this.maxSize) {
      const w = this.waiters.shift()!;
      this.open(w.cb);
    }
  }

  /**
   * Janitor tick: expire waiters, close idle backends past max lifetime, and past idle timeout
   * while more than `minIdle` are idle (the least recently used go first).
   */
  sweep(nowMs: number, idleTimeoutMs: number, maxLifetimeMs: number, queueTimeoutMs: number, minIdle = 0): void {
    while (this.waiters.length > 0 && this.waiters[0]!.deadlineMs <= nowMs) {
      const w = this.waiters.shift()!;
      w.cb(new PoolTimeoutError(`timed out after ${queueTimeoutMs} ms waiting for a server connection`), null);
    }
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
    if (this.isDraining || this.isRemoved || nowMs < this.fillPausedUntilMs) return 0;
    let started = 0;
    while (this.idle.length + this.connecting < minIdle && this.total < this.maxSize) {
      this.open((err, b) => {
        if (b !== null) this.release(b);
        // A node that refuses us (auth, too many connections) is not retried every second.
        else if (err !== null) this.fillPausedUntilMs = this.hooks.nowMs() + FILL_RETRY_MS;
      });
      started++;
    }
    return started;
  }

  /** Closes every idle backend (drain, shutdown, node removed). */
  closeIdle(reason: string): void {
    for (const b of this.idle.splice(0)) b.close(reason);
  }

  /** Fails every waiter (node removed / drained). */
  failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.cb(err, null);
  }
}
