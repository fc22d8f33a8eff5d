// Forwarding a client's CancelRequest to the node running its request, within limits. A cancel
// opens a new connection to the node, so it is the one thing a client can make Meridian do toward
// a node without logging in: at most one cancel per session is in flight, a request is cancelled
// at most once per CANCEL_REPEAT_MS, and at most MAX_CANCELS_IN_FLIGHT are in flight in all; more
// are dropped (a cancel is best effort in PostgreSQL too).
// A cancel is sent only if, once the connection to the node is up, the same request of the same
// session still runs on that backend: a late cancel must not hit the next session's query after
// the backend went back to the pool (PgBouncer checks the same link). A cancel for an unknown
// pid/secret never gets here: it costs nothing.

import net from 'node:net';
import { serialize } from 'pg-protocol';

/** Connections to nodes for cancels open at once, over all sessions. */
export const MAX_CANCELS_IN_FLIGHT = 32;
/** Another cancel of the same request within this time is dropped (a burst of them is one). */
export const CANCEL_REPEAT_MS = 1000;
/** A cancel connection the node has not closed by then is dropped. */
const CANCEL_CONNECT_TIMEOUT_MS = 5000;

export type CancelResult = 'forwarded' | 'stale' | 'session-limited' | 'limited' | 'failed' | 'unknown' | 'idle';

/** The backend a cancel targets: what is checked again at send time. */
export interface CancelBackend {
  readonly node: string;
  readonly serverPid: number;
  readonly serverSecret: number;
  readonly isClosed: boolean;
  readonly owner: unknown;
  readonly ops: { readonly isEmpty: boolean };
}

/** The session asking (Session satisfies it). */
export interface CancelSession {
  readonly id: number;
  readonly attached: CancelBackend | null;
  /** Requests sent to a backend so far: tells one request from the next on the same backend. */
  readonly requestSeq: number;
  /** The request a cancel was last forwarded for, and when (kept by the forwarder). */
  cancelledSeq: number;
  cancelledAtMs: number;
}

export class CancelForwarder {
  inFlight = 0;
  private readonly sessionsInFlight = new Set<number>();
  /** Opens the connection to the node (a seam for tests that need a slow connect). */
  open: (host: string, port: number) => net.Socket = (host, port) => net.connect({ host, port });
  private readonly count: (r: CancelResult) => void;

  constructor(count: (r: CancelResult) => void = () => {}) {
    this.count = count;
  }

  /** Counts an outcome decided elsewhere (unknown key, nothing running). */
  note(r: CancelResult): void {
    this.count(r);
  }

  /** Cancels what `b` runs for `s` now, if the limits allow and it still runs when the node answers. */
  forward(s: CancelSession, b: CancelBackend, host: string, port: number): void {
    if (this.sessionsInFlight.has(s.id)) return this.count('session-limited');
    if (this.inFlight >= MAX_CANCELS_IN_FLIGHT) return this.count('limited');
    const seq = s.requestSeq;
    // A cancel may reach the server before the query runs and be lost, so a client may cancel
    // again: a second cancel of one request is forwarded, but not a burst of them.
    if (s.cancelledSeq === seq && Date.now() - s.cancelledAtMs < CANCEL_REPEAT_MS) return this.count('session-limited');
    let c: net.Socket;
    try {
      c = this.open(host, port);
    } catch {
      return this.count('failed');
    }
    this.inFlight++;
    this.sessionsInFlight.add(s.id);
    let outcome: CancelResult | null = null;
    const decide = (r: CancelResult) => {
      if (outcome !== null) return;
      outcome = r;
      this.count(r);
    };
    c.on('connect', () => {
      if (s.attached !== b || b.owner !== s || s.requestSeq !== seq || b.ops.isEmpty || b.isClosed) {
        decide('stale');
        c.destroy();
        return;
      }
      decide('forwarded');
      s.cancelledSeq = seq;
      s.cancelledAtMs = Date.now();
      c.end(serialize.cancel(b.serverPid, b.serverSecret));
    });
    c.on('error', () => {
      decide('failed');
      c.destroy();
    });
    c.once('close', () => this.release(s.id));
    c.setTimeout(CANCEL_CONNECT_TIMEOUT_MS, () => {
      decide('failed');
      c.destroy();
    });
  }

  private release(id: number): void {
    this.inFlight--;
    this.sessionsInFlight.delete(id);
  }
}
