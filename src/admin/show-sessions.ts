// SHOW SESSIONS: one row per client session (admin sessions included, state "admin"): identity,
// residency rule, state, the node it is on, pins, what it routed, and how long it has waited for
// its client (idle_s, as the client janitor last saw it: what limits.client_idle_timeout and
// limits.idle_transaction_timeout measure; null while a request runs). Reads only.

import { pinReasons, residencyOf, sessionStateWord } from './session-view.js';
import { int, text, type AdminTable } from './table.js';
import type { AdminHost } from './types.js';

export function showSessions(m: Pick<AdminHost, 'config' | 'sessions' | 'idleMsOf'>): AdminTable {
  const now = Date.now();
  const rows = [...m.sessions.values()].map((s) => {
    const rule = residencyOf(m.config.residency.rules, s);
    return [
      s.id,
      s.ident.user,
      s.ident.database,
      s.ident.applicationName,
      s.ident.tenant,
      s.ident.remoteAddress,
      sessionStateWord(s),
      s.attached?.node ?? null,
      rule?.name ?? null,
      pinReasons(s).join(',') || null,
      s.routedReads,
      s.routedWrites,
      Math.round((now - s.connectedAtMs) / 1000),
      idleSeconds(m.idleMsOf(s.id)),
    ];
  });
  return {
    columns: [
      int('id'),
      text('user'),
      text('database'),
      text('application_name'),
      text('tenant'),
      text('client_addr'),
      text('state'),
      text('node'),
      text('residency'),
      text('pinned'),
      int('routed_reads'),
      int('routed_writes'),
      int('age_s'),
      int('idle_s'),
    ],
    rows,
  };
}

const idleSeconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));
