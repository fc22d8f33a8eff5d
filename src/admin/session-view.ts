// What admin shows about one client session: its state word, its routing context (the same one
// the router uses, recomputed from the identity for admin sessions, which have none stored) and
// its pin reasons. Reads session fields only; never changes a session.

import { matchResidency, type SessionResidency } from '../config/residency-match.js';
import type { Session } from '../frontend/session.js';
import { TxStatus } from '../protocol/codes.js';
import type { SessionRouteContext } from '../router/types.js';
import type { Meridian } from '../server.js';

/** admin: console session; pinned: held on its backend by a pin; in-transaction; active: a request running; idle: no backend. */
export type SessionStateWord = 'admin' | 'pinned' | 'in-transaction' | 'active' | 'idle';

export function sessionStateWord(s: Session): SessionStateWord {
  if (s.isAdmin) return 'admin';
  const b = s.attached;
  if (b === null) return 'idle';
  if (s.state?.isPinned) return 'pinned';
  if (b.txStatus !== TxStatus.Idle) return 'in-transaction';
  return 'active';
}

export function pinReasons(s: Session): string[] {
  return s.isAdmin || s.state === undefined ? [] : s.state.pinReasons();
}

/** The residency rules that apply to a session (admin sessions: matched from their identity). */
export function residencyOf(m: Meridian, s: Session): SessionResidency | null {
  if (!s.isAdmin) return s.routing.residency;
  const i = s.ident;
  return matchResidency(m.config.residency.rules, {
    user: i.user, database: i.database, applicationName: i.applicationName, tenant: i.tenant, clientAddress: i.remoteAddress,
  });
}

/** The router's session context for a session, as Meridian.route builds it. */
export function routeContextOf(m: Meridian, s: Session): SessionRouteContext {
  const rule = residencyOf(m, s);
  return {
    allowedRegions: rule === null ? null : new Set(rule.regions),
    residencyRule: rule?.name ?? null,
    clientRegion: s.isAdmin ? s.ident.clientRegion : s.routing.clientRegion,
    sessionHint: s.isAdmin || s.state === undefined ? null : (s.state.localRouteHint ?? s.state.routeHint),
  };
}

/** Does this session hold a backend to `node` right now (a transaction, a pin, a request)? */
export function isOnNode(s: Session, node: string): boolean {
  return s.attached !== null && s.attached.node === node;
}
