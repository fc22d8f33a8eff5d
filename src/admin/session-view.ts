// What admin shows about one client session: its state word, its routing context (the same one
// the router uses, recomputed from the identity for admin sessions, which have none stored) and
// its pin reasons. Reads session fields only; never changes a session.

import { matchResidency, type SessionResidency } from '../config/residency-match.js';
import type { ResidencyRule } from '../config/types.js';
import { TxStatus } from '../protocol/codes.js';
import type { SessionRouteContext } from '../router/types.js';
import type { AdminSession } from './types.js';

/** admin: console session; pinned: held on its backend by a pin; in-transaction; active: a request running; idle: no backend. */
export type SessionStateWord = 'admin' | 'pinned' | 'in-transaction' | 'active' | 'idle';

export function sessionStateWord(s: AdminSession): SessionStateWord {
  if (s.isAdmin) return 'admin';
  const b = s.attached;
  if (b === null) return 'idle';
  if (s.state?.isPinned) return 'pinned';
  if (b.txStatus !== TxStatus.Idle) return 'in-transaction';
  return 'active';
}

export function pinReasons(s: AdminSession): string[] {
  return s.isAdmin || s.state === undefined ? [] : s.state.pinReasons();
}

/** The residency rules that apply to a session (admin sessions: matched from their identity). */
export function residencyOf(rules: readonly ResidencyRule[], s: AdminSession): SessionResidency | null {
  if (!s.isAdmin) return s.routing.residency;
  const i = s.ident;
  return matchResidency(rules, {
    user: i.user,
    database: i.database,
    applicationName: i.applicationName,
    tenant: i.tenant,
    clientAddress: i.remoteAddress,
  });
}

/** The router's session context for a session, as Meridian.route builds it. */
export function routeContextOf(rules: readonly ResidencyRule[], s: AdminSession): SessionRouteContext {
  const rule = residencyOf(rules, s);
  return {
    allowedRegions: rule === null ? null : new Set(rule.regions),
    residencyRule: rule?.name ?? null,
    clientRegion: s.isAdmin ? s.ident.clientRegion : s.routing.clientRegion,
    sessionHint: s.isAdmin || s.state === undefined ? null : (s.state.localRouteHint ?? s.state.routeHint),
  };
}
