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

/** Coarse phase for code outside the request path (server, janitor, startup): derived from the state. */
export const enum Phase {
  Startup = 0,
  Ready = 1,
  Closed = 2,
}

export type WaitFor =
  | 'route' // routing.write_wait: no node may take the request yet
  | 'pool' // the node's pool is full: queued (pool.queue_timeout)
  | 'sync' // Meridian's state-sync query runs on the backend before the request
  | 'begin' // the deferred BEGIN runs on the backend before the request
  | 'recheck' // a node refused a write as read-only: re-probed before the retry
  | 'admin'; // an admin console command runs

/**
 * Every state has the same three fields (kind, for, backend), built by one function, so the hot
 * path reads one object shape (monomorphic) whatever the state.
 */
export type SessionPhase =
  | { readonly kind: 'startup'; readonly for: null; readonly backend: null }
  | { readonly kind: 'idle'; readonly for: null; readonly backend: null }
  | { readonly kind: 'waiting'; readonly for: WaitFor; readonly backend: Backend | null }
  | { readonly kind: 'attached'; readonly for: null; readonly backend: Backend }
  | { readonly kind: 'skipUntilSync'; readonly for: null; readonly backend: Backend | null }
  | { readonly kind: 'closed'; readonly for: null; readonly backend: null };

function make(kind: SessionPhase['kind'], what: WaitFor | null, backend: Backend | null): SessionPhase {
  return { kind, for: what, backend } as SessionPhase;
}

export const STARTUP: SessionPhase = make('startup', null, null);
export const IDLE: SessionPhase = make('idle', null, null);
export const CLOSED: SessionPhase = make('closed', null, null);

/** States with no backend are constants: only a state holding a backend is allocated (the session reuses its attached state per backend). */
const WAIT_ROUTE = make('waiting', 'route', null);
const WAIT_POOL = make('waiting', 'pool', null);
const WAIT_RECHECK = make('waiting', 'recheck', null);
const WAIT_ADMIN = make('waiting', 'admin', null);
const SKIP_NO_BACKEND = make('skipUntilSync', null, null);

export function waiting(what: 'route' | 'pool' | 'recheck' | 'admin'): SessionPhase {
  return what === 'route' ? WAIT_ROUTE : what === 'pool' ? WAIT_POOL : what === 'recheck' ? WAIT_RECHECK : WAIT_ADMIN;
}

export function waitingOn(what: 'sync' | 'begin', backend: Backend): SessionPhase {
  return make('waiting', what, backend);
}

export function attached(backend: Backend): SessionPhase {
  return make('attached', null, backend);
}

export function skipUntilSync(backend: Backend | null): SessionPhase {
  return backend === null ? SKIP_NO_BACKEND : make('skipUntilSync', null, backend);
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
