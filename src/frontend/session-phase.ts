// The states a client session moves through, and which moves are legal. Pure: the session holds
// one SessionPhase and changes it only through its moveTo(), which asks isLegalMove() first and
// closes the session (XX000) on an illegal move instead of going on in a state nobody planned.
//
//   startup ──► idle ◄──────────────────────────────────────────┐
//                │ a request is complete (Query, Sync, Flush)   │ ReadyForQuery, the backend released
//                ▼                                              │
//        waiting{route} ─► waiting{pool} ─► waiting{sync} ─► waiting{begin} ─► attached{backend}
//                │ (write_wait)   (pool queue)  (state sync)   (deferred BEGIN)   (relaying; pipelined
//                │                                                                 requests share it)
//                └─► a request Meridian fails itself: error + ReadyForQuery → idle, or
//                    skipUntilSync (it ended with Flush: ignore up to Sync, as a server does)
//   admin console: idle ⇄ waiting{admin}.   Any state ─► closed (the single exit).

import type { Backend } from '../backend/backend.js';

export type WaitFor =
  | 'route' // routing.write_wait: no node may take the request yet
  | 'pool' // the node's pool is full: queued (pool.queue_timeout)
  | 'sync' // Meridian's state-sync query runs on the backend before the request
  | 'begin' // the deferred BEGIN runs on the backend before the request
  | 'recheck' // a node refused a write as read-only: re-probed before the retry
  | 'admin'; // an admin console command runs

export type SessionPhase =
  | { readonly kind: 'startup' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'waiting'; readonly for: WaitFor; readonly backend: Backend | null }
  | { readonly kind: 'attached'; readonly backend: Backend }
  | { readonly kind: 'skipUntilSync'; readonly backend: Backend | null }
  | { readonly kind: 'closed' };

export const STARTUP: SessionPhase = Object.freeze({ kind: 'startup' });
export const IDLE: SessionPhase = Object.freeze({ kind: 'idle' });
export const CLOSED: SessionPhase = Object.freeze({ kind: 'closed' });

/** States reached with no backend are constants: only a state holding a backend is allocated. */
const WAITING_NO_BACKEND: Readonly<Record<'route' | 'pool' | 'recheck' | 'admin', SessionPhase>> = Object.freeze({
  route: Object.freeze({ kind: 'waiting', for: 'route', backend: null }),
  pool: Object.freeze({ kind: 'waiting', for: 'pool', backend: null }),
  recheck: Object.freeze({ kind: 'waiting', for: 'recheck', backend: null }),
  admin: Object.freeze({ kind: 'waiting', for: 'admin', backend: null }),
});
const SKIP_NO_BACKEND: SessionPhase = Object.freeze({ kind: 'skipUntilSync', backend: null });

export function waiting(what: 'route' | 'pool' | 'recheck' | 'admin'): SessionPhase {
  return WAITING_NO_BACKEND[what];
}

export function waitingOn(what: 'sync' | 'begin', backend: Backend): SessionPhase {
  return { kind: 'waiting', for: what, backend };
}

export function attached(backend: Backend): SessionPhase {
  return { kind: 'attached', backend };
}

export function skipUntilSync(backend: Backend | null): SessionPhase {
  return backend === null ? SKIP_NO_BACKEND : { kind: 'skipUntilSync', backend };
}

/** The backend a state holds, if any. */
export function backendOf(p: SessionPhase): Backend | null {
  return p.kind === 'attached' || p.kind === 'waiting' || p.kind === 'skipUntilSync' ? p.backend : null;
}

/**
 * The legal moves. Closing is legal from every state but closed. A wait on a backend (sync,
 * begin) needs one, the others have none; the admin console only waits for its command; a
 * session skipping to Sync sends nothing before it.
 */
export function isLegalMove(from: SessionPhase, to: SessionPhase): boolean {
  if (from.kind === 'closed') return false;
  if (to.kind === 'closed') return true;
  if (to.kind === 'startup') return false;
  if (to.kind === 'waiting' && (to.for === 'sync' || to.for === 'begin') !== (to.backend !== null)) return false;
  switch (from.kind) {
    case 'startup':
      return to.kind === 'idle';
    case 'idle':
      return true;
    case 'waiting':
      if (from.for === 'admin') return to.kind === 'idle';
      if (to.kind === 'waiting' && to.for === 'admin') return false;
      // From a backend's wait, to another backend's is a retry elsewhere: legal only via no backend.
      return !(to.kind === 'waiting' && to.backend !== null && from.backend !== null && to.backend !== from.backend);
    case 'attached':
      return to.kind !== 'attached' && !(to.kind === 'waiting' && to.for === 'admin');
    case 'skipUntilSync':
      return to.kind === 'idle' || (to.kind === 'attached' && to.backend === from.backend);
  }
}

/** "waiting{sync}" — for the log line of an illegal move. */
export function describePhase(p: SessionPhase): string {
  return p.kind === 'waiting' ? `waiting{${p.for}}` : p.kind;
}
