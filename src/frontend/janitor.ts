// The client janitor: one interval timer for every client connection's deadlines (PgBouncer's
// janitor.c for the client side). Each tick reads the clock once and walks the tracked
// connections: one not logged in within limits.auth_timeout is closed with 08P01; a logged-in
// session idle past limits.idle_transaction_timeout (25P03) or limits.client_idle_timeout (57P05)
// is closed, its backend discarded by the session's own close (a transaction left open is never
// pooled). It also owns the login counts (login-limits.ts) of what it tracks. No timer per session
// or per request; the tick follows the smallest configured timeout (a quarter of it, 50 ms–1 s).

import type { MeridianConfig } from '../config/types.js';
import { Errors, type MeridianError } from '../errors.js';
import { checkIdle, IdleKind, IdleVerdict, type IdleMark, type IdleView } from './idle-timeouts.js';
import { LoginLimits, type LoginTicket } from './login-limits.js';
import { Phase } from './session-phase.js';

/** What the janitor needs of a session (Session satisfies it; unit tests use fakes). */
export interface JanitorSession extends IdleView {
  /** Phase.Ready once the startup reply was sent. */
  readonly phase: Phase;
  readonly ident: { readonly user: string };
  close(reason: string, err?: MeridianError): void;
  readonly socket: IdleView['socket'] & {
    pause(): unknown;
    destroy(): unknown;
    /** TLS sockets only: undefined until the handshake has finished. */
    getFinished?(): Buffer | undefined;
  };
}

export type JanitorClose = 'login-timeout' | 'idle-timeout' | 'idle-transaction-timeout';

export interface JanitorHooks {
  /** A connection the janitor closed, by reason (metrics). */
  closed?(why: JanitorClose): void;
  /** A bug in a pass (logged; the next tick runs anyway). */
  failed?(err: unknown): void;
}

interface Entry {
  readonly ticket: LoginTicket;
  readonly acceptedAtMs: number;
  readonly mark: IdleMark;
}

export class ClientJanitor {
  readonly limits = new LoginLimits();
  /** Cached clock: refreshed once per tick. */
  nowMs = Date.now();
  private readonly tracked = new Map<JanitorSession, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private tickMs = 0;
  private readonly cfg: () => MeridianConfig;
  private readonly hooks: JanitorHooks;

  constructor(cfg: () => MeridianConfig, hooks: JanitorHooks = {}) {
    this.cfg = cfg;
    this.hooks = hooks;
  }

  get size(): number {
    return this.tracked.size;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.tickMs = 0;
  }

  /** A connection was accepted (its login clock starts now). */
  track(s: JanitorSession): void {
    if (this.tracked.has(s)) return;
    const now = Date.now();
    this.tracked.set(s, { ticket: this.limits.accepted(), acceptedAtMs: now, mark: { kind: IdleKind.Busy, activity: -1, sinceMs: now } });
  }

  /** Authentication succeeded: counts the session as logged in, or says why it may not be. */
  admit(s: JanitorSession, isAdminConsole: boolean): MeridianError | null {
    const e = this.tracked.get(s);
    if (e === undefined) return null; // not tracked (closed meanwhile): nothing to count
    return this.limits.admit(e.ticket, this.cfg(), s.ident.user, isAdminConsole);
  }

  /** The connection closed, in whatever phase. */
  /** Closes every connection still logging in (shutdown: they would only wait for auth_timeout). */
  closeLoggingIn(reason: string, err: MeridianError): void {
    for (const s of [...this.tracked.keys()]) if (s.phase !== Phase.Ready) s.close(reason, err);
  }

  untrack(s: JanitorSession): void {
    const e = this.tracked.get(s);
    if (e === undefined) return;
    this.tracked.delete(s);
    this.limits.closed(e.ticket);
  }

  /** How long a logged-in session has been idle (as of the last tick), or null when busy/unknown. */
  idleMs(s: JanitorSession): number | null {
    const e = this.tracked.get(s);
    if (e === undefined || s.phase !== Phase.Ready || e.mark.kind === IdleKind.Busy) return null;
    return Math.max(0, this.nowMs - e.mark.sinceMs);
  }

  /** One pass over every tracked connection at `nowMs` (the timer's tick; tests call it directly). */
  sweep(nowMs: number): void {
    this.nowMs = nowMs;
    const l = this.cfg().limits;
    const closing: [JanitorSession, JanitorClose][] = [];
    for (const [s, e] of this.tracked) {
      if (s.phase !== Phase.Ready) {
        if (nowMs - e.acceptedAtMs >= l.authTimeoutMs) closing.push([s, 'login-timeout']);
        continue;
      }
      const v = checkIdle(s, e.mark, nowMs, l.clientIdleTimeoutMs, l.idleTransactionTimeoutMs);
      if (v === IdleVerdict.TransactionTimeout) closing.push([s, 'idle-transaction-timeout']);
      else if (v === IdleVerdict.IdleTimeout) closing.push([s, 'idle-timeout']);
    }
    // Closed after the walk: a close untracks the session (the map must not change under the loop).
    for (const [s, why] of closing) this.closeOne(s, why, l.authTimeoutMs);
  }

  private closeOne(s: JanitorSession, why: JanitorClose, authTimeoutMs: number): void {
    this.hooks.closed?.(why);
    if (why === 'login-timeout') {
      s.close('login timeout', Errors.loginTimeout(authTimeoutMs));
      const sock = s.socket;
      // A TLS handshake still running cannot carry the error: cut the connection now.
      if (typeof sock.getFinished === 'function' && sock.getFinished() === undefined) sock.destroy();
      else sock.pause(); // read nothing more from a client that ran out of time
    } else if (why === 'idle-transaction-timeout') {
      s.close('idle in transaction timeout', Errors.idleTransactionTimeout());
    } else {
      s.close('idle timeout', Errors.idleSessionTimeout());
    }
    this.untrack(s); // a session already closed (no unregister call) must not stay counted
  }

  private schedule(): void {
    const want = tickFor(this.cfg());
    if (want === this.tickMs && this.timer !== null) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.tickMs = want;
    this.timer = setInterval(() => {
      try {
        this.sweep(Date.now());
        this.schedule(); // a reload may have changed the timeouts
      } catch (err) {
        this.hooks.failed?.(err); // a bug in one pass must not end the process; the next tick runs anyway
      }
    }, want);
    this.timer.unref();
  }
}

/** A quarter of the smallest enabled timeout, between 50 ms and 1 s. */
export function tickFor(cfg: MeridianConfig): number {
  const l = cfg.limits;
  let min = l.authTimeoutMs;
  if (l.idleTransactionTimeoutMs > 0) min = Math.min(min, l.idleTransactionTimeoutMs);
  if (l.clientIdleTimeoutMs > 0) min = Math.min(min, l.clientIdleTimeoutMs);
  return Math.max(50, Math.min(1000, Math.floor(min / 4)));
}
